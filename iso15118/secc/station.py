"""One SECC process: its configuration, connectors and the paused-session store shared by all connections."""
from __future__ import annotations

from typing import Callable

from iso15118.session.config import SeccConfig
from iso15118.session.events import SessionSealed

from .charger import SimulatedCharger
from .context import Connector, SessionStore
from .machine import Secc
from .meter import ChargerMeter


def simulated_connector(config: SeccConfig) -> Connector:
    charger = SimulatedCharger(config.charger)
    return Connector(charger, ChargerMeter(charger, config.meter_id))


class Station:
    def __init__(self, config: SeccConfig | None = None,
                 connector_factory: Callable[[SeccConfig], Connector] = simulated_connector, *,
                 contract_verifier=None, metering_verifier=None, certificate_installation=None,
                 contract_authorizer=None) -> None:
        self.config = config or SeccConfig()
        self.store = SessionStore()
        self.connector_factory = connector_factory
        self.contract_verifier = contract_verifier
        self.metering_verifier = metering_verifier
        self.certificate_installation = certificate_installation
        self.contract_authorizer = contract_authorizer
        self.sessions: list[Secc] = []

    def seal_expired_pauses(self, now: float) -> list[SessionSealed]:
        """Seal the paused sessions nobody resumed in time (facts §8.3: sealed when resumption fails)."""
        events = []
        for context in self.store.expired(now, self.config.paused_session_max_s):
            context.sealed = True
            info = context.connector.meter.seal(context.session_id, "PAUSE_EXPIRED", now)
            events.append(SessionSealed(context.session_id, "PAUSE_EXPIRED", info))
        return events

    def new_session(self, *, peer_certificate: bytes | None = None, wall_clock=None, trace=None) -> Secc:
        kwargs = {"wall_clock": wall_clock} if wall_clock is not None else {}
        secc = Secc(self.config, self.connector_factory(self.config), self.store,
                    peer_certificate=peer_certificate, contract_verifier=self.contract_verifier,
                    metering_verifier=self.metering_verifier,
                    certificate_installation=self.certificate_installation,
                    contract_authorizer=self.contract_authorizer, trace=trace, **kwargs)
        self.sessions.append(secc)
        return secc
