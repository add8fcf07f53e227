"""`meter-tool`: read, calibrate and inspect the metrology chip."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("meter-tool: not yet available", file=sys.stderr)
    return 2
