"""ISO 15118-20 EVCC (EV emulator): sans-I/O session machine with a battery model, asyncio client, in-process
runner.

    from iso15118.evcc import EvConfig, run_in_process
    summary = run_in_process(SeccConfig(), EvConfig(service="dc_bpt", mode="dynamic"))
"""
from iso15118.session.config import BatteryConfig, EvConfig

from .battery import Battery
from .inprocess import InProcessResult, run_in_process
from .machine import Evcc
from .table import SEQUENCE, EvState

__all__ = ["Battery", "BatteryConfig", "EvConfig", "EvState", "Evcc", "InProcessResult", "SEQUENCE",
           "run_in_process"]
