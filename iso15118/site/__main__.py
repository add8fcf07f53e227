"""`python -m iso15118.site --config site.toml`: run the site gateway until SIGTERM / SIGINT.

Prints one JSON line per connector when it listens ({"event": "listening", "connector", "port", "sdp_port",
"station_id"}), then one per session event worth logging (sealed, ended, fault).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from iso15118.session.config import ConfigError
from iso15118.session.events import SessionEnded, SessionSealed

from .config import SiteConfig
from .gateway import SiteGateway


def _print(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def _on_event(connector: int, event) -> None:
    if isinstance(event, SessionSealed):
        _print({"event": "session_sealed", "connector": connector, "session_id": event.session_id.hex(),
                "reason": event.reason})
    elif isinstance(event, SessionEnded):
        _print({"event": "session_ended", "connector": connector, "outcome": event.outcome, "code": event.code})


def _on_fault(connector: int, code: str, detail: str) -> None:
    _print({"event": "fault", "connector": connector, "code": code, "detail": detail})


async def serve(config: SiteConfig) -> None:
    async with SiteGateway(config, on_event=_on_event, on_fault=_on_fault) as site:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(site.close()))
        for connector in config.connectors:
            evse = site.evses[connector.id]
            _print({"event": "listening", "connector": connector.id, "port": evse.port,
                    "sdp_port": evse.sdp_port, "station_id": config.station_id(connector),
                    "recovered": evse.recovered})
        await site.wait_closed()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso15118.site", description=__doc__)
    parser.add_argument("--config", required=True, help="SiteConfig as TOML or JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        config = SiteConfig.from_file(args.config)
        asyncio.run(serve(config))
    except (ConfigError, ValueError) as exc:
        print(json.dumps({"error": getattr(exc, "code", "ERR_CONFIG_INVALID"), "detail": str(exc)}),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
