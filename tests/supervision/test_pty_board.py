"""The pilot board emulator on a real pty pair, read through pyserial by the SessionSupervisor."""
import asyncio

import pytest

from supervision import (
    CP_BOARD_SILENT, CP_OUT_OF_RANGE, CP_PWM_LOST, CP_STATE_E, CP_STATE_F, CP_UNPLUGGED,
    ControlPilotBoardEmulator, PilotBoardError, PilotStateChanged, SerialControlPilot, SessionSupervisor,
    SupervisionConfig,
)

pytestmark = pytest.mark.faults

# Default debounce; silence and PWM-start timeouts long enough that a loaded CI machine's event-loop stall
# is not taken for a fault.
CONFIG = SupervisionConfig(silence_timeout_s=0.5, pwm_start_timeout_s=1.0)


async def wait_for(predicate, timeout=5.0):  # a bound for a hang, not a speed requirement
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


class Bench:
    """Board emulator + serial host + supervisor, with every callback recorded."""

    def __init__(self, board, host, sup, faults, events):
        self.board, self.host, self.sup, self.faults, self.events = board, host, sup, faults, events

    def states(self):
        return [e.reading.name for e in self.events if isinstance(e, PilotStateChanged)]

    async def settle(self, name):
        await wait_for(lambda: self.sup.pilot is not None and self.sup.pilot.name == name)


@pytest.fixture
async def bench():
    async with ControlPilotBoardEmulator(period_s=0.005) as board:
        host = SerialControlPilot(board.port)
        faults, events = [], []
        async with SessionSupervisor(pilot=host.measurements(), on_fault=lambda c, d: faults.append((c, d)),
                                     on_event=events.append, config=CONFIG) as sup:
            b = Bench(board, host, sup, faults, events)
            await b.settle("A")
            yield b
        host.close()


async def start_charging(b):
    """Plug in, start 5 % PWM over the serial line, go to C2 and arm the session."""
    b.board.plug("B")
    await b.settle("B1")
    await b.host.set_duty(5)
    b.sup.expect_pwm(True)
    await b.settle("B2")
    b.board.plug("C")
    await b.settle("C2")
    b.sup.begin_session()


async def test_every_transition_of_a_normal_session_is_reported_once_and_no_fault(bench):
    await start_charging(bench)
    for state, name in [("D", "D2"), ("C", "C2"), ("B", "B2")]:
        bench.board.plug(state)
        await bench.settle(name)
    bench.sup.end_session()
    bench.sup.expect_pwm(False)
    await bench.host.set_duty(100)
    await bench.settle("B1")
    bench.board.unplug()
    await bench.settle("A")
    assert bench.states() == ["A", "B1", "B2", "C2", "D2", "C2", "B2", "B1", "A"]
    assert bench.faults == []
    assert bench.board.duty_permille == 1000


@pytest.mark.parametrize("inject,code", [
    (lambda board: board.short_to_pe(), CP_STATE_E),
    (lambda board: board.board_fault_f(), CP_STATE_F),
    (lambda board: board.break_pwm(), CP_PWM_LOST),
    (lambda board: board.unplug(), CP_UNPLUGGED),
    (lambda board: board.force_high_level(7600), CP_OUT_OF_RANGE),
    (lambda board: board.remove_diode(), CP_OUT_OF_RANGE),
    (lambda board: board.go_silent(), CP_BOARD_SILENT),
])
async def test_each_fault_reaches_on_fault_exactly_once(bench, inject, code):
    await start_charging(bench)
    inject(bench.board)
    await wait_for(lambda: bench.faults)
    await asyncio.sleep(0.15)  # many more frames (or silence) later: still one callback
    assert [c for c, _ in bench.faults] == [code]


async def test_pwm_that_the_board_never_starts_is_one_pwm_lost(bench):
    bench.board.break_pwm()
    bench.board.plug("B")
    await bench.settle("B1")
    bench.sup.begin_session()
    await bench.host.set_duty(5)
    bench.sup.expect_pwm(True)
    await wait_for(lambda: bench.faults)
    await asyncio.sleep(0.1)
    assert [c for c, _ in bench.faults] == [CP_PWM_LOST]


async def test_a_session_begun_on_a_shorted_pilot_is_faulted_at_once(bench):
    bench.board.plug("B")
    bench.board.short_to_pe()
    await bench.settle("E")
    bench.sup.begin_session()
    await wait_for(lambda: bench.faults)
    assert [c for c, _ in bench.faults] == [CP_STATE_E]


async def test_corrupt_frames_are_dropped_without_a_state_change(bench):
    await start_charging(bench)
    bench.board.corrupt_frames(3)
    await wait_for(lambda: bench.host.corrupt_frames == 3)
    await asyncio.sleep(0.05)
    assert bench.faults == [] and bench.sup.pilot.name == "C2"


async def test_the_board_opens_the_contactor_by_itself_on_a_short(bench):
    await start_charging(bench)
    await bench.host.set_contactor(True)
    bench.board.short_to_pe()
    assert not bench.board.contactor_closed
    await wait_for(lambda: bench.faults)
    assert [c for c, _ in bench.faults] == [CP_STATE_E]


async def test_contactor_command_is_refused_by_the_board_in_state_f(bench):
    await bench.host.set_contactor(True)
    assert bench.board.contactor_closed
    await bench.host.set_contactor(False)
    await bench.host.set_state_f(True)
    with pytest.raises(PilotBoardError) as info:
        await bench.host.set_contactor(True)
    assert info.value.code == "ERR_CP_BOARD" and not bench.board.contactor_closed


async def test_close_with_a_full_measurement_queue_still_ends_the_stream():
    """A stalled consumer lets the queue fill; close() must not raise QueueFull and must end measurements()."""
    async with ControlPilotBoardEmulator(period_s=0) as board:
        host = SerialControlPilot(board.port)
        await wait_for(lambda: host._measurements.full(), timeout=10.0)
        host.close()
        async with asyncio.timeout(2.0):
            received = [m async for m in host.measurements()]
        assert 0 < len(received) <= 1000
