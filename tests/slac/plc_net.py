"""Test topology: each host in its own network namespace, joined by a veth to a "plc" namespace where the
virtual powerline plays every host's modem."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from slac.link import RawEthernetLink
from slac.powerline import PowerlineConfig
from slac.powerline_aio import AsyncPowerline
from tests.netns import Endpoint, in_netns, topology


@dataclass
class Host:
    role: str
    endpoint: Endpoint   # the host's interface
    plc_side: Endpoint   # the powerline's interface for this host
    link: RawEthernetLink | None = None


@dataclass
class PlcNet:
    plc_ns: str
    ev: Host
    evses: list[Host]

    def open_links(self) -> None:
        for host in [self.ev, *self.evses]:
            with in_netns(host.endpoint.netns):
                host.link = RawEthernetLink(host.endpoint.ifname)

    def close_links(self) -> None:
        for host in [self.ev, *self.evses]:
            if host.link:
                host.link.close()

    def powerline(self, config: PowerlineConfig, attenuations: list[float] | None = None) -> AsyncPowerline:
        plc = AsyncPowerline(config)
        with in_netns(self.plc_ns):
            plc.attach_interface(self.ev.plc_side.ifname, "ev")
            for i, evse in enumerate(self.evses):
                plc.attach_interface(evse.plc_side.ifname, "evse",
                                     attenuation_db=attenuations[i] if attenuations else None)
        return plc


@contextlib.contextmanager
def plc_net(evses: int = 1) -> Iterator[PlcNet]:
    with topology("slac") as topo:
        plc_ns = topo.namespace("plc")

        def host(role: str) -> Host:
            ns = topo.namespace(role)
            mine, plc_side = topo.link(ns, plc_ns)
            return Host(role, mine, plc_side)

        net = PlcNet(plc_ns, host("ev"), [host(f"evse{i}") for i in range(evses)])
        net.open_links()
        try:
            yield net
        finally:
            net.close_links()
