"""Network namespaces joined by veth links, for tests whose frames must cross a real link.

Creating namespaces needs root (CI runs as root); `require_root()` skips with the reason otherwise.
`in_netns()` switches only the calling thread (setns(2) on a network namespace is per thread), so a socket
created inside the block lives in that namespace and keeps working after the block ends, from any thread
and any event loop.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces and veth pairs (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's 'ip' command (.ci/run installs it)")


def ip(*args: str, netns: str | None = None) -> str:
    cmd = ["ip", *(("-n", netns) if netns else ()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block (this thread only) inside network namespace `name`."""
    with open("/proc/thread-self/ns/net") as saved, open(f"/run/netns/{name}") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(saved.fileno())


@dataclass(frozen=True)
class Endpoint:
    """One end of a veth link: the namespace it sits in, its interface, MAC and IPv6 link-local address."""

    netns: str
    ifname: str
    mac: str
    link_local: str


def _new_namespace(name: str) -> None:
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)


def _bring_up(netns: str, ifname: str) -> None:
    # No duplicate address detection: the link-local address is usable at once instead of after ~1 s.
    subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.accept_dad=0"],
                   check=True, capture_output=True)
    ip("link", "set", ifname, "up", netns=netns)


def _endpoint(netns: str, ifname: str) -> Endpoint:
    """Waits for the link-local address, which appears once both ends of the veth are up."""
    deadline = time.monotonic() + 5
    while True:
        out = ip("-o", "addr", "show", "dev", ifname, netns=netns)
        ll = [w.split("/")[0] for line in out.splitlines() if " inet6 fe80" in line and "tentative" not in line
              for w in line.split() if w.startswith("fe80")]
        if ll:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ifname} in {netns} got no IPv6 link-local address")
        time.sleep(0.02)
    mac = ip("-o", "link", "show", "dev", ifname, netns=netns).split("link/ether ")[1].split()[0]
    return Endpoint(netns, ifname, mac, ll[0])


class Topology:
    """Namespaces created for one test; `link()` joins two of them, `close()` removes everything."""

    def __init__(self, prefix: str = "v2g") -> None:
        self._tag = uuid.uuid4().hex[:6]
        self._prefix = prefix
        self.namespaces: list[str] = []
        self._links = 0

    def namespace(self, role: str) -> str:
        name = f"{self._prefix}-{self._tag}-{role}"
        _new_namespace(name)
        self.namespaces.append(name)
        return name

    def link(self, ns_a: str, ns_b: str) -> tuple[Endpoint, Endpoint]:
        self._links += 1
        # Interface names are limited to 15 characters.
        if_a, if_b = f"a{self._tag}{self._links}", f"b{self._tag}{self._links}"
        ip("link", "add", if_a, "type", "veth", "peer", "name", if_b)
        ip("link", "set", if_a, "netns", ns_a)
        ip("link", "set", if_b, "netns", ns_b)
        _bring_up(ns_a, if_a)
        _bring_up(ns_b, if_b)
        return _endpoint(ns_a, if_a), _endpoint(ns_b, if_b)

    def close(self) -> None:
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces.clear()


@contextlib.contextmanager
def topology(prefix: str = "v2g") -> Iterator[Topology]:
    require_root()
    topo = Topology(prefix)
    try:
        yield topo
    finally:
        topo.close()


@contextlib.contextmanager
def veth_pair(prefix: str = "v2g") -> Iterator[tuple[Endpoint, Endpoint]]:
    """Two namespaces ("a", "b") joined by one veth link; yields both endpoints."""
    with topology(prefix) as topo:
        yield topo.link(topo.namespace("a"), topo.namespace("b"))
