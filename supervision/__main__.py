"""Control-pilot tools (bring-up and manual tests), one JSON object per output line.

    python -m supervision emulate                      the board on a pty; prints {"port": ...}; stdin commands:
                                                       plug A|B|C|D · unplug · short on|off · f on|off ·
                                                       pwm-break on|off · diode on|off · level <mV>|none ·
                                                       silent on|off · corrupt <n>
    python -m supervision watch PORT [--duty 5] [--session] [--exit-on-fault] [--config FILE]
                                                       read a board (real or emulated), print pilot events;
                                                       exit status 3 on a fault with --exit-on-fault
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from supervision.config import SupervisionConfig
from supervision.cp_emulator import ControlPilotBoardEmulator
from supervision.cp_serial import SerialControlPilot
from supervision.errors import SupervisionError
from supervision.events import Fault, PilotStateChanged
from supervision.session import SessionSupervisor

EXIT_FAULT = 3


def _print(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def _apply(board: ControlPilotBoardEmulator, words: list[str]) -> None:
    on = len(words) > 1 and words[1] == "on"
    actions = {
        "plug": lambda: board.plug(words[1].upper()),
        "unplug": board.unplug,
        "short": lambda: board.short_to_pe(on),
        "f": lambda: board.board_fault_f(on),
        "pwm-break": lambda: board.break_pwm(on),
        "diode": lambda: board.remove_diode(not on),
        "level": lambda: board.force_high_level(None if words[1] == "none" else int(words[1])),
        "silent": lambda: board.go_silent(on),
        "corrupt": lambda: board.corrupt_frames(int(words[1])),
    }
    if not words or words[0] not in actions or (words[0] == "plug" and words[1].upper() not in "ABCD"):
        raise ValueError(f"unknown command {' '.join(words)!r}")
    actions[words[0]]()


async def _emulate(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with ControlPilotBoardEmulator(period_s=args.period) as board:
        _print({"port": board.port})
        while line := await reader.readline():
            try:
                _apply(board, line.decode().split())
                _print({"ok": line.decode().strip()})
            except (ValueError, IndexError) as exc:
                _print({"error": str(exc)})
    return 0


async def _watch(args: argparse.Namespace) -> int:
    board = SerialControlPilot(args.port)
    faulted = asyncio.Event()

    def on_event(event: PilotStateChanged | Fault) -> None:
        if isinstance(event, PilotStateChanged):
            r = event.reading
            _print({"event": "pilot", "state": r.name, "duty_percent": r.duty_percent,
                    "digital_communication": r.digital_communication, "at": round(event.at, 3)})
        else:
            _print({"event": "fault", "code": event.code, "detail": event.detail, "at": round(event.at, 3)})

    def on_fault(code: str, detail: str) -> None:
        faulted.set()

    try:
        config = SupervisionConfig.from_file(args.config) if args.config else SupervisionConfig()
        async with SessionSupervisor(pilot=board.measurements(), on_fault=on_fault, on_event=on_event,
                                     config=config) as sup:
            if args.duty is not None:
                await board.set_duty(args.duty)
                sup.expect_pwm(0 < args.duty < 100)
            if args.session:
                sup.begin_session()
            await faulted.wait() if args.exit_on_fault else asyncio.Event().wait()
            return EXIT_FAULT
    finally:
        board.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m supervision", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    emulate = sub.add_parser("emulate", help="run the control-pilot board emulator on a pty")
    emulate.add_argument("--period", type=float, default=0.01, help="seconds between measurement frames")
    watch = sub.add_parser("watch", help="watch a control-pilot board and print events")
    watch.add_argument("port")
    watch.add_argument("--duty", type=float, help="PWM duty to command first (5 = digital communication)")
    watch.add_argument("--session", action="store_true", help="arm fault reporting as in a charging session")
    watch.add_argument("--exit-on-fault", action="store_true")
    watch.add_argument("--config", help="SupervisionConfig file (JSON or TOML)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_emulate(args) if args.command == "emulate" else _watch(args))
    except KeyboardInterrupt:
        return 0
    except (SupervisionError, OSError) as exc:
        _print({"error": getattr(exc, "code", "ERR_SUPERVISION"), "detail": str(exc)})
        return 1


if __name__ == "__main__":
    sys.exit(main())
