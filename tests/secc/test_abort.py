"""`Secc.abort`: an external fault (supervision: CP E/F, PWM loss, PLC link lost) ends the session at once —
power stops, the metering session is sealed exactly once with the fault code, and the EV's pending request is
never answered (facts iso15118-20 §8.2-8.3)."""
from iso15118.session.actions import Close, Send
from iso15118.session.events import SessionEnded, SessionSealed

from .helpers import capture_requests, feed, first, prefix_before, secc_after


def test_abort_in_the_charge_loop_stops_power_seals_once_and_never_answers():
    requests = capture_requests("dc")
    secc, now = secc_after(requests, prefix_before(requests, "DC_ChargeLoopReq", 2))
    connector = secc.ctx.connector
    assert connector.charger.contactors_closed
    events = secc.abort("CP_STATE_E", now + 0.01, "pilot state E")
    assert not connector.charger.contactors_closed
    assert [e for e in events if isinstance(e, SessionSealed)] == [SessionSealed(secc.ctx.session_id, "CP_STATE_E")]
    assert SessionEnded("aborted", "CP_STATE_E", "pilot state E") in events
    assert connector.meter.sealed[secc.ctx.session_id][0] == "CP_STATE_E"
    # The request in flight gets no response: only the connection is closed, once.
    payload_type, loop_req = first(requests, "DC_ChargeLoopReq")
    actions = feed(secc, payload_type, loop_req, now + 0.02)
    assert not [a for a in actions if isinstance(a, Send)] and [type(a) for a in actions] == [Close]
    assert secc.timer_expired(now + 100) == [] and secc.connection_lost(now + 100) == []
    # A second abort (another watcher firing) neither seals again nor emits events.
    assert secc.abort("PWM_LOSS", now + 0.03) == []
    assert connector.meter.sealed[secc.ctx.session_id][0] == "CP_STATE_E"
