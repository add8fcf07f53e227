import pytest

from metering import ChipEmulator, EmulatorConfig, LoadProfile, Meter, MeterConfig, SimulatedClock


@pytest.fixture
def clock():
    return SimulatedClock()


@pytest.fixture
def make_meter(tmp_path, clock):
    """A Meter on the in-process emulator in simulated time; closes what it opened."""
    opened = []

    def make(profile=LoadProfile(), emulator_config=EmulatorConfig(fidelity="analytic"), **config):
        emulator = ChipEmulator(emulator_config, profile, clock=clock.monotonic)
        config.setdefault("journal_path", str(tmp_path / "journal.sqlite"))
        config.setdefault("key_path", str(tmp_path / "meter-key.pem"))
        config.setdefault("checkpoint_interval_s", 60.0)  # simulated time: fewer fsyncs, same logic
        meter = Meter(MeterConfig(**config), emulator=emulator, clock=clock)
        opened.append(meter)
        return meter

    yield make
    for meter in opened:
        try:
            meter.close()
        except Exception:
            pass
