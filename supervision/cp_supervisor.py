"""Sans-I/O control-pilot supervisor: fed with measurements and `now`, it returns debounced events.

A classified reading becomes the pilot's state only after it held for a debounce time, so a single glitch
(contact bounce while plugging, a sample taken during a PWM edge) never ends a session. The defaults
(SupervisionConfig) stay well inside the EVSE reaction times of IEC 61851-1 Annex A (recalled, to verify:
about 100 ms for a state change, less for faults). Every event is emitted once, on entry into the debounced
state; staying in it emits nothing more.
"""
from __future__ import annotations

from supervision.config import SupervisionConfig
from supervision.events import (
    STATE_FAULTS,
    CP_BOARD_SILENT,
    CP_OUT_OF_RANGE,
    CP_PWM_LOST,
    CP_UNPLUGGED,
    Fault,
    PilotStateChanged,
)
from supervision.pilot import CONNECTED_STATES, PilotMeasurement, PilotReading, PilotState, classify

Event = PilotStateChanged | Fault


class PilotSupervisor:
    def __init__(self, config: SupervisionConfig = SupervisionConfig()) -> None:
        self.config = config
        self.reading: PilotReading | None = None  # the debounced state
        self._candidate: PilotReading | None = None
        self._candidate_since = 0.0
        self._expect_pwm = False
        self._pwm_due: float | None = None
        self._last_measurement_at: float | None = None
        self._silent = False

    def expect_pwm(self, expected: bool, now: float | None = None) -> None:
        """Tell the supervisor whether the EVSE drives PWM now (X2) or not (X1).

        PWM loss = the debounced pilot goes from PWM to steady high in B/C/D while PWM is expected; call
        `expect_pwm(False)` before switching PWM off on purpose (pause, X1 after matching [V2G3-M06-06]).
        With `now`, a PWM that is not on the pilot `pwm_start_timeout_s` after being commanded is lost too
        (the generator or the board failed to start it).
        """
        self._expect_pwm = expected
        self._pwm_due = now + self.config.pwm_start_timeout_s if expected and now is not None else None

    def feed(self, measurement: PilotMeasurement, now: float) -> list[Event]:
        self._last_measurement_at = now
        self._silent = False
        reading = classify(measurement, self.config.bands)
        if self._candidate is None or _key(reading) != _key(self._candidate):
            self._candidate, self._candidate_since = reading, now
        return self._settle(now) + self._check_pwm_started(now)

    def poll(self, now: float) -> list[Event]:
        """Call at `next_deadline()`: settles a pending candidate and detects a silent board."""
        events = self._settle(now) + self._check_pwm_started(now)
        if (self._last_measurement_at is not None and not self._silent
                and now >= self._last_measurement_at + self.config.silence_timeout_s):
            self._silent = True
            quiet = now - self._last_measurement_at
            events.append(Fault(CP_BOARD_SILENT, f"no pilot measurement for {quiet:.3f} s", now))
        return events

    def next_deadline(self) -> float | None:
        deadlines = []
        if self._candidate is not None and (self.reading is None or _key(self._candidate) != _key(self.reading)):
            deadlines.append(self._candidate_since + self._debounce(self._candidate))
        if self._pwm_due is not None:
            deadlines.append(self._pwm_due)
        if self._last_measurement_at is not None and not self._silent:
            deadlines.append(self._last_measurement_at + self.config.silence_timeout_s)
        return min(deadlines, default=None)

    def standing_fault(self, now: float) -> Fault | None:
        """The fault the present pilot already shows (E, F, out of range, silent), for a session that starts now."""
        if self._silent:
            return Fault(CP_BOARD_SILENT, "no pilot measurement at session start", now)
        if self.reading is None or self.reading.state not in (PilotState.E, PilotState.F, PilotState.INVALID):
            return None
        return self._fault(self.reading, self.reading, now)

    def _check_pwm_started(self, now: float) -> list[Event]:
        if self._pwm_due is None or now < self._pwm_due:
            return []
        self._pwm_due = None
        reading = self.reading
        if reading is None or reading.pwm or reading.state not in CONNECTED_STATES:
            return []
        return [Fault(CP_PWM_LOST, f"PWM commanded {self.config.pwm_start_timeout_s} s ago, pilot reads {reading.name}",
                      now)]

    def _debounce(self, reading: PilotReading) -> float:
        fast = reading.state in (PilotState.E, PilotState.F, PilotState.INVALID)
        return self.config.fault_debounce_s if fast else self.config.debounce_s

    def _settle(self, now: float) -> list[Event]:
        candidate = self._candidate
        if candidate is None or (self.reading is not None and _key(candidate) == _key(self.reading)):
            return []
        if now < self._candidate_since + self._debounce(candidate):
            return []
        previous, self.reading = self.reading, candidate
        events: list[Event] = [PilotStateChanged(previous, candidate, now)]
        fault = self._fault(previous, candidate, now)
        if fault is not None:
            events.append(fault)
        return events

    def _fault(self, previous: PilotReading | None, reading: PilotReading, now: float) -> Fault | None:
        if reading.state in STATE_FAULTS:
            return Fault(STATE_FAULTS[reading.state], f"pilot in state {reading.state.value}", now)
        if reading.state is PilotState.INVALID:
            return Fault(CP_OUT_OF_RANGE, reading.reason, now)
        if reading.state is PilotState.A and previous is not None and previous.state is not PilotState.A:
            return Fault(CP_UNPLUGGED, f"pilot went from {previous.name} to A", now)
        if (self._expect_pwm and reading.state in CONNECTED_STATES and not reading.pwm
                and previous is not None and previous.pwm):
            return Fault(CP_PWM_LOST, f"PWM expected, pilot reads {reading.name}", now)
        return None


def _key(reading: PilotReading) -> tuple[PilotState, bool]:
    # Duty wobble inside a running PWM is not a state change; PWM on/off is (B1 ↔ B2).
    return reading.state, reading.pwm
