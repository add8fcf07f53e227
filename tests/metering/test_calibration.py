"""Calibration against the emulator's injected reference; the checksummed, versioned, lockable file;
meter-tool --calibrate / --read."""
import json
import signal
import subprocess
import sys

import pytest

from metering import (Ade9000Driver, Calibration, CalibrationLocked, ChipEmulator, DataCorrupt, EmulatorConfig,
                      EmulatorTransport, LoadProfile, SimulatedClock, analytic_energy_wh, calibrate,
                      load_calibration, save_calibration)
from metering.calibration import PhaseCalibration
from metering.cli import main


def calibrated_driver():
    clock = SimulatedClock()
    emulator = ChipEmulator(EmulatorConfig(), LoadProfile(), clock=clock.monotonic)  # ±2 % gain errors, noise
    driver = Ade9000Driver(EmulatorTransport(emulator), monotonic=clock.monotonic, sleep=clock.sleep)
    apply = lambda v, i, pf: emulator.set_profile(LoadProfile.constant(v_rms=v, i_rms=i, power_factor=pf))
    result = calibrate(driver, 230.0, 32.0, apply, clock.sleep)
    return driver, emulator, clock, result


def test_calibration_brings_rms_and_energy_within_class_0_2s_margins():
    driver, emulator, clock, _ = calibrated_driver()
    profile = LoadProfile.constant(v_rms=230.0, i_rms=10.0, power_factor=0.5)
    emulator.set_profile(profile)
    clock.advance(1.0)
    driver.poll()  # settling window: holds the block that straddles the switch
    total, sample = 0.0, None
    for _ in range(20):
        clock.advance(1.0)
        sample = driver.poll()
        total += sum(p.energy_wh for p in sample.phases)
    true = analytic_energy_wh(profile, 1.0, 21.0)
    assert total == pytest.approx(true, rel=5e-4)
    for phase in sample.phases:
        assert phase.v_rms == pytest.approx(230.0, rel=2e-4)
        assert phase.i_rms == pytest.approx(10.0, rel=5e-4)


def test_current_offset_cancels_the_noise_floor_at_zero_current():
    driver, emulator, clock, result = calibrated_driver()
    emulator.set_profile(LoadProfile.constant(i_rms=0.0))
    driver.poll()
    clock.advance(1.0)
    assert all(p.i_rms < 0.002 for p in driver.poll().phases)
    assert all(p.i_rms_offset < 0 for p in result.phases)


def test_calibration_file_round_trips_and_detects_tampering(tmp_path):
    path = tmp_path / "cal.json"
    cal = Calibration((PhaseCalibration(1, 2, -3),) * 3, config_crc=0xBEEF, v_ref=230.0, i_ref=32.0)
    save_calibration(cal, path)
    assert load_calibration(path) == cal
    path.write_text(path.read_text().replace('"i_gain": 2', '"i_gain": 3', 1))
    with pytest.raises(DataCorrupt) as err:
        load_calibration(path)
    assert err.value.code == "ERR_MET_DATA_CORRUPT"


def test_unknown_calibration_version_is_refused(tmp_path):
    path = tmp_path / "cal.json"
    save_calibration(Calibration(Calibration.identity().phases, version=2), path)
    with pytest.raises(DataCorrupt):
        load_calibration(path)


def test_locked_calibration_is_only_replaced_with_explicit_unlock(tmp_path):
    path = tmp_path / "cal.json"
    save_calibration(Calibration(Calibration.identity().phases, locked=True), path)
    with pytest.raises(CalibrationLocked) as err:
        save_calibration(Calibration.identity(), path)
    assert err.value.code == "ERR_MET_CAL_LOCKED"
    save_calibration(Calibration.identity(), path, unlock=True)
    assert not load_calibration(path).locked


def test_meter_tool_calibrates_then_reads_calibrated_values_as_json(tmp_path, capsys):
    cal = str(tmp_path / "cal.json")
    assert main(["--calibrate", "--v-ref=230", "--i-ref=32", "--calibration", cal, "--lock", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["locked"] is True
    assert main(["--read", "--json", "--calibration", cal, "--load-a", "20"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["calibrated"] and result["source"] == "emulator"
    for phase in result["phases"]:
        assert phase["v_rms"] == pytest.approx(230.0, rel=3e-4)
        assert phase["i_rms"] == pytest.approx(20.0, rel=5e-4)
    assert result["import_wh"] == pytest.approx(3 * 230 * 20 / 3600, rel=5e-4)


def test_meter_tool_refuses_to_overwrite_a_locked_calibration(tmp_path, capsys):
    cal = str(tmp_path / "cal.json")
    assert main(["--calibrate", "--calibration", cal, "--lock"]) == 0
    assert main(["--calibrate", "--calibration", cal]) == 1
    assert "ERR_MET_CAL_LOCKED" in capsys.readouterr().err
    assert main(["--calibrate", "--calibration", cal, "--unlock"]) == 0


def test_meter_tool_read_detects_a_changed_config_crc(tmp_path, capsys):
    cal = tmp_path / "cal.json"
    assert main(["--calibrate", "--calibration", str(cal)]) == 0
    stored = load_calibration(cal)
    save_calibration(Calibration(stored.phases, config_crc=stored.config_crc ^ 0x0101), cal, unlock=True)
    assert main(["--read", "--calibration", str(cal)]) == 1
    assert "ERR_MET_CONFIG_CRC" in capsys.readouterr().err


def test_meter_tool_help_says_the_emulator_is_the_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "emulator" in capsys.readouterr().out


def test_meter_tool_reads_a_serial_meter_served_on_a_pty_by_another_process(tmp_path, capsys):
    server = subprocess.Popen([sys.executable, "-m", "metering", "--serve-emulator", "--json", "--load-a", "8"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = json.loads(server.stdout.readline())["port"]
        code = main(["--read", "--serial", port, "--json", "--window", "0.3",
                     "--calibration", str(tmp_path / "none.json")])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["source"] == port and not result["calibrated"]
    assert all(phase["i_rms"] == pytest.approx(8.0, rel=0.03) for phase in result["phases"])  # ±2 % uncalibrated
    assert server.returncode == 0


def test_meter_tool_applies_the_config_files_phase_invert(tmp_path, capsys):
    config = tmp_path / "meter.json"
    config.write_text('{"conditioning": {"phase_invert": [true, false, false]}}')
    assert main(["--read", "--json", "--config", str(config), "--calibration", str(tmp_path / "none.json")]) == 0
    phases = json.loads(capsys.readouterr().out)["phases"]
    assert phases[0]["power_w"] < 0 < phases[1]["power_w"]
    config.write_text('{"no_such_key": 1}')
    assert main(["--read", "--config", str(config)]) == 2
