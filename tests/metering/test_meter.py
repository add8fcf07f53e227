"""Meter facade in simulated time: sessions, registers, resync, time, MeterInfo, concurrency."""
import json
import stat
import textwrap
import threading
import time
from dataclasses import replace

import pytest
from pyocmf import OCMF, check_eichrecht_transaction

from metering import (ChipEmulator, LoadProfile, LoadSegment, Meter, MeterConfig, PtyEmulatorServer, SignatureInvalid,
                      SyncState, SystemClock, UartTransport, analytic_energy_wh, verify_meter_info, verify_ocmf)
from tests.metering.helpers import ideal_front_end
from metering.clock import parse_chrony_tracking, chrony_sync_state
from metering.meter import STATUS_CLOCK_STEP, STATUS_CLOCK_UNSYNCHRONISED, STATUS_RESYNC

IDEAL = ideal_front_end(fidelity="analytic")


def run(meter, clock, seconds, step=1.0):
    for _ in range(int(seconds / step)):
        clock.advance(step)
        meter.poll()


def test_a_one_hour_charge_then_discharge_session_matches_the_analytic_energy(make_meter, clock):
    profile = LoadProfile((LoadSegment(duration_s=1800.0, i_rms=32.0, power_factor=0.95),
                           LoadSegment(i_rms=16.0, export=True)))
    meter = make_meter(profile, IDEAL, checkpoint_interval_s=60.0)
    begin = meter.begin_session("S1", charging=None)
    run(meter, clock, 3600, step=60.0)  # simulated time: the whole hour costs a fraction of a second
    seal = meter.seal_session("S1", "remote")
    true_import = analytic_energy_wh(profile, 0.0, 1800.0)  # starts at the emulator's time 0
    true_export = -analytic_energy_wh(profile, 1800.0, 3600.0)
    assert seal.import_wh - begin.import_wh == pytest.approx(true_import, abs=2)  # whole-Wh registers
    assert seal.export_wh - begin.export_wh == pytest.approx(true_export, abs=2)
    assert seal.meter_info.charged_wh == seal.import_wh - begin.import_wh
    assert seal.meter_info.discharged_wh == seal.export_wh - begin.export_wh
    b, e = OCMF.from_string(begin.ocmf), OCMF.from_string(seal.ocmf)
    key = meter.public_key_der().hex()
    assert b.verify_signature(key) and e.verify_signature(key)
    assert check_eichrecht_transaction(b.payload, e.payload) == []
    assert [rd.TX.value for rd in e.payload.RD] == ["C", "R"]


def test_seal_twice_returns_the_same_final_reading(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=8.0))
    meter.begin_session("S1")
    run(meter, clock, 10)
    first = meter.seal_session("S1", "local")
    run(meter, clock, 10)
    assert meter.seal_session("S1", "abort") == first


def test_restart_seals_the_session_left_open_with_power_failure_reason(make_meter, clock, tmp_path):
    meter = make_meter(LoadProfile.constant(i_rms=8.0))
    meter.begin_session("S1")
    run(meter, clock, 30)
    meter.journal.close()  # process dies: no seal
    again = make_meter(LoadProfile.constant(i_rms=8.0))
    (seal,) = again.recovered
    assert seal.session_id == "S1" and seal.kind == "session_seal"
    assert OCMF.from_string(seal.ocmf).payload.RD[-1].TX.value == "P"
    third = make_meter(LoadProfile.constant(i_rms=8.0))
    assert third.recovered == []


def test_totals_continue_across_a_restart_from_the_journal_checkpoint(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=16.0), IDEAL)
    run(meter, clock, 600, step=10.0)
    before = meter.snapshot().totals
    meter.close()
    again = make_meter(LoadProfile.constant(i_rms=16.0), IDEAL)
    assert again.snapshot().totals == before
    run(again, clock, 60)
    assert again.snapshot().import_wh == pytest.approx(before.import_uwh / 1e6 + 3 * 3680 / 60, rel=1e-4)


def test_chip_reset_is_journaled_as_resync_and_totals_do_not_double_count(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=16.0), IDEAL)
    run(meter, clock, 100)
    meter.emulator.reset_chip()
    run(meter, clock, 100)
    events = [r.body["code"] for r in meter.journal.records(kind="event")]
    assert "METER_RESYNC_REQUIRED" in events
    # 200 s of load, minus the one poll window in which the chip was down (not counted twice, not negative).
    assert meter.snapshot().import_wh == pytest.approx(3 * 3680 * 199 / 3600, rel=1e-3)
    reading = meter.reading()
    assert reading.status & STATUS_RESYNC
    assert meter.reading().status & STATUS_RESYNC == 0  # reported once


def test_aligned_readings_fall_on_five_minute_boundaries(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=4.0), checkpoint_interval_s=60.0)
    run(meter, clock, 1500, step=5.0)
    aligned = meter.journal.records(kind="aligned")
    assert [r.body["aligned_to"] % 300 for r in aligned] == [0] * 5
    assert all(0 <= r.wall - r.body["aligned_to"] < 1.0 for r in aligned)
    assert all(verify_ocmf(r.body["ocmf"], meter.public_key_der()).data["PG"].startswith("F") for r in aligned)


def test_clock_step_is_recorded_and_past_readings_keep_their_timestamps(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=4.0))
    meter.begin_session("S1")
    run(meter, clock, 10)
    before = meter.reading("S1")
    clock.step_wall(-3600.0)
    run(meter, clock, 10)
    after = meter.reading("S1")
    steps = [r.body for r in meter.journal.records(kind="event") if r.body["code"] == "METER_CLOCK_STEP"]
    assert len(steps) == 1 and steps[0]["step_s"] == pytest.approx(-3600.0)
    assert meter.journal.record(before.seq).wall == before.wall
    assert after.status & STATUS_CLOCK_STEP
    assert '"EF":"t"' in after.ocmf


def test_unsynchronised_clock_shows_in_ocmf_time_status_and_meter_status(make_meter, clock):
    clock.state = SyncState.UNSYNCHRONISED
    meter = make_meter(LoadProfile.constant(i_rms=4.0))
    reading = meter.reading()
    assert ",000+0000 U" in reading.ocmf or "+0000 U\"" in reading.ocmf
    assert reading.status & STATUS_CLOCK_UNSYNCHRONISED


def test_meter_info_signature_verifies_and_is_session_relative(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=16.0), IDEAL)
    run(meter, clock, 120)
    meter.begin_session("S1")
    run(meter, clock, 360)
    info = meter.meter_info("S1")
    verify_meter_info(info, meter.public_key_der())
    assert info.charged_wh == pytest.approx(3 * 3680 * 0.1, abs=2)
    assert info.meter_id == meter.config.meter_id


def test_meter_info_without_bpt_omits_and_does_not_sign_the_bpt_readings(make_meter, clock):
    """[V2G20-1313] Table 101: BPT_ readings only in BPT sessions; the signature covers only what is sent."""
    meter = make_meter(LoadProfile.constant(i_rms=16.0), IDEAL)
    run(meter, clock, 120)
    meter.begin_session("S1")
    run(meter, clock, 360)
    info = meter.meter_info("S1", bidirectional=False)
    assert info.discharged_wh is None and info.inductive_varh is None
    verify_meter_info(info, meter.public_key_der())
    full = meter.meter_info("S1", bidirectional=True)
    assert full.discharged_wh is not None and full.inductive_varh is not None
    with pytest.raises(SignatureInvalid):
        verify_meter_info(replace(full, meter_signature=info.meter_signature), meter.public_key_der())


def test_sampler_thread_and_reporters_run_concurrently_with_consistent_snapshots(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=16.0), poll_interval_s=0.002)
    stop = threading.Event()

    def advance_time():
        while not stop.wait(0.001):
            clock.advance(0.5)

    ticker = threading.Thread(target=advance_time)
    ticker.start()
    meter.start()
    try:
        readings = [meter.reading() for _ in range(20)]
        snapshots = [meter.snapshot() for _ in range(200)]
    finally:
        meter.stop()
        stop.set()
        ticker.join()
    imports = [r.import_wh for r in readings]
    assert imports == sorted(imports) and imports[-1] > imports[0]
    for snap in snapshots:
        assert snap.import_wh * 1e6 == pytest.approx(snap.totals.import_uwh)


CHRONY_SYNCED = textwrap.dedent("""\
    Reference ID    : C0A80001 (192.168.0.1)
    Stratum         : 3
    Ref time (UTC)  : Wed Nov 25 19:00:00 2026
    System time     : 0.000012345 seconds fast of NTP time
    Last offset     : +0.000001000 seconds
    Leap status     : Normal
    """)


def test_chrony_tracking_output_is_classified():
    assert parse_chrony_tracking(CHRONY_SYNCED) is SyncState.SYNCHRONISED
    assert parse_chrony_tracking(CHRONY_SYNCED.replace("0.000012345", "5.2")) is SyncState.INFORMATIVE
    assert parse_chrony_tracking(CHRONY_SYNCED.replace("Normal", "Not synchronised")) is SyncState.UNSYNCHRONISED


def test_chronyc_on_the_path_is_asked_and_its_absence_means_unsynchronised(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert chrony_sync_state() is SyncState.UNSYNCHRONISED
    script = tmp_path / "chronyc"
    script.write_text("#!/bin/sh\n/bin/cat <<'EOF'\n" + CHRONY_SYNCED + "EOF\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert chrony_sync_state() is SyncState.SYNCHRONISED


def test_meter_config_loads_nested_settings_from_a_json_file(tmp_path):
    path = tmp_path / "meter.json"
    path.write_text('{"poll_interval_s": 0.5, "identity": {"meter_serial": "MTR-42"},'
                    ' "conditioning": {"deadband_a": 0.03, "phase_invert": [false, true, false],'
                    ' "thermal": {"i_ppm_per_k": [60, 55, 70]}}}')
    config = MeterConfig.from_file(path)
    assert config.meter_id == "MTR-42" and config.poll_interval_s == 0.5
    assert config.conditioning.phase_invert == (False, True, False)
    assert config.conditioning.thermal.i_ppm_per_k == (60, 55, 70)
    path.write_text('{"poll_interval": 1}')
    with pytest.raises(ValueError):
        MeterConfig.from_file(path)


def test_resync_is_logged_as_one_json_object_naming_the_code(make_meter, clock, caplog):
    meter = make_meter(LoadProfile.constant(i_rms=4.0))
    run(meter, clock, 2)
    meter.emulator.reset_chip()
    with caplog.at_level("WARNING", logger="metering"):
        run(meter, clock, 2)
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "metering"]
    assert line["code"] == "METER_RESYNC_REQUIRED" and line["cause"] == "reset"


def test_meter_over_a_pty_with_pyserial_journals_signed_readings(tmp_path, clock):
    emulator = ChipEmulator(ideal_front_end(fidelity="analytic"), LoadProfile.constant(i_rms=10.0),
                            clock=clock.monotonic)
    with PtyEmulatorServer(emulator) as server:
        meter = Meter(MeterConfig(journal_path=str(tmp_path / "j.sqlite"), key_path=str(tmp_path / "k.pem")),
                      transport=UartTransport(server.port, timeout=1.0), clock=clock)
        begin = meter.begin_session("S1")
        run(meter, clock, 360, step=60.0)
        seal = meter.seal_session("S1")
        meter.close()
    assert seal.meter_info.charged_wh == pytest.approx(3 * 2300 * 0.1, abs=2)
    verify_ocmf(seal.ocmf, meter.public_key_der())
    assert begin.seq < seal.seq


def test_meter_samples_in_real_time_with_the_background_thread(tmp_path):
    config = MeterConfig(journal_path=str(tmp_path / "j.sqlite"), key_path=str(tmp_path / "k.pem"),
                         poll_interval_s=0.05)
    meter = Meter(config, clock=SystemClock(sync_probe=lambda: SyncState.UNSYNCHRONISED))
    meter.emulator.set_profile(LoadProfile.constant(i_rms=32.0))
    meter.start()
    try:
        first = meter.poll()
        time.sleep(1.0)
        second = meter.poll()
        time.sleep(0.3)
        later = meter.snapshot()
        signed = meter.reading()
    finally:
        meter.close()
    power = 3 * 230 * 32  # uncalibrated front end: within ±2 %
    elapsed = second.wall - first.wall
    # The chip books energy in 200 ms blocks: allow one block at each end of the window, and 200 ms between a
    # chip read and its snapshot's wall time (threads of a loaded box; the window itself is 1 s, so a sampler
    # that booked nothing or twice the energy is still far outside).
    assert second.import_wh - first.import_wh == pytest.approx(power * elapsed / 3600, abs=power * 0.6 / 3600)
    assert later.wall > second.wall  # the sampler thread kept polling on its own
    assert signed.import_wh >= int(second.import_wh)

def test_meter_info_splits_reactive_energy_by_quadrant(make_meter, clock):
    # Quadrant I (import, current lagging) is inductive; quadrant II (export, current leading as seen from the
    # vehicle's source) is capacitive (IEC 62053-23 four-quadrant convention).
    profile = LoadProfile((LoadSegment(duration_s=600.0, i_rms=16.0, power_factor=0.8),
                           LoadSegment(i_rms=16.0, power_factor=0.8, capacitive=True, export=True)))
    meter = make_meter(profile, IDEAL, checkpoint_interval_s=60.0)
    meter.begin_session("S1")
    run(meter, clock, 1200, step=10.0)
    info = meter.seal_session("S1").meter_info
    verify_meter_info(info, meter.public_key_der())
    expected = 3 * 230 * 16 * 0.6 * 600 / 3600  # sin φ = 0.6 for each half
    assert info.inductive_varh == pytest.approx(expected, abs=2)
    assert info.capacitive_varh == pytest.approx(expected, abs=2)
    assert info.charged_wh == pytest.approx(expected / 0.6 * 0.8, abs=2)
    assert info.discharged_wh == pytest.approx(expected / 0.6 * 0.8, abs=2)


def test_config_change_on_the_running_chip_marks_readings_as_manipulated(make_meter, clock):
    from metering import ade9000 as reg

    meter = make_meter(LoadProfile.constant(i_rms=4.0))
    run(meter, clock, 2)
    assert '"ST":"G"' in meter.reading().ocmf
    meter.emulator.poke(reg.AIGAIN, reg.gain_register(1.05))  # someone rescales phase A behind our back
    run(meter, clock, 2)
    reading = meter.reading()
    assert '"ST":"M"' in reading.ocmf and '"ST":"G"' not in reading.ocmf
    codes = [r.body["code"] for r in meter.journal.records(kind="event")]
    assert codes.count("ERR_MET_CONFIG_CRC") == 1


def test_a_dc_session_signs_rt_dc_in_every_reading_even_after_a_restart(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=8.0))
    begin = meter.begin_session("S1", current_type="DC")
    run(meter, clock, 10)
    middle = meter.reading("S1")
    meter.close()
    again = make_meter(LoadProfile.constant(i_rms=8.0))  # the restart seals the open session
    (seal,) = again.recovered
    readings = [OCMF.from_string(r.ocmf) for r in (begin, middle, seal)]
    assert {rd.RT.value for r in readings for rd in r.payload.RD} == {"DC"}
    assert check_eichrecht_transaction(readings[0].payload, readings[2].payload) == []


def test_fiscal_and_default_session_readings_follow_the_configured_current_type(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=8.0), current_type="DC")
    fiscal, begin = meter.reading(), meter.begin_session("S1")
    assert {rd.RT.value for r in (fiscal, begin) for rd in OCMF.from_string(r.ocmf).payload.RD} == {"DC"}


def test_sessions_default_to_ac_without_configuration(make_meter, clock):
    begin = make_meter(LoadProfile.constant(i_rms=8.0)).begin_session("S1")
    assert {rd.RT.value for rd in OCMF.from_string(begin.ocmf).payload.RD} == {"AC"}
