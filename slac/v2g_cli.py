"""`v2g slac evse|pev|powerline`: run one SLAC role on an interface, or the virtual powerline.

Exit status: 0 on a match (evse/pev) or a clean stop (powerline), 1 when matching failed, 2 on bad usage.
Logs are JSON lines on stderr; `--json` prints the match result on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys

from slac.config import SlacConfig


def _config(args: argparse.Namespace) -> SlacConfig:
    config = SlacConfig.load(args.config) if args.config else SlacConfig()
    if args.fast:
        config = SlacConfig.shortened(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                                         if getattr(config, f.name) != f.default})
    overrides = {}
    types = {f.name: type(f.default) for f in dataclasses.fields(SlacConfig)}
    for item in args.set or []:
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"v2g slac: unknown setting {name!r} (known: {', '.join(types)})")
        overrides[name] = value.lower() in ("1", "true", "yes") if types[name] is bool else types[name](value)
    return dataclasses.replace(config, **overrides)


def _role_parser(sub, name: str, help_: str) -> None:
    p = sub.add_parser(name, help=help_)
    p.add_argument("-i", "--interface", required=True, help="interface of the host's PLC modem")
    p.add_argument("--json", action="store_true", help="print peer MAC, NID, attenuation and match time")
    p.add_argument("--config", help="SlacConfig as .json or .toml (ISO 15118-3 parameter names)")
    p.add_argument("--fast", action="store_true", help="shortened timers (virtual powerline, tests, demo)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override one setting, e.g. --set tt_evse_slac_init=20 (repeatable)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2g slac", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    _role_parser(sub, "evse", "EVSE side: wait for an EV and match it")
    _role_parser(sub, "pev", "EV side: find the EVSE with the lowest attenuation and match it")
    pl = sub.add_parser("powerline", help="virtual powerline: play each host's PLC modem, forward frames")
    pl.add_argument("--ev", required=True, metavar="IFACE", help="interface leading to the EV host")
    pl.add_argument("--evse", action="append", default=[], metavar="IFACE", help="interface leading to an "
                                                                                 "EVSE host (repeatable)")
    pl.add_argument("--attenuation", action="append", type=float, default=[], metavar="DB",
                    help="mean attenuation each EVSE's modem reports, in --evse order")
    pl.add_argument("--drop", type=float, default=0.0, metavar="P", help="probability of losing a frame")
    pl.add_argument("--snr", type=float, default=30.0, metavar="DB", help="SNR per carrier group")
    pl.add_argument("--noise", action="store_true", help="send QCA 0xA14E vendor frames during sounding")
    pl.add_argument("--set-key-result", type=lambda v: int(v, 0), default=0x01,
                    help="CM_SET_KEY.CNF result the modems send (0x01 like QCA firmware, or 0x00)")
    pl.add_argument("--seed", type=int, help="random seed (drops, profile jitter)")
    pl.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGTERM)")
    return p


async def _run_role(args: argparse.Namespace) -> int:
    from slac.aio import run_evse, run_pev
    from slac.link import RawEthernetLink
    from slac.machine import Matched

    config = _config(args)
    link = RawEthernetLink(args.interface)
    try:
        result = await (run_evse if args.command == "evse" else run_pev)(link, config)
    finally:
        link.close()
    if args.json:
        print(json.dumps(result.to_dict() if isinstance(result, Matched)
                         else {"code": result.code, "reason": result.reason}))
    return 0 if isinstance(result, Matched) else 1


async def _run_powerline(args: argparse.Namespace) -> int:
    from slac.powerline import PowerlineConfig
    from slac.powerline_aio import AsyncPowerline

    if args.attenuation and len(args.attenuation) != len(args.evse):
        raise SystemExit("v2g slac powerline: give one --attenuation per --evse")
    config = PowerlineConfig(drop=args.drop, snr_db=args.snr, noise=args.noise,
                             set_key_result=args.set_key_result, seed=args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncPowerline(config) as plc:
        plc.attach_interface(args.ev, "ev")
        for i, ifname in enumerate(args.evse):
            plc.attach_interface(ifname, "evse", attenuation_db=args.attenuation[i] if args.attenuation else None)
        logging.getLogger("slac").info(json.dumps({"event": "PowerlineReady", "ev": args.ev, "evse": args.evse}))
        try:
            await asyncio.wait_for(stop.wait(), args.duration)
        except TimeoutError:
            pass
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        if args.command == "powerline":
            return asyncio.run(_run_powerline(args))
        return asyncio.run(_run_role(args))
    except OSError as exc:
        print(json.dumps({"code": "SLAC_INTERFACE_ERROR", "message": str(exc)}), file=sys.stderr)
        return 1
