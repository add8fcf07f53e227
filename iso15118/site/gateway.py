"""The site gateway: one process running many EVSEs (`Evse`), sharing one SECC TLS context, the Plug & Charge
verifiers and one OCPP queue journal (each connector has its own OCPP connection and station identity; each
meter keeps its own journal, since its energy registers and OCMF counters are its own).

    async with SiteGateway(SiteConfig.from_file("site.toml")) as site:
        site.evses[1].port                   # where connector 1 listens (also announced by its SDP server)
        await site.wait_closed()             # until close() (the CLI: SIGTERM / SIGINT)

`overrides[connector_id]` hands an EVSE objects a file cannot name (the demo's pty pilot board, an in-memory
PLC monitor); `on_meter_poll(meter, snapshot)` observes simulated-time meters (the demo's plot).
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from iso15118.secc import plug_and_charge_hooks
from iso15118.session.events import Event
from metering import (ChipEmulator, EmulatorConfig, Journal, LoadProfile, Meter, MeterConfig, OcmfIdentity,
                      SimulatedClock)
from metering.ocpp import OcppClient, OcppConfig

from .config import ConnectorConfig, SiteConfig
from .evse import Evse
from .meter_time import PollHook, SimulatedMeterTime


class SiteGateway:
    def __init__(self, config: SiteConfig, *, trace=None, on_event: Callable[[int, Event], None] | None = None,
                 on_fault: Callable[[int, str, str], None] | None = None,
                 overrides: dict[int, dict[str, Any]] | None = None, on_meter_poll: PollHook | None = None) -> None:
        self.config = config
        self.trace = trace
        self.on_event = on_event
        self.on_fault = on_fault
        self.overrides = overrides or {}
        self.evses: dict[int, Evse] = {}
        self.meters: dict[int, Meter] = {}
        self.ocpp: dict[int, OcppClient] = {}
        self.meter_time = SimulatedMeterTime(config.meter_time_scale, on_poll=on_meter_poll) \
            if config.meter_time_scale > 0 else None
        self._journal: Journal | None = None
        self._ocpp_queue_worker: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task] = []
        self._closed = asyncio.Event()
        self._closing = False

    async def __aenter__(self) -> SiteGateway:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> SiteGateway:
        config = self.config
        data = Path(config.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        ssl_context = None
        if config.tls:
            from iso15118.session.tls_contexts import secc_context
            ssl_context = secc_context(config.pki_dir, config.tls_profile, revocation=config.revocation)
        hooks = plug_and_charge_hooks(config.pki_dir)
        supervision = None
        if config.supervision or any(c.cp_serial_port or c.plc_interface for c in config.connectors):
            from supervision import SupervisionConfig
            supervision = SupervisionConfig.from_dict(config.supervision)
        if config.ocpp:
            self._journal = Journal(str(data / "ocpp-queue.sqlite"))
            # One thread for every station's queue work: the shared journal serializes their commits anyway.
            self._ocpp_queue_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocpp-queue")
        for connector in config.connectors:
            meter = self._meter(connector, data)
            self.meters[connector.id] = meter
            ocpp = None
            if self._journal is not None:
                # [ocpp] may name SampledDataCtrlr.TxUpdatedInterval itself; else the site's tx_updated_interval_s.
                ocpp_config = OcppConfig.from_dict({"tx_updated_interval": config.tx_updated_interval_s, **config.ocpp,
                                                    "station_id": config.station_id(connector)})
                ocpp = OcppClient(ocpp_config, self._journal, connectors=[(connector.id, 1)],
                                  queue_worker=self._ocpp_queue_worker)
                await ocpp.__aenter__()
                self.ocpp[connector.id] = ocpp
            options = {"board": self._board(connector), "plc": self._plc(connector),
                       **self.overrides.get(connector.id, {})}
            evse = Evse(connector, config.secc_for(connector), meter, ocpp, ssl_context=ssl_context,
                        station_hooks=hooks, supervision_config=supervision,
                        trace=self.trace,
                        on_event=self._observer(connector.id), on_fault=self._fault_observer(connector.id),
                        **options)
            self.evses[connector.id] = evse
            await evse.start()
        if self.meter_time is not None:
            self._tasks.append(asyncio.create_task(self.meter_time.run()))
        return self

    def _meter(self, connector: ConnectorConfig, data: Path) -> Meter:
        identity = OcmfIdentity(meter_serial=self.config.meter_serial(connector),
                                gateway_serial=self.config.station_id(connector))
        # The checkpoint interval is in meter time; the setting is in real time.
        checkpoint = self.config.meter_checkpoint_interval_s * max(1.0, self.config.meter_time_scale)
        meter_config = MeterConfig(journal_path=str(data / f"meter-{connector.id}.sqlite"),
                                   key_path=str(data / f"meter-{connector.id}.pem"), identity=identity,
                                   checkpoint_interval_s=checkpoint)
        if self.meter_time is None:
            meter = Meter(meter_config)
            meter.start()
            return meter
        clock = SimulatedClock(wall_start=time.time())
        # Closed-form chip signals: sampling the waveform at N x real time would cost a core per few meters.
        emulator = ChipEmulator(EmulatorConfig(fidelity="analytic"), LoadProfile(), clock=clock.monotonic)
        meter = Meter(meter_config, clock=clock, emulator=emulator)
        self.meter_time.add(meter, clock)
        return meter

    @staticmethod
    def _board(connector: ConnectorConfig):
        if not connector.cp_serial_port:
            return None
        from supervision import SerialControlPilot
        return SerialControlPilot(connector.cp_serial_port)

    @staticmethod
    def _plc(connector: ConnectorConfig):
        if not connector.plc_interface:
            return None
        from slac import LinkMonitorConfig, RawEthernetLink, watch_link
        return watch_link(RawEthernetLink(connector.plc_interface), LinkMonitorConfig())

    def _observer(self, connector_id: int):
        if self.on_event is None:
            return None
        return lambda event: self.on_event(connector_id, event)

    def _fault_observer(self, connector_id: int):
        if self.on_fault is None:
            return None
        return lambda code, detail: self.on_fault(connector_id, code, detail)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def drain(self, timeout: float | None = None) -> None:
        """Until every EVSE's OCPP steps are queued and every queue delivered (the CSMS must be reachable)."""
        for evse in self.evses.values():
            await evse.drain()
        for client in self.ocpp.values():
            await client.wait_idle(timeout)

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for evse in self.evses.values():
            await evse.close()
            if evse.board is not None and self.overrides.get(evse.config.id, {}).get("board") is None:
                evse.board.close()
        for client in self.ocpp.values():
            await client.close()
        for meter in self.meters.values():
            meter.close()
        if self._ocpp_queue_worker is not None:
            self._ocpp_queue_worker.shutdown(wait=True)
        if self._journal is not None:
            self._journal.close()
        self._closed.set()
