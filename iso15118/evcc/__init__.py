"""ISO 15118-20 EVCC (EV emulator): sans-I/O session machine with a battery model, asyncio client, in-process
runner, scripted faults.

In process (virtual clock, no sockets; what the tests and a demo use):
    from iso15118.evcc import EvConfig, run_in_process
    from iso15118.secc import SeccConfig, Station
    result = run_in_process(SeccConfig(services=("dc_bpt",)), EvConfig(service="dc_bpt", mode="dynamic"))
    result.summary        # {"outcome": "completed", "protocol", "service", "charge_loops",
                          #  "energy_wh": {"import", "export"}, "meter_wh", "messages", ...,
                          #  "receipts": [{"loop", "currency", "energy", "occupancy", "taxes", "total", "ok",
                          #                "problems"}, ...], "receipts_ok"}   (checked: evcc.receipts)
    result.secc_events    # SessionStarted, Authorized, PowerRequest, SessionSealed, SessionEnded, ...
    Pass a `Station` instead of a SeccConfig to share paused sessions (resume) or plug in a meter / PnC hooks:
    Station(config, connector_factory=lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter),
            contract_verifier=..., metering_verifier=..., certificate_installation=...)
    and `evcc=Evcc(config, contract_signer=..., contract_installer=..., metering_signer=...)` for PnC
    (hooks: iso15118.security.session_hooks). `trace=` receives (side, "rx"|"tx", payload_type, Message, t);
    `intercept=` may replace or drop frames.

Over sockets (asyncio):
    from iso15118.evcc.client import discover, run_session
    host, port = await discover("lo", sdp_port, tls=True)           # or a known host/port
    summary = await run_session(Evcc(config), host, port, ssl_context=ev_context(pki_dir))
    (iso15118.session.tls_contexts.ev_context / secc_context build the -20 TLS 1.3 contexts from a PKI dir)

Sequence table: `iso15118.evcc.table.SEQUENCE`; faults: `iso15118.evcc.faults`; CLI: `v2g ev`.
"""
from iso15118.session.config import BatteryConfig, EvConfig

from .battery import Battery
from .inprocess import InProcessResult, run_in_process, warm_up
from .machine import Evcc
from .table import SEQUENCE, EvState

__all__ = ["Battery", "BatteryConfig", "EvConfig", "EvState", "Evcc", "InProcessResult", "SEQUENCE",
           "run_in_process", "warm_up"]
