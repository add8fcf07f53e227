"""The gateway keeps journal I/O (an fsync per record) off the event loop that serves every connector's
sessions: no charge loop waits for a meter poll or a register checkpoint, and periodic readings and seals are
written by the connector's journal worker, and so is the begin reading taken at service selection (the SECC waits
for it only if it still is being written when it needs it). Only the once-per-session records the SECC machine
writes itself (the seal, the EV's MeteringConfirmation) stay on the loop."""
import threading

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway
from metering.ocpp import LocalCsms

WRITES = ("save_checkpoint", "append", "begin_session", "seal_session", "add_receipt")
ONCE_PER_SESSION_ON_LOOP = {"seal_session", "add_receipt"}


def _record_threads(meter, calls: list) -> None:
    """Record each journal write and whether the event loop (main thread) made it; the meter's own calls
    (a begin or seal reading may write a due checkpoint first) count as part of the call that made them."""
    depth = threading.local()

    def trace(owner, name):
        original = getattr(owner, name)

        def traced(*args, **kwargs):
            outer = getattr(depth, "n", 0) == 0
            if outer:
                calls.append((name, threading.current_thread() is threading.main_thread()))
            depth.n = getattr(depth, "n", 0) + 1
            try:
                return original(*args, **kwargs)
            finally:
                depth.n -= 1
        setattr(owner, name, traced)
    for name in WRITES:
        trace(meter.journal, name)
    for name in ("begin_session", "seal_session", "reading"):
        trace(meter, name)


async def test_charge_loops_and_periodic_readings_write_nothing_on_the_event_loop(tmp_path):
    async with LocalCsms(heartbeat_interval=3600) as csms:
        # A checkpoint due at every poll: a poll on the event loop would write one.
        config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("dc",)),), tls=False,
                            data_dir=str(tmp_path), meter_time_scale=60.0, tx_updated_interval_s=0.2,
                            ocpp={"csms_url": csms.url}, meter_checkpoint_interval_s=0.001)
        calls: list[tuple[str, bool]] = []
        async with SiteGateway(config) as site:
            _record_threads(site.meters[1], calls)
            ev = Evcc(EvConfig(service="dc", auth="eim", tls=False, charge_loops=20, loop_period=0.1))
            summary = await run_session(ev, "::1", site.evses[1].port)
            await site.drain(timeout=30)
            session_calls = list(calls)  # not the shutdown (closing the meter writes a last checkpoint)
        assert threading.current_thread() is threading.main_thread()  # the loop runs on the main thread
    assert summary["outcome"] == "completed"
    on_loop = [name for name, loop in session_calls if loop]
    off_loop = [name for name, loop in session_calls if not loop]
    assert "save_checkpoint" in off_loop and "reading" in off_loop, session_calls  # it saw checkpoints and readings
    assert off_loop.count("begin_session") == 1, session_calls
    assert set(on_loop) <= ONCE_PER_SESSION_ON_LOOP, on_loop
    assert all(on_loop.count(name) <= 1 for name in ONCE_PER_SESSION_ON_LOOP), on_loop


async def test_the_secc_waits_for_a_begin_still_being_written_and_never_begins_the_session_itself(tmp_path):
    """The begin reading is held on the journal thread until the SECC needs it (its first MeterInfo or seal):
    the SECC then waits for it, so the metering session is begun once, with the authorized identity."""
    async with LocalCsms(heartbeat_interval=3600) as csms:
        config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("dc",)),), tls=False,
                            data_dir=str(tmp_path), meter_time_scale=60.0, tx_updated_interval_s=0.0,
                            ocpp={"csms_url": csms.url})
        async with SiteGateway(config) as site:
            evse, meter = site.evses[1], site.meters[1]
            needed, held_until_needed = threading.Event(), []
            settle, begin_session = evse._meter_source.settle, meter.begin_session

            def settle_when_needed(session_id):
                needed.set()
                settle(session_id)

            def held_begin(*args, **kwargs):
                held_until_needed.append(needed.wait(20))
                return begin_session(*args, **kwargs)

            evse._meter_source.settle, meter.begin_session = settle_when_needed, held_begin
            ev = Evcc(EvConfig(service="dc", auth="eim", tls=False, charge_loops=3, loop_period=0.05))
            summary = await run_session(ev, "::1", evse.port)
            await site.drain(timeout=30)
            begins = meter.journal.records(kind="session_begin")
        started = [e for e in csms.record.transaction_events if e["eventType"] == "Started"]
    assert summary["outcome"] == "completed"
    assert held_until_needed == [True]
    [begin] = begins
    assert '"IT":"LOCAL"' in begin.body["ocmf"]  # the EIM identity from Authorized, not an anonymous begin
    assert len(started) == 1
