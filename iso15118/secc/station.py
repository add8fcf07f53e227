"""One SECC process: its configuration, connectors and the paused-session store shared by all connections."""
from __future__ import annotations

from typing import Callable

from iso15118.session.config import SeccConfig

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
                 contract_verifier=None, metering_verifier=None, certificate_installation=None) -> None:
        self.config = config or SeccConfig()
        self.store = SessionStore()
        self.connector_factory = connector_factory
        self.contract_verifier = contract_verifier
        self.metering_verifier = metering_verifier
        self.certificate_installation = certificate_installation
        self.sessions: list[Secc] = []

    def new_session(self, *, peer_certificate: bytes | None = None, wall_clock=None, trace=None) -> Secc:
        kwargs = {"wall_clock": wall_clock} if wall_clock is not None else {}
        secc = Secc(self.config, self.connector_factory(self.config), self.store,
                    peer_certificate=peer_certificate, contract_verifier=self.contract_verifier,
                    metering_verifier=self.metering_verifier,
                    certificate_installation=self.certificate_installation, trace=trace, **kwargs)
        self.sessions.append(secc)
        return secc
