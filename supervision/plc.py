"""Sans-I/O PLC link watcher: SNR readings in, one PLC_LINK_LOST fault out when the link is too weak."""
from __future__ import annotations

from supervision.config import SupervisionConfig
from supervision.events import PLC_LINK_LOST, Fault


class PlcLinkWatcher:
    def __init__(self, config: SupervisionConfig = SupervisionConfig()) -> None:
        self.config = config
        self._below_since: float | None = None
        self._reported = False

    def feed(self, snr_db: float, now: float) -> Fault | None:
        if snr_db >= self.config.snr_min_db:
            self._below_since = None
            self._reported = False
            return None
        if self._below_since is None:
            self._below_since = now
        if self._reported or now - self._below_since < self.config.snr_hold_s:
            return None
        self._reported = True
        return Fault(PLC_LINK_LOST, f"SNR {snr_db:.1f} dB below {self.config.snr_min_db:.1f} dB", now)
