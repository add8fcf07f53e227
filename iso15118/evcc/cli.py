"""`v2g ev`: the EV emulator. Runs one ISO 15118-20 session (SDP, TCP/TLS) and exits 0 only when it ended
normally with SessionStopRes OK."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys

from certs import CertificateError
from iso15118.session.config import SERVICE_IDS, ConfigError, EvConfig, load_config
from iso15118.session.tls_contexts import key_password
from iso15118.trace import TraceWriter
from iso15118.transport.errors import TransportError

from .client import discover, run_session
from .faults import parse_fault
from .machine import Evcc


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2g ev", description=__doc__)
    p.add_argument("-i", "--interface", default=None, help="interface for SDP and TCP ('lo' = loopback)")
    p.add_argument("--loopback", action="store_true", help="same as -i lo")
    p.add_argument("--config", help="EvConfig as JSON or TOML (battery, limits, loops, ...)")
    p.add_argument("--service", choices=sorted(SERVICE_IDS))
    p.add_argument("--auth", choices=("eim", "pnc"))
    p.add_argument("--mode", choices=("scheduled", "dynamic"))
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls", dest="tls", action="store_true", default=None, help="TLS 1.3 (default)")
    tls.add_argument("--no-tls", dest="tls", action="store_false", help="plain TCP (testing only)")
    p.add_argument("--pki", help="PKI directory made by 'v2g pki create' (vehicle certificate)")
    p.add_argument("--trust", nargs="*", default=[], help="extra PEM roots trusted for the SECC certificate")
    p.add_argument("--tls-profile", default="iso20", choices=("iso20", "compat"))
    p.add_argument("--host", help="SECC address (skips SDP); needs --port")
    p.add_argument("--port", type=int, help="SECC TCP/TLS port when --host is given")
    p.add_argument("--sdp-port", type=int, default=15118, help="UDP port of the SECC's SDP server")
    p.add_argument("--install-contract", action="store_true",
                   help="PnC: obtain the contract by CertificateInstallation (OEM provisioning key of --pki)")
    p.add_argument("--charge-loops", type=int)
    p.add_argument("--discharge-loops", type=int)
    p.add_argument("--pause", action="store_true", help="end with SessionStop(Pause); prints the SessionID")
    p.add_argument("--resume", metavar="SESSION_ID", help="resume the paused session with this SessionID (hex)")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="inject a fault: late:<Req>:<s>, wrong-sequence:<Req>, drop-tcp:<Req>, bad-signature:<Req>")
    p.add_argument("--reject-bad-receipts", action="store_true",
                   help="a Receipt that does not match the offered prices and its MeterInfo is not signed and "
                        "stops the session (it is always reported in the summary's receipts)")
    p.add_argument("--expect", choices=("completed", "paused", "failed", "timeout", "aborted"),
                   help="outcome that counts as success (default: completed, or paused with --pause)")
    p.add_argument("--trace", help="write the decoded message trace (JSON lines) to this file")
    p.add_argument("--keylog", help="append TLS secrets (SSLKEYLOGFILE format) for decrypting captures")
    p.add_argument("--json", action="store_true", help="print the session summary as one JSON object")
    return p


def _config(args) -> EvConfig:
    config = load_config(EvConfig, args.config) if args.config else EvConfig()
    fields = {"service": args.service, "auth": args.auth, "mode": args.mode, "tls": args.tls,
              "pki_dir": args.pki, "charge_loops": args.charge_loops, "discharge_loops": args.discharge_loops,
              "resume_session_id": args.resume, "interface": "lo" if args.loopback else args.interface}
    changes = {k: v for k, v in fields.items() if v is not None}
    if args.pause:
        changes["stop_with"] = "Pause"
    if args.reject_bad_receipts:
        changes["reject_bad_receipts"] = True
    if args.trust:
        changes["trust"] = tuple(args.trust)
    if args.fault:
        for spec in args.fault:
            parse_fault(spec)
        changes["faults"] = tuple(args.fault)
    return dataclasses.replace(config, **changes)


def _plug_and_charge(config: EvConfig, install: bool) -> dict:
    """PnC credentials from the PKI directory: the contract key and chain, or the OEM provisioning key to have
    a contract installed. With EIM over TLS the vehicle key signs the MeteringConfirmation (the SECC checks it
    against the vehicle certificate the EV presented in TLS)."""
    if config.auth != "pnc":
        return _vehicle_metering_signer(config.pki_dir) if config.tls and config.pki_dir else {}
    if not config.pki_dir:
        raise ConfigError("--auth pnc needs --pki DIR (contract or OEM provisioning credentials)")
    from certs import Pki
    from iso15118.security.session_hooks import ContractInstaller, ContractSigner
    pki = Pki.load(config.pki_dir)
    if install:
        return {"contract_installer": ContractInstaller(
            pki.load_private_key("oem_prov", key_password()), pki.load_chain("oem_prov"),
            [pki.load_certificate("v2g_root")], pki.pcid, pki.profile)}
    return {"contract_signer": ContractSigner(pki.load_private_key("contract", key_password()),
                                              pki.load_chain("contract"))}


def _vehicle_metering_signer(pki_dir: str) -> dict:
    from certs import Pki
    from iso15118.security.session_hooks import ContractSigner
    pki = Pki.load(pki_dir)
    return {"metering_signer": ContractSigner(pki.load_private_key("vehicle", key_password()),
                                              pki.load_chain("vehicle"))}


async def drive(config: EvConfig, args) -> dict:
    ssl_context = None
    if config.tls:
        if not config.pki_dir:
            raise ConfigError("--tls needs --pki DIR (vehicle certificate); use --no-tls for plain TCP")
        from iso15118.session.tls_contexts import ev_context
        ssl_context = ev_context(config.pki_dir, config.trust, args.tls_profile, args.keylog)
    if args.host:
        if args.port is None:
            raise ConfigError("--host needs --port")
        host, port = args.host, args.port
    else:
        host, port = await discover(config.interface, args.sdp_port, config.tls)
    trace_file = open(args.trace, "a") if args.trace else None
    evcc = Evcc(config, trace=TraceWriter(trace_file, "ev") if trace_file else None,
                **_plug_and_charge(config, args.install_contract))
    try:
        return await run_session(evcc, host, port, ssl_context=ssl_context)
    finally:
        if trace_file:
            trace_file.close()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        config = _config(args)
        summary = asyncio.run(drive(config, args))
    except (ConfigError, CertificateError) as exc:
        print(json.dumps({"error": exc.code, "detail": str(exc)}), file=sys.stderr)
        return 2
    except TransportError as exc:
        summary = {"outcome": "aborted", "code": exc.code, "reason": str(exc), "messages": 0}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['outcome']}: {summary.get('reason', '')} "
              f"(session {summary.get('session_id')}, {summary.get('charge_loops', 0)} loops, "
              f"energy {summary.get('energy_wh')})")
        receipts = summary.get("receipts") or []
        if receipts:
            last = receipts[-1]
            print(f"receipts: {len(receipts)}, {sum(not r['ok'] for r in receipts)} not matching the prices; "
                  f"last total {last.get('total')} {last.get('currency')}")
    expected = args.expect or ("paused" if config.stop_with == "Pause" else "completed")
    return 0 if summary["outcome"] == expected else 1
