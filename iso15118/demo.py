"""`v2g demo`: a complete ISO 15118-20 bidirectional charging session on this machine; no hardware, no root,
no configuration.

Two virtual PLC modems match by SLAC on an in-memory powerline; the EV finds the SECC by SDP (loopback mode)
and opens TLS 1.3 with certificates from a freshly provisioned PKI (-20 profile, P-521); -20 DC_BPT with Plug &
Charge charges, then discharges. The SECC is connector 1 of the site gateway (iso15118.site): its meter is the
metrology chip emulator (signed MeterInfo, OCMF records, journal), a control-pilot board emulator on a pty and
the PLC link monitor supervise the session, and a local OCPP 2.0.1 CSMS receives the transaction. The meter runs
in simulated time (x120 by default): it integrates the charger's power over 120 x the elapsed time, so the
signed energy is that of a session of minutes taking seconds; the V2G messages (and the EV's battery model) run
in real time. `--fault` injects one fault mid-charge.

Exit status 0 only when the session ended as expected: without a fault, completed with every check passed
(OCMF records, MeterSignature, MeteringConfirmation, CSMS Started/Updated/Ended); with a fault, sealed exactly
once for that fault and the OCPP Ended event carrying the final signed reading.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from iso15118 import demo_artifacts as artifacts
from iso15118.demo_capture import KEYLOG, LoopbackCapture, can_capture
from iso15118.session.events import (Authorized, PowerDelivered, ServiceSelected, SessionEnded, SessionSealed,
                                     SessionStarted)

SERVICES = ("dc", "ac", "dc_bpt", "ac_bpt")
FAULTS = ("cp-e", "cp-f", "pwm-loss", "snr-drop", "tcp-cut", "csms-offline")
# The seal reason each fault must produce (supervision codes; the SECC machine's code for a lost connection).
FAULT_SEAL_REASON = {"cp-e": "CP_STATE_E", "cp-f": "CP_STATE_F", "pwm-loss": "CP_PWM_LOST",
                     "snr-drop": "PLC_LINK_LOST", "tcp-cut": "CONNECTION_LOST", "csms-offline": "normal"}
EV_MAC, EVSE_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
EVSE_ID = "DE*V2G*E0001"
_OUT_ENTRIES = ("pki", "data", artifacts.RECORDS, artifacts.PUBLIC_KEY, artifacts.CONFIRMATIONS,
                artifacts.CSMS_EVENTS, artifacts.PLOT, artifacts.SUMMARY, "trace-secc.jsonl", "trace-ev.jsonl",
                "session.pcap", KEYLOG)


@dataclass(frozen=True)
class DemoOptions:
    service: str = "dc_bpt"
    auth: str = "pnc"
    fault: str | None = None
    out: Path = Path("v2g-demo-out")
    time_scale: float = 120.0  # simulated meter seconds per real second
    charge_loops: int = 20
    discharge_loops: int = 10  # BPT services only
    loop_period: float = 0.1
    fault_after_loops: int = 8
    quiet: bool = False


def expected_end(fault: str | None) -> str:
    """The seal reason a run must end with."""
    return FAULT_SEAL_REASON.get(fault, "normal") if fault else "normal"


@dataclass
class Progress:
    quiet: bool
    start: float = field(default_factory=time.monotonic)

    def __call__(self, stage: str, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.start:6.2f} s] {stage:<8} {text}", flush=True)


def _prepare_out(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in _OUT_ENTRIES:  # only what an earlier demo run wrote there
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


class _Session:
    """What the demo watches during the run (EV and SECC sides), and the fault trigger."""

    def __init__(self, options: DemoOptions, progress: Progress, board, samples: artifacts.PlotSamples) -> None:
        self.options = options
        self.progress = progress
        self.board = board
        self.samples = samples
        self.loops = 0
        self.requests_seen: set[str] = set()
        self.fault_hook = None  # set by run_demo: injects the chosen fault
        self.faults: list[tuple[str, str]] = []

    def ev_trace(self, writer):
        """Trace hook on the EV: writes the trace, and plays the EV's pilot resistor (C while power flows)."""
        def hook(direction: str, payload_type: int, message, now: float) -> None:
            writer(direction, payload_type, message, now)
            if direction != "tx":
                return
            if message.name == "PowerDeliveryReq":
                progress = message.body.get("ChargeProgress")
                state = "C" if progress == "Start" else "B"
                self.board.plug(state)
                self.progress("V2G", f"PowerDeliveryReq {progress} (EV pilot state {state})")
            elif message.name not in self.requests_seen and not message.name.endswith("ChargeLoopReq"):
                self.progress("V2G", message.name)
            self.requests_seen.add(message.name)
        return hook

    def on_ev_event(self, event) -> None:
        if not isinstance(event, PowerDelivered):
            return
        self.loops += 1
        if self.loops == 1 or self.loops % 5 == 0:
            _, power, imported, exported = self.samples.rows[-1] if self.samples.rows else (0, 0.0, 0.0, 0.0)
            base_i, base_e = self.samples.base()
            self.progress("POWER", f"loop {self.loops:3d}: EV asks {event.power / 1000:7.1f} kW, meter "
                                   f"{power / 1000:7.1f} kW, imported {(imported - base_i) / 1000:6.2f} kWh, "
                                   f"exported {(exported - base_e) / 1000:5.2f} kWh")
        if self.loops == self.options.fault_after_loops and self.fault_hook is not None:
            hook, self.fault_hook = self.fault_hook, None
            hook()

    def on_secc_event(self, connector: int, event) -> None:
        if isinstance(event, SessionStarted):
            self.progress("SECC", f"session {event.session_id.hex()} started (EVCCID {event.evcc_id})")
        elif isinstance(event, Authorized):
            self.progress("AUTH", f"{event.method} authorized: {event.identity}"
                          + (" (contract signature and chain verified)" if event.method == "PnC" else ""))
        elif isinstance(event, ServiceSelected):
            self.progress("SECC", f"service {event.service}, {event.control_mode} control")
        elif isinstance(event, SessionSealed):
            self.progress("SEAL", f"metering session sealed ({event.reason}): final signed reading journaled")
        elif isinstance(event, SessionEnded):
            self.progress("SECC", f"session ended: {event.outcome}" + (f" ({event.code})" if event.code else ""))

    def on_fault(self, connector: int, code: str, detail: str) -> None:
        self.faults.append((code, detail))
        self.progress("FAULT", f"{code}: {detail} -> power off, seal, close TLS without answering")


def _ocpp_settings(url: str) -> dict:
    # Short back-off so the csms-offline run reconnects within the demo's seconds, not minutes.
    return {"csms_url": url, "station_id": "DEMO-CS1", "retry_back_off_wait_minimum": 0.2,
            "retry_back_off_random_range": 0.1, "retry_back_off_repeat_times": 1, "message_timeout": 10.0}


async def run_demo(options: DemoOptions) -> dict:
    from certs import PkiConfig, create_pki
    from iso15118.evcc import EvConfig, Evcc
    from iso15118.evcc.client import discover
    from iso15118.security.session_hooks import ContractSigner
    from iso15118.session.config import SeccConfig, Tariff, TaxRule
    from iso15118.session.pump import MachinePump
    from iso15118.session.tls_contexts import ev_context
    from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway
    from iso15118.trace import TraceWriter
    from iso15118.transport.v2gtp_asyncio import V2gtpStream
    from metering.ocpp import LocalCsms
    from slac import AsyncPowerline, LinkMonitorConfig, Matched, PowerlineConfig, SlacConfig, run_evse, run_pev, \
        watch_link
    from supervision import ControlPilotBoardEmulator, SerialControlPilot

    wall_start = time.monotonic()
    progress = Progress(options.quiet)
    out = options.out
    _prepare_out(out)
    bpt = options.service.endswith("_bpt")
    auth = "Plug & Charge" if options.auth == "pnc" else "EIM"
    progress("DEMO", f"ISO 15118-20 {options.service.upper()} with {auth}"
             f"{', fault ' + options.fault if options.fault else ''}; no hardware: virtual PLC modems, "
             "metrology chip emulator, control-pilot board emulator, local CSMS")
    progress("DEMO", f"meter in SIMULATED time x{options.time_scale:g} (1 s of session = "
                     f"{options.time_scale / 60:g} min metered); V2G messages and the EV battery in real time")
    pki = create_pki(out / "pki", PkiConfig(algorithm="secp521r1", profile="iso20"))
    progress("PKI", f"provisioned (-20 profile, P-521): V2G/MO/OEM roots, SECC, vehicle, contract {pki.emaid}")
    samples = artifacts.PlotSamples()
    notes: list[str] = []
    secc_trace_file = (out / "trace-secc.jsonl").open("w", encoding="utf-8")
    ev_trace_file = (out / "trace-ev.jsonl").open("w", encoding="utf-8")
    async with LocalCsms() as csms, AsyncPowerline(PowerlineConfig()) as plc, ControlPilotBoardEmulator() as board:
        progress("CSMS", f"local OCPP 2.0.1 CSMS (schema-validating) on {csms.url}")
        session = _Session(options, progress, board, samples)
        ev_link = plc.attach_memory("ev", EV_MAC)
        evse_link = plc.attach_memory("evse", EVSE_MAC, attenuation_db=8)
        pilot = SerialControlPilot(board.port)
        plc_watch = watch_link(plc.open_memory_link(evse_link.port),
                               LinkMonitorConfig(hold_time=2.0, poll_interval=0.2, response_timeout=1.0))
        site_config = SiteConfig(
            connectors=(ConnectorConfig(1, evse_id=EVSE_ID, sdp_port=0, services=(options.service,)),),
            data_dir=str(out / "data"), pki_dir=str(out / "pki"), meter_time_scale=options.time_scale,
            # A tariff, so that the charge loop carries Receipts the EV checks and signs.
            secc=SeccConfig(tariff=Tariff(energy_price=0.49, export_credit=0.15,
                                          tax_rules=(TaxRule(id=1, name="VAT", percent=19, included_in_price=True),))),
            tx_updated_interval_s=0.5, ocpp=_ocpp_settings(csms.url),
            # The emulated board reports every 5 ms, but on a loaded host the event loop (TLS, EXI, signatures)
            # can stall for far longer than the 50 ms default, a figure for a dedicated board reader.
            supervision={"silence_timeout_s": 2.0})
        site = SiteGateway(site_config, trace=TraceWriter(secc_trace_file, "secc"), on_event=session.on_secc_event,
                           on_fault=session.on_fault, overrides={1: {"board": pilot, "plc": plc_watch}},
                           on_meter_poll=samples.add)
        try:
            await site.start()
            evse = site.evses[1]
            progress("SECC", f"connector 1 ({EVSE_ID}) listening on [::1]:{evse.port} (TLS 1.3), SDP on UDP "
                             f"{evse.sdp_port}; pilot board on {board.port}, PWM 5 %")
            board.plug("B")
            progress("CP", "EV plugged in: pilot state B, 5 % PWM (digital communication)")
            slac_evse = asyncio.create_task(run_evse(evse_link, SlacConfig.shortened()))
            matched = await run_pev(ev_link, SlacConfig.shortened())
            await slac_evse
            if not isinstance(matched, Matched):
                raise RuntimeError(f"SLAC failed: {matched}")
            progress("SLAC", f"matched in {matched.match_time:.2f} s: NID {matched.nid.hex()}, attenuation "
                             f"{matched.attenuation_db:.0f} dB over {matched.num_sounds} sounds (in-memory powerline)")
            capture = None
            if can_capture():
                capture = LoopbackCapture(out, {evse.port, evse.sdp_port})
                capture.start()
                progress("PCAP", f"capturing loopback to {out / 'session.pcap'} (TLS keys in {out / KEYLOG})")
            else:
                notes.append("pcap/keylog skipped: capturing loopback needs root")
            host, port = await discover("lo", evse.sdp_port, tls=True)
            progress("SDP", f"SECC at [{host}]:{port}, security TLS (loopback mode)")
            ssl_context = ev_context(out / "pki")
            if capture is not None:
                ssl_context.keylog_filename = str(out / KEYLOG)
            ev_config = EvConfig(service=options.service, auth=options.auth, mode="scheduled",
                                 charge_loops=options.charge_loops,
                                 discharge_loops=options.discharge_loops if bpt else 0,
                                 loop_period=options.loop_period, tls=True)
            signer = None
            if options.auth == "pnc":
                signer = ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))
            # EIM: no contract, so the vehicle key (the TLS client certificate's) signs the MeteringConfirmation.
            metering_signer = signer or ContractSigner(pki.load_private_key("vehicle"), pki.load_chain("vehicle"))
            evcc = Evcc(ev_config, contract_signer=signer, metering_signer=metering_signer,
                        trace=session.ev_trace(TraceWriter(ev_trace_file, "ev")))
            loop = asyncio.get_running_loop()
            reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context)
            tls = writer.get_extra_info("ssl_object")
            secc_cn = tls.getpeercert()["subject"][-1][0][1] if tls.getpeercert() else "?"
            progress("TLS", f"{tls.version()} {tls.cipher()[0]}, SECC certificate '{secc_cn}' verified against "
                            "the V2G root, vehicle certificate presented (mutual authentication)")
            session.fault_hook = _fault_injector(options.fault, board, plc, evse_link.port, writer, csms, progress)
            await MachinePump(evcc, V2gtpStream(reader, writer), session.on_ev_event).run(evcc.start(loop.time()))
            ev_summary = evcc.summary()
            code = f" ({ev_summary['code']})" if ev_summary["code"] else ""
            progress("EV", f"session over: {ev_summary['outcome']}{code}")
            await asyncio.sleep(0.2)  # the SECC side notices the closed connection
            board.unplug()
            progress("CP", "EV unplugged: pilot state A")
            if options.fault == "csms-offline":
                await csms.start()
                progress("CSMS", "back online: the station replays its queue in order")
            await site.drain(timeout=30)
            if capture is not None:
                notes.append(f"pcap: {capture.stop()} packets captured on lo")
            result = _collect(options, site, evcc, ev_summary, csms, pki, samples, session, notes, out)
        finally:
            await site.close()
            pilot.close()
            secc_trace_file.close()
            ev_trace_file.close()
    result["wall_time_s"] = round(time.monotonic() - wall_start, 2)
    artifacts.write_summary(out, result)
    return result


def _fault_injector(fault, board, plc, evse_port, writer, csms, progress):
    if fault is None:
        return None

    def inject() -> None:
        progress("INJECT", {"cp-e": "short the pilot to PE (state E)", "cp-f": "board drives -12 V (state F)",
                            "pwm-loss": "PWM generator stops", "snr-drop": "SNR on the EVSE modem drops to 12 dB",
                            "tcp-cut": "TCP connection cut (reset, no TLS close_notify)",
                            "csms-offline": "CSMS goes offline"}[fault])
        if fault == "cp-e":
            board.short_to_pe()
        elif fault == "cp-f":
            board.board_fault_f()
        elif fault == "pwm-loss":
            board.break_pwm()
        elif fault == "snr-drop":
            plc.core.set_snr(evse_port, 12)
        elif fault == "tcp-cut":
            writer.transport.abort()
        elif fault == "csms-offline":
            asyncio.ensure_future(csms.stop())
    return inject


def _collect(options, site, evcc, ev_summary, csms, pki, samples, session, notes, out: Path) -> dict:
    meter = site.meters[1]
    sid = evcc.ctx.session_id.hex()
    readings = meter.session_readings(sid)
    seals = meter.journal.records(kind="session_seal", session_id=sid)
    seal = readings[-1] if readings and readings[-1].kind == "session_seal" else None
    seal_reason = seals[-1].body.get("reason") if seals else None
    records = [r.ocmf for r in readings]
    public_key = meter.public_key_der()
    artifacts.write_records(out, records, public_key)
    verified, verifier = artifacts.verify_records(records, public_key)
    ev_certificate = pki.load_certificate("contract" if options.auth == "pnc" else "vehicle")
    receipts = meter.journal.receipts(sid)
    confirmations_verified = artifacts.write_confirmations(out, receipts, ev_certificate)
    meter_signature_ok = artifacts.verify_meter_signature(evcc.ctx.last_meter_info, public_key)
    events = csms.events(sid)
    artifacts.write_csms_events(out, events)
    kinds = [e["eventType"] for e in events]
    ended = events[-1] if kinds and kinds[-1] == "Ended" else None
    ended_ocmf = _ended_signed_end(ended)
    skipped = artifacts.write_plot(out, samples, f"{options.service.upper()} session (meter, simulated time "
                                                 f"x{options.time_scale:g})")
    if skipped:
        notes.append(skipped)
    info = seal.meter_info if seal else None
    seq_nos = [e["seqNo"] for e in events]
    checks = {
        "sealed_exactly_once": len(seals) == 1,
        "seal_reason_expected": seal_reason == expected_end(options.fault),
        "ocmf_records_verified": bool(records) and verified == len(records),
        "meter_signature_verified": meter_signature_ok,
        "csms_started_and_ended": bool(kinds) and kinds[0] == "Started" and ended is not None,
        "ended_carries_final_signed_reading": seal is not None and ended_ocmf == seal.ocmf,
        "csms_seq_nos_complete": seq_nos == list(range(len(seq_nos))) and not csms.record.duplicates,
        "csms_no_schema_errors": not csms.record.call_errors,
    }
    if options.fault is None or options.fault == "csms-offline":
        checks["ev_completed"] = ev_summary["outcome"] == "completed"
        checks["csms_got_updated"] = "Updated" in kinds
        checks["metering_confirmation_verified"] = bool(receipts) and confirmations_verified == len(receipts)
    else:
        checks["ev_did_not_complete"] = ev_summary["outcome"] != "completed"
    if options.fault == "csms-offline":
        checks["offline_events_replayed"] = any(e.get("offline") for e in events)
    return {
        "ok": all(checks.values()), "checks": checks, "service": options.service, "auth": options.auth,
        "fault": options.fault, "time_scale": options.time_scale, "session_id": sid,
        "ev": ev_summary, "faults_reported": [code for code, _ in session.faults],
        "seal": {"reason": seal_reason, "count": len(seals), "ocmf": seal.ocmf if seal else None},
        "energy_kwh": {"import": info.charged_wh / 1000 if info else None,
                       "export": info.discharged_wh / 1000 if info and info.discharged_wh is not None else None},
        "receipts": {"ev_sent": ev_summary["metering_confirmations"], "journaled": len(receipts),
                     "verified": confirmations_verified},
        "verification": {"ocmf_records": len(records), "ocmf_verified": verified, "ocmf_verifier": verifier,
                         "meter_signature": meter_signature_ok, "metering_confirmation": confirmations_verified},
        "csms": {"events": kinds, "offline": sum(bool(e.get("offline")) for e in events),
                 "duplicates": len(csms.record.duplicates), "call_errors": csms.record.call_errors,
                 "ended_stopped_reason": (ended or {}).get("transactionInfo", {}).get("stoppedReason"),
                 "ended_trigger_reason": (ended or {}).get("triggerReason")},
        "out": str(out), "notes": notes,
    }


def _receipt_row(receipts: list[dict]) -> str:
    if not receipts:
        return "-"
    last, bad = receipts[-1], sum(not r["ok"] for r in receipts)
    return f"{last.get('total')} {last.get('currency')} ({len(receipts)} receipts, " \
           + ("all matched the prices)" if not bad else f"{bad} did NOT match the prices)")


def _ended_signed_end(ended: dict | None) -> str | None:
    """The OCMF record in the Ended event's Transaction.End sampled value, as the CSMS received it."""
    if ended is None:
        return None
    for meter_value in ended.get("meterValue", []):
        for sampled in meter_value["sampledValue"]:
            signed = sampled.get("signedMeterValue")
            if sampled.get("context") == "Transaction.End" and signed:
                return base64.b64decode(signed["signedMeterData"]).decode("utf-8")
    return None


def _table(result: dict) -> str:
    yes = lambda ok: "yes" if ok else "NO"  # noqa: E731
    v, c, csms = result["verification"], result["checks"], result["csms"]
    energy = result["energy_kwh"]
    rows = [
        ("outcome (EV)", f"{result['ev']['outcome']}" + (f" ({result['ev']['code']})" if result['ev']['code'] else "")),
        ("seal", f"{result['seal']['reason']} - sealed {result['seal']['count']}x"),
        ("energy imported (meter)", f"{energy['import']:.3f} kWh" if energy["import"] is not None else "-"),
        ("energy exported (meter)", f"{energy['export']:.3f} kWh" if energy["export"] is not None else "-"),
        ("charge loops", str(result["ev"]["charge_loops"])),
        ("MeteringConfirmation receipts", f"{result['receipts']['ev_sent']} sent by the EV, "
                                          f"{result['receipts']['journaled']} journaled"),
        ("OCMF records verified", f"{v['ocmf_verified']}/{v['ocmf_records']} ({v['ocmf_verifier']})"),
        ("MeterSignature verified", yes(v["meter_signature"])),
        ("MeteringConfirmation verified", f"{v['metering_confirmation']}/{result['receipts']['journaled']}"),
        ("Receipt (last, EV-checked)", _receipt_row(result["ev"].get("receipts") or [])),
        ("CSMS received", ", ".join(f"{k} x{csms['events'].count(k)}" for k in ("Started", "Updated", "Ended"))
         + (f"; {csms['offline']} sent offline=true" if csms["offline"] else "")),
        ("Ended carries final signed reading", yes(c["ended_carries_final_signed_reading"])
         + f" ({csms['ended_trigger_reason']}/{csms['ended_stopped_reason']})"),
        ("result", "OK" if result["ok"] else "FAILED: " + ", ".join(k for k, ok in c.items() if not ok)),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["", "Summary", "-" * (width + 40)] + [f"{k:<{width}}  {val}" for k, val in rows]
    lines += ["-" * (width + 40), f"session folder: {result['out']} ({result['wall_time_s']} s wall time)"]
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2g demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--service", choices=SERVICES, default="dc_bpt")
    p.add_argument("--auth", choices=("eim", "pnc"), default="pnc")
    p.add_argument("--fault", choices=FAULTS, help="inject this fault after a few charge loops")
    p.add_argument("--out", type=Path, default=Path("v2g-demo-out"), help="session folder (default ./v2g-demo-out)")
    p.add_argument("--time-scale", type=float, default=120.0, help="simulated meter seconds per real second")
    p.add_argument("--json", action="store_true", help="print only the summary, as one JSON object")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(message)s", stream=sys.stderr)
    options = DemoOptions(service=args.service, auth=args.auth, fault=args.fault, out=args.out,
                          time_scale=args.time_scale, quiet=args.json)
    try:
        result = asyncio.run(run_demo(options))
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(result))
    else:
        print(_table(result))
    return 0 if result["ok"] else 1
