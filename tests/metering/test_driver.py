"""Driver ↔ emulator at SPI-frame level (in-process transport): start-up, energy, integrity, wrap, resync."""
import binascii
import math

import pytest

from metering import ade9000 as reg
from tests.metering import helpers
from metering import (Ade9000Driver, Calibration, ChipEmulator, ConfigCrcChanged, DataCorrupt, EmulatorConfig,
                      EmulatorTransport, LoadProfile, ResyncRequired, SimulatedClock)


class RecordingTransport(EmulatorTransport):
    def __init__(self, emulator):
        super().__init__(emulator)
        self.frames = []

    def transfer(self, request, answer_len):
        self.frames.append(request)
        return super().transfer(request, answer_len)


def make_driver(profile, config=EmulatorConfig(), calibration=None):
    clock = SimulatedClock()
    emulator = ChipEmulator(config, profile, clock=clock.monotonic)
    transport = RecordingTransport(emulator)
    driver = Ade9000Driver(transport, calibration=calibration, monotonic=clock.monotonic, sleep=clock.sleep)
    return driver, emulator, clock, transport


def ideal_front_end():
    return helpers.ideal_front_end(v_noise_rms=0.0, i_noise_rms=0.0)


def test_start_resets_the_chip_and_starts_the_dsp_with_a_soft_reset_frame_first():
    driver, emulator, _, transport = make_driver(LoadProfile())
    driver.start()
    # First frame: write CONFIG1 (0x481) with SWRST (bit 0) set.
    assert transport.frames[0] == bytes([0x48, 0x10, 0x00, 0x01])
    assert emulator.handle_frame(reg.read_request(reg.RUN)[0])[:2] == b"\x00\x01"


def test_balanced_load_energy_matches_three_v_i_pf_t_on_an_ideal_front_end():
    # 230 V, 32 A, PF 0.8 inductive, 60 s, integer number of 50 Hz cycles per poll.
    driver, _, clock, _ = make_driver(LoadProfile.constant(i_rms=32.0, power_factor=0.8), ideal_front_end())
    driver.start()
    total = 0.0
    for _ in range(60):
        clock.advance(1.0)
        total += sum(p.energy_wh for p in driver.poll().phases)
    expected = 3 * 230.0 * 32.0 * 0.8 * 60 / 3600
    assert total == pytest.approx(expected, rel=2e-5)


def test_export_load_books_negative_energy_and_negative_power():
    driver, _, clock, _ = make_driver(LoadProfile.constant(i_rms=10.0, export=True), ideal_front_end())
    driver.start()
    clock.advance(2.0)
    sample = driver.poll()
    assert all(p.power_w < 0 for p in sample.phases)
    assert sum(p.energy_wh for p in sample.phases) == pytest.approx(-3 * 2300 * 2 / 3600, rel=1e-4)


def test_single_crc_error_is_retried_and_persistent_errors_raise_data_corrupt():
    driver, emulator, clock, _ = make_driver(LoadProfile.constant(i_rms=5.0))
    driver.start()
    emulator.corrupt_next_reads(1)
    clock.advance(1.0)
    driver.poll()
    emulator.corrupt_next_reads(10)
    with pytest.raises(DataCorrupt):
        driver.poll()


def test_energy_register_wrap_is_counted_without_loss():
    driver, emulator, clock, _ = make_driver(LoadProfile.constant(i_rms=32.0), ideal_front_end())
    driver.start()
    # Preload phase A 1000 HI-LSBs below the 45-bit wrap, then run 10 s at 7.36 kW per phase.
    emulator.set_energy(0, (1 << 45) - (1000 << reg.ENERGY_LO_BITS))
    driver.poll()  # absorbs the preload (no time passed); from here on the register crosses its wrap
    total = 0.0
    for _ in range(10):
        clock.advance(1.0)
        total += driver.poll().phases[0].energy_wh
    assert total == pytest.approx(230 * 32 * 10 / 3600, rel=1e-4)


def test_chip_reset_raises_resync_and_energy_afterwards_counts_from_the_reset():
    driver, emulator, clock, _ = make_driver(LoadProfile.constant(i_rms=16.0), ideal_front_end())
    driver.start()
    clock.advance(5.0)
    driver.poll()
    emulator.reset_chip()
    with pytest.raises(ResyncRequired) as err:
        driver.poll()
    assert err.value.code == "METER_RESYNC_REQUIRED"
    per_second = 3 * 230 * 16 / 3600
    clock.advance(3.0)
    first = sum(p.energy_wh for p in driver.poll().phases)
    assert 2.8 * per_second <= first <= 3.0 * per_second  # counts from the reset, not minus the old register
    clock.advance(3.0)
    assert sum(p.energy_wh for p in driver.poll().phases) == pytest.approx(3 * per_second, rel=1e-4)


def test_register_jumping_backwards_raises_resync_and_keeps_other_phases():
    driver, emulator, clock, _ = make_driver(LoadProfile.constant(i_rms=16.0), ideal_front_end())
    driver.start()
    clock.advance(10.0)
    driver.poll()
    emulator.set_energy(1, 1 << 43)  # phase B register jumps far (corrupted / partially reset)
    clock.advance(1.0)
    with pytest.raises(ResyncRequired) as err:
        driver.poll()
    sample = err.value.details["sample"]
    assert err.value.details["phases"] == [1]
    assert sample.phases[1].energy_wh == 0.0
    assert sample.phases[0].energy_wh == pytest.approx(230 * 16 / 3600, rel=1e-4)


def test_config_write_behind_the_drivers_back_sets_config_changed():
    driver, emulator, clock, _ = make_driver(LoadProfile.constant(i_rms=16.0))
    driver.start()
    clock.advance(1.0)
    assert not driver.poll().config_changed
    emulator.poke(reg.AIGAIN, reg.gain_register(1.01))
    clock.advance(1.0)
    assert driver.poll().config_changed


def test_start_with_a_calibration_for_another_config_crc_is_refused():
    calibration = Calibration.identity()
    driver, _, _, _ = make_driver(LoadProfile(), calibration=Calibration(calibration.phases, config_crc=0x1234))
    with pytest.raises(ConfigCrcChanged) as err:
        driver.start()
    assert err.value.code == "ERR_MET_CONFIG_CRC"


def test_chip_config_crc_is_crc16_over_the_documented_registers():
    driver, _, _, _ = make_driver(LoadProfile())
    crc = driver.start()
    values = {address: driver.read(address) for address in reg.CONFIG_CRC_REGISTERS}
    blob = b"".join(v.to_bytes(4, "big") for _, v in sorted(values.items()))
    assert crc == binascii.crc_hqx(blob, 0xFFFF)


def test_temperature_register_follows_the_emulated_ramp():
    config = EmulatorConfig(temp_start_c=20.0, temp_end_c=60.0, temp_ramp_s=100.0)
    driver, _, clock, _ = make_driver(LoadProfile.constant(i_rms=1.0), config)
    driver.start()
    clock.advance(50.0)
    assert math.isclose(driver.poll().temperature_c, 40.0, abs_tol=0.07)


@pytest.mark.parametrize("capacitive,sign", [(False, 1.0), (True, -1.0)])
def test_reactive_energy_is_v_i_sin_phi_t_positive_when_the_current_lags(capacitive, sign):
    driver, _, clock, _ = make_driver(LoadProfile.constant(i_rms=32.0, power_factor=0.8, capacitive=capacitive),
                                      ideal_front_end())
    driver.start()
    total = 0.0
    for _ in range(30):
        clock.advance(1.0)
        total += sum(p.reactive_varh for p in driver.poll().phases)
    assert total == pytest.approx(sign * 3 * 230 * 32 * 0.6 * 30 / 3600, rel=2e-5)
