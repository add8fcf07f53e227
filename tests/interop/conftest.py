"""Fixtures for interop with Josev (PyPI `iso15118` 0.31.2): its virtual environment, both PKIs with
cross-trusted roots, a warm-up corpus for its Java codec, and `JosevPeer` to run it in a network namespace."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from tests import interop_env

PEER = Path(__file__).with_name("josev_peer.py")


@pytest.fixture(scope="session")
def josev_python() -> str:
    """The interpreter of Josev's own venv (its top-level package is also called `iso15118`)."""
    return interop_env.josev_python()


def _josev_package(python: str) -> Path:
    out = subprocess.run([python, "-c", "import iso15118, os; print(os.path.dirname(iso15118.__file__))"],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
                         env={**os.environ, "PYTHONPATH": ""})
    return Path(out.stdout.strip())


class CrossTrustedPki:
    """Our compat PKI (P-256) and Josev's PKI made by its own `create_certs.sh -v iso-2` (P-256; Josev reads the
    iso15118_2 layout for -20 too). Each side trusts the other's roots:
      - Josev's `v2gRootCACert.pem` (its EVCC's trust store for the SECC) also holds our V2G root;
      - Josev's `oemRootCACert.pem` (its SECC's trust store for client certificates) also holds our OEM root,
        which issues our vehicle certificate;
      - our EV gets Josev's V2G root with --trust, our SECC gets Josev's OEM root with --trust (Josev's EVCC
        presents its OEM provisioning chain as TLS client certificate; our compat profile accepts that)."""

    def __init__(self, ours: Path, josev: Path) -> None:
        self.ours = ours
        self.josev = josev  # Josev's PKI_PATH
        certs = josev / "iso15118_2" / "certs"
        self.josev_v2g_root = certs / "v2gRootCACert.pem"
        self.josev_oem_root = certs / "oemRootCACert.pem"


def _trust_pem(path: Path) -> Path:
    """A copy holding only the first certificate of `path` (the root Josev itself generated)."""
    text = path.read_text()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----\n")
    own = path.with_name(path.stem + "-own.pem")
    own.write_text(text[:end])
    return own


@pytest.fixture(scope="session")
def cross_pki(josev_python, tmp_path_factory) -> CrossTrustedPki:
    from certs import PkiConfig, create_pki

    if shutil.which("openssl") is None:
        pytest.skip("Josev's create_certs.sh needs the openssl command line tool")
    base = tmp_path_factory.mktemp("interop-pki")
    ours = create_pki(base / "ours", PkiConfig(profile="compat")).directory
    josev = base / "josev"
    shutil.copytree(_josev_package(josev_python) / "shared" / "pki", josev)
    made = subprocess.run(["bash", "create_certs.sh", "-v", "iso-2"], cwd=josev, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    pki = CrossTrustedPki(Path(ours), josev)
    josev_v2g_root, josev_oem_root = _trust_pem(pki.josev_v2g_root), _trust_pem(pki.josev_oem_root)
    pki.josev_v2g_root, pki.josev_oem_root = josev_v2g_root, josev_oem_root
    certs = josev / "iso15118_2" / "certs"
    with open(certs / "v2gRootCACert.pem", "a") as trust:
        trust.write((Path(ours) / "certs" / "v2g_root.pem").read_text())
    with open(certs / "oemRootCACert.pem", "a") as trust:
        trust.write((Path(ours) / "certs" / "oem_root.pem").read_text())
    return pki


@pytest.fixture(scope="session")
def warm_up_corpus(tmp_path_factory) -> Path:
    """One V2GTP payload per message type (and control-mode variant) of in-process sessions of our own stack (DC
    and AC, Scheduled and Dynamic), as {"payload_type", "exi"} lines: Josev's runner round-trips them through
    EXIficient before it starts, so its JVM has met each message type before the peer connects (josev_peer.py)."""
    from iso15118.evcc import EvConfig, run_in_process
    from iso15118.secc import SeccConfig

    frames, seen = [], set()

    def capture(side, send):
        variant = (send.message.name, tuple(sorted(send.message.body)))
        if variant not in seen:
            seen.add(variant)
            frames.append({"payload_type": send.payload_type, "exi": send.payload.hex()})
        return send

    for service in ("dc", "ac"):
        for mode in ("scheduled", "dynamic"):
            run_in_process(SeccConfig(), EvConfig(service=service, mode=mode, charge_loops=2), intercept=capture)
    path = tmp_path_factory.mktemp("josev-warm-up") / "corpus.jsonl"
    path.write_text("".join(json.dumps(frame) + "\n" for frame in frames))
    return path


class JosevPeer:
    """josev_peer.py running in network namespace `netns`: its stdout JSON events are collected by a thread,
    its log (stderr) goes to a file kept for assertions and failure messages."""

    def __init__(self, python: str, netns: str, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self.events: list[dict] = []
        self._changed = threading.Condition()
        self._cwd = tempfile.TemporaryDirectory(prefix="josev-cwd-")  # no `iso15118/` of ours, no .env
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", netns, python, str(PEER), *args], cwd=self._cwd.name, text=True,
            stdout=subprocess.PIPE, stderr=open(log_path, "w"), env={**os.environ, "PYTHONPATH": ""})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, name: str, timeout: float) -> dict:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(e["event"] == name for e in self.events) or self.process.poll() is not None, timeout)
            for event in self.events:
                if event["event"] == name:
                    return event
        raise AssertionError(f"Josev reported no {name!r} (exit {self.process.poll()}, waited {found}):\n"
                             f"{self.log_tail()}")

    def sent(self, message: str) -> int:
        return sum(1 for e in self.events if e["event"] == "sent" and e["message"] == message)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self) -> str:
        return "\n".join(line for line in self.log().splitlines() if not line.startswith("DEBUG"))[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._cwd.cleanup()


@pytest.fixture
def josev_peer(josev_python, tmp_path):
    started: list[JosevPeer] = []

    def start(netns: str, *args: str) -> JosevPeer:
        peer = JosevPeer(josev_python, netns, list(args), tmp_path / f"josev-{len(started)}.log")
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()
