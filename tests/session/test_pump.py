"""The asyncio pump: a frame that reached the socket before a timer's deadline is handled before that timer,
even when the event loop runs late (as under load, with other sessions' TLS handshakes in the same loop)."""
import asyncio
import time

from iso15118.session.actions import StartTimer, StopTimer
from iso15118.session.pump import MachinePump
from iso15118.transport.v2gtp import PayloadType
from iso15118.transport.v2gtp_asyncio import V2gtpStream

FRAME = bytes([0x01, 0xFE, 0x80, 0x02, 0, 0, 0, 2]) + b"\x80\x00"  # V2GTP header (facts §1) + 2-byte payload


class RecordingMachine:
    def __init__(self):
        self.calls = []

    def receive(self, payload_type, payload, now):
        self.calls.append(("frame", payload_type))
        return [StopTimer("t")]

    def timer_expired(self, now):
        self.calls.append(("timer", None))
        return []

    def connection_lost(self, now):
        self.calls.append(("eof", None))
        return []


async def test_frame_that_arrived_before_a_late_timer_is_handled_first():
    machine = RecordingMachine()
    accepted = asyncio.get_running_loop().create_future()
    server = await asyncio.start_server(lambda r, w: accepted.set_result((r, w)), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    pump = MachinePump(machine, V2gtpStream(*await accepted))
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(pump.run([StartTimer("t", loop.time() + 0.05)]))
    for _ in range(5):  # loop turns, not time: the pump arms its timer and its reader waits on the socket
        await asyncio.sleep(0)
    # The frame is sent while the loop has not run the timer yet (however slowly this machine got here), then
    # the loop is busy past the deadline: frame and timer are both due in the turn when it comes back.
    writer.write(FRAME)
    await writer.drain()
    time.sleep(0.1)
    async with asyncio.timeout(5):
        while not machine.calls:
            await asyncio.sleep(0.005)
    assert machine.calls[0] == ("frame", PayloadType.MAINSTREAM)
    writer.close()
    await asyncio.wait_for(task, 2)
    server.close()
