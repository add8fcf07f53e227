"""ISO 15118-20 SECC (EVSE side): sans-I/O session machine, simulated power electronics, asyncio server.

    from iso15118.secc import Station, SeccConfig
    station = Station(SeccConfig(services=("dc_bpt",)))     # connectors, paused-session store, PnC hooks
    secc = station.new_session(peer_certificate=der)        # one machine per TCP/TLS connection
    actions = secc.receive(payload_type, payload, now)      # Send / StartTimer / StopTimer / Close / events
    actions = secc.timer_expired(now); actions = secc.connection_lost(now)
    secc.request_stop("Terminate"|"Pause"); secc.request_renegotiation()   # announced in the next ChargeLoopRes

    server = SeccServer(station, interface="lo", ssl_context=secc_context(pki_dir), sdp_port=15118)
    async with server: await server.wait()                  # iso15118.secc.server; CLI: `v2g secc`

Seams: `Charger` (power electronics; `SimulatedCharger`), `MeterSource` (`ChargerMeter`, or the metering
package's Meter through `metered.metered_connector(charger, meter)`), contract / metering verifiers and the
certificate installation service (iso15118.security.session_hooks; built from a PKI directory by
`plug_and_charge_hooks(pki_dir)`). Sequence rules: `table.SEQUENCE`.
"""
from iso15118.session.config import SeccConfig

from .charger import Charger, Output, SimulatedCharger
from .context import Connector, SessionContext, SessionStore
from .machine import Secc
from .meter import ChargerMeter, MeterSource
from .plug_and_charge import plug_and_charge_hooks
from .station import Station, simulated_connector
from .table import SEQUENCE, SeccState

__all__ = ["Charger", "ChargerMeter", "Connector", "MeterSource", "Output", "SEQUENCE", "Secc", "SeccConfig",
           "SeccState", "SessionContext", "SessionStore", "SimulatedCharger", "Station", "plug_and_charge_hooks",
           "simulated_connector"]
