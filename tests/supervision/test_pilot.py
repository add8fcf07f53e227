"""Classification against IEC 61851-1 nominal pilot levels (±12 V generator, EV resistors behind a diode)."""
import pytest

from supervision import PilotMeasurement, PilotState, classify

# Nominal high levels per state (IEC 61851-1 Annex A); the low level stays at −12 V while PWM runs.
NOMINAL = {PilotState.A: 12.0, PilotState.B: 9.0, PilotState.C: 6.0, PilotState.D: 3.0}


@pytest.mark.parametrize("state,high", NOMINAL.items())
@pytest.mark.parametrize("offset", [-0.9, 0.0, 0.9])
def test_levels_within_one_volt_of_nominal_give_the_state_with_pwm(state, high, offset):
    reading = classify(PilotMeasurement(high + offset, -12.0, 50.0))
    assert reading.state is state and reading.pwm


@pytest.mark.parametrize("state,high", NOMINAL.items())
def test_steady_high_level_gives_the_state_without_pwm(state, high):
    reading = classify(PilotMeasurement(high, high, 100.0))
    assert reading.state is state and not reading.pwm


def test_zero_volts_is_state_e_and_steady_minus_twelve_is_state_f():
    assert classify(PilotMeasurement(0.0, 0.0, 0.0)).state is PilotState.E
    assert classify(PilotMeasurement(0.0, 0.0, 100.0)).state is PilotState.E
    assert classify(PilotMeasurement(-12.0, -12.0, 0.0)).state is PilotState.F


@pytest.mark.parametrize("high", [10.5, 7.5, 4.5, 1.5, 14.0, -5.0])
def test_levels_between_bands_are_out_of_range_not_rounded(high):
    reading = classify(PilotMeasurement(high, -12.0, 50.0))
    assert reading.state is PilotState.INVALID and "no band" in reading.reason


def test_missing_vehicle_diode_is_out_of_range():
    # Without the diode the negative half is loaded like the positive one: −6 V instead of −12 V in C.
    reading = classify(PilotMeasurement(6.0, -6.0, 5.0))
    assert reading.state is PilotState.INVALID and "diode" in reading.reason


@pytest.mark.parametrize("duty,digital", [(5.0, True), (3.0, True), (7.0, True), (10.0, False), (53.3, False)])
def test_five_percent_duty_means_digital_communication(duty, digital):
    assert classify(PilotMeasurement(9.0, -12.0, duty)).digital_communication is digital


def test_names_carry_the_pwm_suffix_only_for_connected_states():
    assert classify(PilotMeasurement(9.0, 9.0, 100.0)).name == "B1"
    assert classify(PilotMeasurement(6.0, -12.0, 5.0)).name == "C2"
    assert classify(PilotMeasurement(12.0, -12.0, 5.0)).name == "A"
