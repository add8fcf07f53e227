"""`v2g-plc-tool`: inspect PLC modems and HomePlug captures."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("v2g-plc-tool: not yet available", file=sys.stderr)
    return 2
