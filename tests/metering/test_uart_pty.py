"""The same driver over a pty pair with pyserial: the emulator serves the chip's frames on the master side."""
import pytest

from metering import (Ade9000Driver, ChipEmulator, ChipNotResponding, EmulatorConfig, EmulatorTransport,
                      FrontEndScaling, LoadProfile, PtyEmulatorServer, SimulatedClock, UartTransport)


def run_30_s(driver, clock):
    crc = driver.start()
    # Writes get no answer, so over a stream the soft reset may land a few simulated samples later than
    # in-process; the first second (its open block) is read and set aside before comparing.
    clock.advance(1.0)
    driver.poll()
    clock.advance(30.0)
    return crc, driver.poll()


def test_driver_over_pty_reads_the_same_values_as_in_process():
    profile = LoadProfile.constant(i_rms=20.0, power_factor=0.9)
    config = EmulatorConfig(fidelity="analytic")
    results = []
    for over_pty in (False, True):
        clock = SimulatedClock()
        emulator = ChipEmulator(config, profile, clock=clock.monotonic)
        if over_pty:
            with PtyEmulatorServer(emulator) as server:
                transport = UartTransport(server.port, timeout=1.0)
                driver = Ade9000Driver(transport, monotonic=clock.monotonic, sleep=clock.sleep)
                results.append(run_30_s(driver, clock))
                transport.close()
        else:
            driver = Ade9000Driver(EmulatorTransport(emulator), monotonic=clock.monotonic, sleep=clock.sleep)
            results.append(run_30_s(driver, clock))
    (crc_a, a), (crc_b, b) = results
    assert crc_a == crc_b
    lsb_wh = FrontEndScaling().wh_per_energy_lsb
    for pa, pb in zip(a.phases, b.phases):
        assert (pa.v_rms, pa.i_rms, pa.power_w) == (pb.v_rms, pb.i_rms, pb.power_w)
        assert pa.energy_wh == pytest.approx(pb.energy_wh, abs=2 * lsb_wh)  # the reset's sub-LSB phase may differ
    assert sum(p.energy_wh for p in b.phases) == pytest.approx(3 * 230 * 20 * 0.9 * 30 / 3600, rel=0.03)


def test_serial_meter_that_stops_answering_raises_chip_not_responding():
    clock = SimulatedClock()
    server = PtyEmulatorServer(ChipEmulator(clock=clock.monotonic))
    server.__enter__()
    transport = UartTransport(server.port, timeout=0.2)
    driver = Ade9000Driver(transport, monotonic=clock.monotonic, sleep=clock.sleep)
    driver.start()
    server.close()
    with pytest.raises(ChipNotResponding) as err:
        driver.poll()
    assert err.value.code == "ERR_MET_NO_CHIP"
    transport.close()
