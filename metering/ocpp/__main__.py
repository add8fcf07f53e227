"""`python -m metering.ocpp csms [--host H] [--port P] [--cert C --key K [--ca CA]]`: run the local CSMS and
print every call it receives as one JSON object per line (for the demo, manual runs and peers' tests)."""
from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys

from metering.ocpp.csms import LocalCsms


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m metering.ocpp", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    csms = sub.add_parser("csms", help="run the local OCPP 2.0.1 CSMS")
    csms.add_argument("--host", default="127.0.0.1")
    csms.add_argument("--port", type=int, default=9000)
    csms.add_argument("--cert", help="server certificate (PEM) for wss://")
    csms.add_argument("--key", help="server private key (PEM)")
    csms.add_argument("--ca", help="CA bundle: require station client certificates issued by it (profile 3)")
    csms.add_argument("--heartbeat-interval", type=int, default=300)
    return parser


async def _serve(args: argparse.Namespace) -> None:
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.ca:
            context.load_verify_locations(args.ca)
            context.verify_mode = ssl.CERT_REQUIRED

    def show(station: str, action: str, payload: dict) -> None:
        print(json.dumps({"station": station, "action": action, "payload": payload}), flush=True)

    async with LocalCsms(args.host, args.port, context, args.heartbeat_interval, on_call=show) as csms:
        print(json.dumps({"listening": csms.url}), flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(json.dumps({"error": "ERR_OCPP", "detail": str(exc)}), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
