"""The sans-I/O pilot supervisor, driven with measurements and an explicit clock."""
from supervision import (
    CP_BOARD_SILENT, CP_OUT_OF_RANGE, CP_PWM_LOST, CP_STATE_E, CP_STATE_F, CP_UNPLUGGED,
    Fault, PilotMeasurement, PilotStateChanged, PilotSupervisor, SupervisionConfig,
)

CONFIG = SupervisionConfig(debounce_s=0.030, fault_debounce_s=0.010, silence_timeout_s=0.050)
STEP = 0.005  # the board's reporting period in these tests

LEVELS = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0}


def pilot(name: str, duty: float = 5.0) -> PilotMeasurement:
    """Measurement of a nominal pilot: 'B1' steady, 'B2' PWM at `duty`, 'E' shorted, 'F' steady −12 V."""
    if name == "E":
        return PilotMeasurement(0.0, 0.0, 0.0)
    if name == "F":
        return PilotMeasurement(-12.0, -12.0, 0.0)
    high = LEVELS[name[0]]
    if name.endswith("1"):
        return PilotMeasurement(high, high, 100.0)
    return PilotMeasurement(high, -12.0, duty)


class Run:
    def __init__(self, expect_pwm: bool = True) -> None:
        self.sup = PilotSupervisor(CONFIG)
        self.sup.expect_pwm(expect_pwm)
        self.now = 0.0
        self.events: list = []

    def hold(self, m: PilotMeasurement, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end - 1e-9:
            self.events += self.sup.feed(m, self.now)
            self.now += STEP

    def states(self) -> list[str]:
        return [e.reading.name for e in self.events if isinstance(e, PilotStateChanged)]

    def faults(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, Fault)]


def test_a_full_session_walk_reports_each_transition_once_and_no_fault():
    run = Run(expect_pwm=False)
    run.hold(pilot("A1"), 0.1)  # no vehicle, steady +12 V (X1)
    run.hold(pilot("B1"), 0.1)  # plugged in
    run.sup.expect_pwm(True)  # the EVSE starts 5 % PWM
    walk = ["B2", "C2", "D2", "C2", "B2"]
    for name in walk:
        run.hold(pilot(name), 0.1)
    run.sup.expect_pwm(False)
    run.hold(pilot("B1"), 0.1)
    assert run.states() == ["A", "B1", *walk, "B1"]
    assert run.faults() == []


def test_a_glitch_shorter_than_the_debounce_is_ignored():
    run = Run()
    run.hold(pilot("C2"), 0.1)
    run.hold(pilot("B2"), 0.020)  # 20 ms < 30 ms debounce
    run.hold(pilot("C2"), 0.1)
    run.hold(pilot("E"), 0.005)  # one sample < 10 ms fault debounce
    run.hold(pilot("C2"), 0.1)
    assert run.states() == ["C2"] and run.faults() == []


def test_state_e_is_reported_once_within_the_fault_debounce():
    run = Run()
    run.hold(pilot("C2"), 0.1)
    start = run.now
    run.hold(pilot("E"), 0.5)
    faults = [e for e in run.events if isinstance(e, Fault)]
    assert [f.code for f in faults] == [CP_STATE_E]
    assert faults[0].at - start <= CONFIG.fault_debounce_s + STEP


def test_state_f_is_reported_once():
    run = Run()
    run.hold(pilot("B2"), 0.1)
    run.hold(pilot("F"), 0.5)
    assert run.faults() == [CP_STATE_F]


def test_pwm_loss_while_expected_is_a_fault_but_a_commanded_stop_is_not():
    run = Run()
    run.hold(pilot("C2"), 0.1)
    run.hold(pilot("C1"), 0.5)
    assert run.faults() == [CP_PWM_LOST]

    commanded = Run()
    commanded.hold(pilot("C2"), 0.1)
    commanded.sup.expect_pwm(False)
    commanded.hold(pilot("C1"), 0.5)
    assert commanded.faults() == [] and commanded.states() == ["C2", "C1"]


def test_unplug_is_reported_once_when_the_pilot_returns_to_a():
    run = Run()
    run.hold(pilot("C2"), 0.1)
    run.hold(pilot("A2"), 0.5)
    assert run.faults() == [CP_UNPLUGGED]


def test_out_of_range_level_is_a_fault():
    run = Run()
    run.hold(pilot("B2"), 0.1)
    run.hold(PilotMeasurement(7.6, -12.0, 5.0), 0.5)
    assert run.faults() == [CP_OUT_OF_RANGE]


def test_silence_is_reported_once_at_the_deadline():
    run = Run()
    run.hold(pilot("B2"), 0.1)
    last = run.now - STEP
    deadline = run.sup.next_deadline()
    assert deadline is not None and abs(deadline - (last + CONFIG.silence_timeout_s)) < 1e-9
    assert run.sup.poll(deadline - 0.001) == []
    events = run.sup.poll(deadline)
    assert [e.code for e in events] == [CP_BOARD_SILENT]
    assert run.sup.poll(deadline + 1.0) == []


def test_pending_change_settles_through_poll_without_further_samples():
    run = Run()
    run.hold(pilot("B2"), 0.1)
    run.events += run.sup.feed(pilot("C2"), run.now)
    deadline = run.sup.next_deadline()
    assert deadline == run.now + CONFIG.debounce_s
    assert [e.reading.name for e in run.sup.poll(deadline) if isinstance(e, PilotStateChanged)] == ["C2"]


def test_pwm_that_never_starts_after_the_command_is_lost_at_the_start_timeout():
    run = Run(expect_pwm=False)
    run.hold(pilot("B1"), 0.1)
    run.sup.expect_pwm(True, run.now)
    due = run.now + CONFIG.pwm_start_timeout_s
    run.hold(pilot("B1"), CONFIG.pwm_start_timeout_s - 0.01)
    assert run.faults() == []
    run.hold(pilot("B1"), 0.5)
    faults = [e for e in run.events if isinstance(e, Fault)]
    assert [f.code for f in faults] == [CP_PWM_LOST] and faults[0].at >= due


def test_pwm_that_starts_in_time_is_no_fault():
    run = Run(expect_pwm=False)
    run.hold(pilot("B1"), 0.1)
    run.sup.expect_pwm(True, run.now)
    run.hold(pilot("B2"), 0.5)
    assert run.faults() == [] and run.states() == ["B1", "B2"]


def test_a_standing_fault_is_reported_to_a_session_that_starts_late():
    run = Run()
    run.hold(pilot("F"), 0.1)
    assert run.sup.standing_fault(run.now).code == CP_STATE_F
    healthy = Run()
    healthy.hold(pilot("C2"), 0.1)
    assert healthy.sup.standing_fault(healthy.now) is None
