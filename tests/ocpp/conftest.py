"""Shared helpers: signed readings in simulated time (metering's OCMF signer), fast client configs."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from metering import FileKeySigner, OcmfIdentity, OcmfReading, OcmfUser, SyncState, build_payload, sign_payload
from metering.ocpp import OcppConfig

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, an aligned boundary
POWER_W = 11_000


@dataclass(frozen=True)
class Reading:
    wall: float
    import_wh: int
    export_wh: int
    ocmf: str


class SimulatedMeter:
    """Signs OCMF records with metering's signer for a constant 11 kW charge in simulated time."""

    def __init__(self, key_path) -> None:
        self.signer = FileKeySigner(key_path)
        self.page = 0

    def public_key_der(self) -> bytes:
        return self.signer.public_key_der()

    def at(self, seconds: float, tx: str = "C") -> Reading:
        wall = START + seconds
        import_wh = round(POWER_W * seconds / 3600)
        self.page += 1
        reading = OcmfReading(wall, SyncState.SYNCHRONISED, import_wh, 0, tx=tx)
        payload = build_payload(OcmfIdentity(), f"T{self.page}", [reading], OcmfUser(id="TOKEN123"))
        return Reading(wall, import_wh, 0, sign_payload(payload, self.signer))


@pytest.fixture
def meter(tmp_path):
    return SimulatedMeter(tmp_path / "meter-key.pem")


@pytest.fixture
def journal_path(tmp_path):
    return str(tmp_path / "meter-journal.sqlite")


def fast_config(url: str, journal_path: str, **overrides) -> OcppConfig:
    """Real rules, test-sized intervals."""
    base = OcppConfig(csms_url=url, journal_path=journal_path, message_attempt_interval_transaction_event=0.05,
                      message_timeout=1.0, retry_back_off_wait_minimum=0.02, retry_back_off_random_range=0.0,
                      retry_back_off_repeat_times=1)
    return dataclasses.replace(base, **overrides)

