"""`v2g slac evse|pev|modem|powerline`: run one SLAC role on an interface, or play the PLC modems.

  evse -i IFACE       EVSE side: load a fresh NMK into the modem, wait for an EV, match it
  pev -i IFACE        EV side: sound, pick the EVSE with the lowest attenuation, match it, join its AVLN
  modem -i IFACE --wire IFACE
                      one virtual QCA7000-like modem for the host behind IFACE; every modem's --wire sits on
                      one shared segment (a bridge): that segment is the powerline
  powerline --ev IFACE --evse IFACE...
                      all modems and the medium in one process

Exit status: 0 on a match (evse/pev) or a clean stop (modem/powerline on SIGINT/SIGTERM or --duration), 1 when
matching failed or an interface cannot be opened, 2 on bad usage. Logs are JSON lines on stderr; `--json`
prints the match result (evse/pev) or one line per modem event (modem) on stdout.
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
from v2gbase.jsonlog import log_json

MODEM_HELP = """One virtual HomePlug Green PHY modem, as a QCA7000 sits between its host and the powerline.

It answers its host's CM_SET_KEY.REQ (result 0x01, as QCA firmware) and the Qualcomm vendor queries
(VS_SW_VER, VS_NW_INFO, VS_PL_LINK_STATUS, VS_LNK_STATS, VS_RX_TONE_MAP_CHAR: what `v2g-plc-tool --stats`
reads), carries every other frame of the host onto the wire, and passes up what other modems carry: SLAC
frames from any station, data (IPv6) only within its AVLN (the same NMK after CM_SET_KEY). Each
CM_MNBC_SOUND.IND from a remote station reaches the host followed by a CM_ATTEN_PROFILE.IND with this modem's
--attenuation (58 groups, tilted across the band, +-1 dB jitter). Modems beacon their NID on the wire (every
50 ms by default, beacon_interval); a station unheard for peer_timeout (0.3 s) has left the AVLN.

Example (one namespace per modem, the wire ends on one bridge):
  v2g slac modem -i veth-ev --wire wire-ev --json
  v2g slac modem -i veth-evse1 --wire wire-evse1 --attenuation 6
  v2g slac modem -i veth-evse2 --wire wire-evse2 --attenuation 14 --drop 0.1
"""


def _load(cls, path: str | None, **overrides):
    """The configuration dataclass from `path` (or defaults); a bad file ends the command with status 2."""
    try:
        return cls.load(path, **overrides) if path else cls(**overrides)
    except ValueError as exc:
        print(json.dumps({"code": "SLAC_CONFIG_ERROR", "message": str(exc)}), file=sys.stderr)
        raise SystemExit(2) from None


def _config(args: argparse.Namespace) -> SlacConfig:
    config = _load(SlacConfig, args.config)
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
    pl = sub.add_parser("powerline", help="virtual powerline in one process: play each host's PLC modem, "
                                          "forward frames between them")
    pl.add_argument("--ev", required=True, metavar="IFACE", help="interface leading to the EV host")
    pl.add_argument("--evse", action="append", default=[], metavar="IFACE", help="interface leading to an "
                                                                                 "EVSE host (repeatable)")
    pl.add_argument("--attenuation", action="append", type=float, default=[], metavar="DB",
                    help="mean attenuation each EVSE's modem reports, in --evse order")
    _modem_options(pl)
    modem = sub.add_parser("modem", help="one virtual PLC modem (QCA7000-like) between a host interface and a "
                                         "shared wire; run one per host",
                           description=MODEM_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    modem.add_argument("-i", "--interface", required=True, metavar="IFACE",
                       help="interface leading to this modem's host (the host's eth0 to its QCA7000)")
    modem.add_argument("--wire", required=True, metavar="IFACE",
                       help="interface on the segment (bridge) all modems share: the powerline")
    modem.add_argument("--attenuation", type=float, metavar="DB",
                       help="mean attenuation of the profile reported per M-sound heard (default 8)")
    modem.add_argument("--json", action="store_true", help="one JSON line per event on stdout (ModemReady, "
                                                           "KeySet, StationJoined/Left, AttenProfile, ...)")
    modem.add_argument("--config", help="WireModemConfig as .json or .toml (options given here win)")
    _modem_options(modem)
    return p


def _modem_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--drop", type=float, metavar="P", help="probability of losing a frame")
    p.add_argument("--snr", type=float, metavar="DB", help="SNR per carrier group (default 30)")
    p.add_argument("--noise", action="store_true", help="send QCA 0xA14E vendor frames during sounding")
    p.add_argument("--set-key-result", type=lambda v: int(v, 0),
                   help="CM_SET_KEY.CNF result (0x01 like QCA firmware, the default, or 0x00)")
    p.add_argument("--seed", type=int, help="random seed (drops, profile jitter)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGINT/SIGTERM)")


def _modem_settings(args: argparse.Namespace) -> dict:
    names = {"drop": "drop", "snr": "snr_db", "set_key_result": "set_key_result", "seed": "seed"}
    settings = {field: getattr(args, option) for option, field in names.items() if getattr(args, option) is not None}
    return {**settings, "noise": True} if args.noise else settings


async def _until_stopped(duration: float | None) -> None:
    """Until SIGINT/SIGTERM (or `duration`): a clean stop, exit status 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        pass


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
    async with AsyncPowerline(_load(PowerlineConfig, None, **_modem_settings(args))) as plc:
        plc.attach_interface(args.ev, "ev")
        for i, ifname in enumerate(args.evse):
            plc.attach_interface(ifname, "evse", attenuation_db=args.attenuation[i] if args.attenuation else None)
        logging.getLogger("slac").info(json.dumps({"event": "PowerlineReady", "ev": args.ev, "evse": args.evse}))
        await _until_stopped(args.duration)
    return 0


async def _run_modem(args: argparse.Namespace) -> int:
    from slac.wire import ModemEvent, WireModemConfig
    from slac.wire_aio import AsyncWireModem

    settings = _modem_settings(args)
    if args.attenuation is not None:
        settings["attenuation_db"] = args.attenuation
    config = _load(WireModemConfig, args.config, **settings)
    log = logging.getLogger("slac")

    def report(event: ModemEvent) -> None:
        record = {"role": "modem", **event.to_dict()}
        if args.json:
            print(json.dumps(record, sort_keys=True), flush=True)
        else:
            log_json(log, logging.INFO, record)

    async with AsyncWireModem(args.interface, args.wire, config, on_event=report) as modem:
        report(ModemEvent("ModemReady", {"interface": args.interface, "wire": args.wire,
                                         "modem_mac": modem.core.modem_mac, "attenuation_db": config.attenuation_db,
                                         "snr_db": config.snr_db}))
        await _until_stopped(args.duration)
        report(ModemEvent("ModemStopped", dict(modem.core.modem.counters)))
    return 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        if args.command == "powerline":
            return asyncio.run(_run_powerline(args))
        if args.command == "modem":
            return asyncio.run(_run_modem(args))
        return asyncio.run(_run_role(args))
    except OSError as exc:
        print(json.dumps({"code": "SLAC_INTERFACE_ERROR", "message": str(exc)}), file=sys.stderr)
        return 1
