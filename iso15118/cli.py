"""`v2g` command line: dispatches each sub-command to the module that owns it.

Each sub-command module exposes `main(argv: list[str]) -> int` with its own argparse parser, so the packages
stay independent and a sub-command is only imported when it runs.
"""
from __future__ import annotations

import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("iso15118.demo", "run a complete simulated bidirectional charging session"),
    "secc": ("iso15118.secc.cli", "run the EVSE daemon (SDP + TLS + ISO 15118-20 sessions)"),
    "ev": ("iso15118.evcc.cli", "run the EV emulator for one session"),
    "pki": ("certs.cli", "create, show and verify ISO 15118-20 PKIs"),
    "slac": ("slac.v2g_cli", "run a SLAC role or the virtual powerline"),
    "trace": ("iso15118.trace", "decode a pcap or hex dump into a message trace"),
}


def _usage() -> str:
    lines = ["usage: v2g <command> [options]", "", "commands:"]
    lines += [f"  {name:<7} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'v2g <command> --help' for the options of a command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"v2g: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name = SUBCOMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            print(f"v2g {name}: not yet available", file=sys.stderr)
            return 2
        raise
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
