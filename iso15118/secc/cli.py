"""`v2g secc`: the EVSE daemon. Serves ISO 15118-20 sessions (SDP + TCP/TLS) until stopped or N sessions."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys

from certs import CertificateError
from iso15118.session.config import SERVICE_IDS, ConfigError, SeccConfig, load_config
from iso15118.session.events import SessionEnded, SessionSealed
from iso15118.trace import TraceWriter

from .plug_and_charge import plug_and_charge_hooks
from .server import SeccServer
from .station import Station


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2g secc", description=__doc__)
    p.add_argument("-i", "--interface", default=None, help="interface for SDP and TCP ('lo' = loopback)")
    p.add_argument("--loopback", action="store_true", help="same as -i lo")
    p.add_argument("--config", help="SeccConfig as JSON or TOML")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls", dest="tls", action="store_true", default=None, help="TLS 1.3 (default)")
    tls.add_argument("--no-tls", dest="tls", action="store_false", help="plain TCP (testing only)")
    p.add_argument("--pki", help="PKI directory made by 'v2g pki create'")
    p.add_argument("--tls-profile", default="iso20", choices=("iso20", "compat"))
    p.add_argument("--trust", nargs="*", default=[], help="extra PEM roots accepted for vehicle certificates")
    p.add_argument("--revocation", default="soft", choices=("off", "soft", "hard"),
                   help="vehicle chain revocation against the PKI's crl/ folder [V2G20-2432]: soft refuses a "
                        "revoked certificate and accepts when no fresh CRL is there (logged); hard refuses that too")
    p.add_argument("--services", help="comma list of dc,ac,dc_bpt,ac_bpt")
    p.add_argument("--certificate-installation", action="store_true",
                   help="offer CertificateInstallation (emulated CPS/eMSP from the --pki directory)")
    p.add_argument("--sessions", type=int, help="exit after this many sessions")
    p.add_argument("--port", type=int, help="TCP/TLS port (default: any free port, announced by SDP)")
    p.add_argument("--sdp-port", type=int, default=15118, help="UDP port of the SDP server (0 = any)")
    p.add_argument("--no-sdp", action="store_true", help="do not answer SDP")
    p.add_argument("--trace", help="write the decoded message trace (JSON lines) to this file")
    p.add_argument("--keylog", help="append TLS secrets (SSLKEYLOGFILE format) for decrypting captures")
    p.add_argument("--json", action="store_true", help="print a JSON summary when done")
    return p


def _config(args) -> SeccConfig:
    config = load_config(SeccConfig, args.config) if args.config else SeccConfig()
    changes = {}
    interface = "lo" if args.loopback else args.interface
    if interface:
        changes["interface"] = interface
    if args.tls is not None:
        changes["tls"] = args.tls
    if args.pki:
        changes["pki_dir"] = args.pki
    if args.services:
        services = tuple(s.strip() for s in args.services.split(",") if s.strip())
        unknown = [s for s in services if s not in SERVICE_IDS]
        if unknown:
            raise ConfigError(f"unknown services {unknown}; known: {sorted(SERVICE_IDS)}")
        changes["services"] = services
    if args.sessions is not None:
        changes["sessions"] = args.sessions
    if args.certificate_installation:
        changes["certificate_installation"] = True
    if args.port is not None:
        changes["port"] = args.port
    return dataclasses.replace(config, **changes)


async def serve(config: SeccConfig, args) -> dict:
    ssl_context = None
    if config.tls:
        if not config.pki_dir:
            raise ConfigError("--tls needs --pki DIR (or pki_dir in the config); use --no-tls for plain TCP")
        from iso15118.session.tls_contexts import secc_context
        ssl_context = secc_context(config.pki_dir, args.tls_profile, tuple(args.trust), args.keylog,
                                   args.revocation)
    trace_file = open(args.trace, "a") if args.trace else None
    outcomes: list[dict] = []

    def on_event(event) -> None:
        if isinstance(event, SessionEnded):
            outcomes.append({"outcome": event.outcome, "code": event.code, "reason": event.reason})
        elif isinstance(event, SessionSealed):
            print(json.dumps({"event": "session_sealed", "session_id": event.session_id.hex(),
                              "reason": event.reason, "meter_info": event.meter_info}), flush=True)

    station = Station(config, **plug_and_charge_hooks(config.pki_dir))
    server = SeccServer(station, interface=config.interface, port=config.port, ssl_context=ssl_context,
                        sdp_port=None if args.no_sdp else args.sdp_port, max_sessions=config.sessions,
                        trace=TraceWriter(trace_file, "secc") if trace_file else None, on_event=on_event)
    async with server:
        print(json.dumps({"event": "listening", "interface": config.interface, "port": server.port,
                          "tls": ssl_context is not None, "sdp_port": server.sdp_bound_port}),
              flush=True)
        await server.wait()
    if trace_file:
        trace_file.close()
    return {"sessions": len(outcomes), "outcomes": outcomes}


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        config = _config(args)
        summary = asyncio.run(serve(config, args))
    except (ConfigError, CertificateError) as exc:
        print(json.dumps({"error": exc.code, "detail": str(exc)}), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(json.dumps({"error": "ERR_SECC_IO", "detail": str(exc)}), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary))
    return 0
