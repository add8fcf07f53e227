"""Bounded fuzzing of both machines' inputs: random bytes and bit-flipped real messages in every state never
raise; they are ignored, refused with a FAILED code, or end the session."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iso15118.evcc import EvConfig, Evcc
from iso15118.session import codec

from tests.secc.helpers import capture_requests, readdress, secc_after

DC = capture_requests("dc")
PAYLOAD_TYPES = [0x8001, 0x8002, 0x8003, 0x8004, 0x8102, 0x8101, 0x9000, 0x1234]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(prefix=st.integers(0, len(DC) - 1), payload_type=st.sampled_from(PAYLOAD_TYPES), data=st.binary(max_size=64))
def test_secc_survives_random_payloads_in_any_state(prefix, payload_type, data):
    secc, now = secc_after(DC, DC[:prefix])
    assert isinstance(secc.receive(payload_type, data, now + 0.01), list)


@FUZZ
@given(index=st.integers(0, len(DC) - 1), flips=st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
def test_secc_survives_bit_flipped_requests(index, flips):
    secc, now = secc_after(DC, DC[:index])
    payload_type, message = DC[index]
    data = bytearray(codec.encode(readdress(message, secc.ctx.session_id)))
    for bit in flips:
        data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    assert isinstance(secc.receive(payload_type, bytes(data), now + 0.01), list)


@FUZZ
@given(payload_type=st.sampled_from(PAYLOAD_TYPES), data=st.binary(max_size=64))
def test_evcc_survives_random_responses(payload_type, data):
    ev = Evcc(EvConfig())
    ev.start(0.0)
    assert isinstance(ev.receive(payload_type, data, 0.01), list)


def _ev_responses():
    """(state-reaching prefix of SECC responses, payload type, response) from a real session."""
    from iso15118.evcc import run_in_process
    from iso15118.secc import SeccConfig
    frames = []

    def intercept(side, send):
        if side == "secc" and send.payload_type != 0x8102:
            frames.append((send.payload_type, send.payload))
        return send
    run_in_process(SeccConfig(metering_confirmation=False), EvConfig(charge_loops=2, loop_period=0.0),
                   intercept=intercept)
    return frames


SECC_FRAMES = _ev_responses()


@FUZZ
@given(index=st.integers(0, len(SECC_FRAMES) - 1), flips=st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
def test_evcc_survives_bit_flipped_responses_in_every_state(index, flips):
    ev = Evcc(EvConfig(charge_loops=2, loop_period=0.0))
    ev.start(0.0)
    for payload_type, payload in SECC_FRAMES[:index]:
        ev.receive(payload_type, payload, 0.01)
    payload_type, payload = SECC_FRAMES[index]
    data = bytearray(payload)
    for bit in flips:
        data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    assert isinstance(ev.receive(payload_type, bytes(data), 0.02), list)
