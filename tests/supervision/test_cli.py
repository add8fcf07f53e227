"""`python -m supervision emulate` and `watch` talk over a real pty, as two processes."""
import json
import queue
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.faults


def _lines(proc) -> queue.Queue:
    """Stdout lines of a child, read by a thread so a silent child cannot hang the test."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    return lines


def _line(lines: queue.Queue, timeout=10.0) -> dict:
    return json.loads(lines.get(timeout=timeout))


def test_watch_reports_the_emulated_short_and_exits_with_the_fault_status(tmp_path):
    config = tmp_path / "supervision.json"
    config.write_text(json.dumps({"silence_timeout_s": 1.0, "pwm_start_timeout_s": 2.0}))  # a loaded CI host
    emulator = subprocess.Popen([sys.executable, "-m", "supervision", "emulate", "--period", "0.005"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    emulator_out = _lines(emulator)
    try:
        port = _line(emulator_out)["port"]
        emulator.stdin.write("plug C\n")
        emulator.stdin.flush()
        assert _line(emulator_out) == {"ok": "plug C"}
        watch = subprocess.Popen([sys.executable, "-m", "supervision", "watch", port, "--duty", "5", "--session",
                                  "--exit-on-fault", "--config", str(config)], stdout=subprocess.PIPE, text=True)
        watch_out = _lines(watch)
        try:
            seen = []
            while not seen or seen[-1] != "C2":
                event = _line(watch_out)
                seen.append(event["state"])
            emulator.stdin.write("short on\n")
            emulator.stdin.flush()
            events = [_line(watch_out), _line(watch_out)]
            assert events[0]["state"] == "E"
            assert events[1]["event"] == "fault" and events[1]["code"] == "CP_STATE_E"
            assert watch.wait(10) == 3
        finally:
            watch.kill()
    finally:
        emulator.stdin.close()
        emulator.wait(10)
