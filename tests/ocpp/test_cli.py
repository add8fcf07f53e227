"""`python -m metering.ocpp csms` serves the local CSMS and prints each call as a JSON line."""
import json
import queue
import socket
import subprocess
import sys
import threading

from metering.ocpp import OcppClient
from tests.ocpp.conftest import fast_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_csms_command_prints_every_call_it_receives(journal_path, meter):
    proc = subprocess.Popen([sys.executable, "-m", "metering.ocpp", "csms", "--port", str(_free_port())],
                            stdout=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in proc.stdout], daemon=True).start()
    try:
        url = lines.get(timeout=10)["listening"]
        async with OcppClient(fast_config(url, journal_path)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await client.wait_idle(5)
        printed = [lines.get(timeout=5) for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    assert [p["action"] for p in printed] == ["BootNotification", "StatusNotification", "TransactionEvent"]
    assert printed[2]["payload"]["transactionInfo"]["transactionId"] == tx.transaction_id
