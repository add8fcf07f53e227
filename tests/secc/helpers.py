"""Drive a SECC with requests captured from a real EVCC session (re-addressed to the SECC's SessionID)."""
from __future__ import annotations

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig, Station
from iso15118.session import codec
from iso15118.session.actions import Close, Send
from iso15118.session.messages import Message
from iso15118.session.events import SessionSealed


def capture_requests(service: str = "dc", mode: str = "scheduled") -> list[tuple[int, Message]]:
    requests: list[tuple[int, Message]] = []

    def trace(side, direction, payload_type, message, now):
        if side == "ev" and direction == "tx" and payload_type != 0x8102:
            requests.append((payload_type, message))

    run_in_process(SeccConfig(), EvConfig(service=service, mode=mode, charge_loops=2, discharge_loops=0),
                   trace=trace)
    return requests


def readdress(message: Message, session_id: bytes) -> Message:
    if "Header" not in message.body:
        return message
    return Message(message.name, {**message.body, "Header": {**message.body["Header"], "SessionID": session_id}})


def feed(secc, payload_type: int, message: Message, now: float) -> list:
    return secc.receive(payload_type, codec.encode(readdress(message, secc.ctx.session_id)), now)


def prefix_before(requests, name: str, occurrence: int = 1):
    seen = 0
    for i, (_, message) in enumerate(requests):
        if message.name == name:
            seen += 1
            if seen == occurrence:
                return requests[:i]
    raise AssertionError(f"{name} #{occurrence} not in the captured session")


def first(requests, name: str) -> tuple[int, Message]:
    return next((pt, m) for pt, m in requests if m.name == name)


def secc_after(requests, prefix, config: SeccConfig | None = None):
    secc = Station(config or SeccConfig()).new_session()
    now = 0.0
    for payload_type, message in prefix:
        now += 0.01
        actions = feed(secc, payload_type, message, now)
        assert not any(isinstance(a, Close) for a in actions), (message.name, actions)
    return secc, now


def sent(actions) -> list[Message]:
    return [a.message for a in actions if isinstance(a, Send)]


def sealed(actions) -> list[SessionSealed]:
    return [a for a in actions if isinstance(a, SessionSealed)]
