"""ISO 15118-20 SECC (EVSE side): sans-I/O session machine, simulated power electronics, asyncio server.

    from iso15118.secc import Station, SeccConfig
    station = Station(SeccConfig(services=("dc_bpt",)))
    secc = station.new_session()              # one per TCP/TLS connection
    actions = secc.receive(payload_type, payload, now)

The sequence table is `iso15118.secc.table.SEQUENCE`; the asyncio server is `iso15118.secc.server`.
"""
from iso15118.session.config import SeccConfig

from .charger import Charger, Output, SimulatedCharger
from .context import Connector, SessionContext, SessionStore
from .machine import Secc
from .meter import ChargerMeter, MeterSource
from .station import Station, simulated_connector
from .table import SEQUENCE, SeccState

__all__ = ["Charger", "ChargerMeter", "Connector", "MeterSource", "Output", "SEQUENCE", "Secc", "SeccConfig",
           "SeccState", "SessionContext", "SessionStore", "SimulatedCharger", "Station", "simulated_connector"]
