"""Dead-band (no creep below 50 mA), phase invert, reversed-CT diagnostic, thermal compensation."""
import pytest

from tests.metering.helpers import ideal_front_end
from metering import (ConditioningConfig, EmulatorConfig, LoadProfile, ThermalCoefficients, analytic_energy_wh)

NOISY_WAVEFORM = ideal_front_end(fidelity="waveform", sample_rate_hz=2000.0)
IDEAL = ideal_front_end(fidelity="analytic")


def run(meter, clock, seconds, step=1.0):
    for _ in range(int(seconds / step)):
        clock.advance(step)
        meter.poll()


@pytest.mark.parametrize("amps", [0.0, 0.010, 0.040, 0.049])
def test_currents_below_50_ma_never_reach_the_registers(make_meter, clock, amps):
    meter = make_meter(LoadProfile.constant(v_rms=264.5, i_rms=amps), NOISY_WAVEFORM)  # 115 % Un, as for creep
    run(meter, clock, 60)
    assert meter.snapshot().totals.import_uwh == 0
    assert meter.snapshot().totals.export_uwh == 0


def test_current_above_the_dead_band_is_registered(make_meter, clock):
    meter = make_meter(LoadProfile.constant(i_rms=0.080), NOISY_WAVEFORM)
    run(meter, clock, 60)
    assert meter.snapshot().import_wh == pytest.approx(3 * 230 * 0.080 * 60 / 3600, rel=0.01)


def test_reversed_ct_shows_negative_power_while_charging_diagnostic(make_meter, clock):
    config = EmulatorConfig(fidelity="analytic", ct_reversed=(False, True, False))
    meter = make_meter(LoadProfile.constant(i_rms=16.0), config)
    meter.begin_session("S1", charging=True)
    run(meter, clock, 5)
    (diagnostic,) = meter.snapshot().diagnostics
    assert diagnostic.phase == 1 and "negative power while charging" in diagnostic.message
    events = [r.body for r in meter.journal.records(kind="event") if r.body["code"] == "METER_CT_REVERSED"]
    assert len(events) == 1  # recorded once when it appears, not on every poll


def test_phase_invert_setting_restores_a_reversed_ct(make_meter, clock):
    config = ideal_front_end(fidelity="analytic", ct_reversed=(False, True, False))
    meter = make_meter(LoadProfile.constant(i_rms=16.0), config,
                       conditioning=ConditioningConfig(phase_invert=(False, True, False)))
    run(meter, clock, 60)
    assert meter.snapshot().diagnostics == ()
    assert meter.snapshot().import_wh == pytest.approx(3 * 3680 * 60 / 3600, rel=1e-4)
    assert meter.snapshot().export_wh == 0


def _thermal_error(make_meter, clock, coefficients):
    drift = ideal_front_end(fidelity="analytic", temp_start_c=25.0, temp_end_c=65.0, temp_ramp_s=600.0)
    profile = LoadProfile.constant(i_rms=32.0, power_factor=0.5)
    meter = make_meter(profile, drift, conditioning=ConditioningConfig(thermal=coefficients))
    start = meter.snapshot().import_wh
    run(meter, clock, 600, step=2.0)
    true = analytic_energy_wh(profile, 0.0, 600.0)
    return (meter.snapshot().import_wh - start - true) / true


def test_thermal_compensation_with_installation_coefficients_removes_the_drift(make_meter, clock):
    chip = EmulatorConfig()
    matched = ThermalCoefficients(v_ppm_per_k=chip.v_drift_ppm_per_k, i_ppm_per_k=chip.i_drift_ppm_per_k)
    uncompensated = _thermal_error(make_meter, clock, ThermalCoefficients())
    compensated = _thermal_error(make_meter, clock, matched)
    assert abs(uncompensated) > 5e-4  # ~30 ppm/K net over a 20 K mean rise
    assert abs(compensated) < 5e-5
