"""Feed random and mutated streams to every decoder; anything but ExiError is a bug, and so is any
disagreement between the compiled fast path and the reference interpreter.

    python -m exi.fuzz [--iterations N] [--seed S] [--vectors DIR]

Seeds are the streams in DIR/*.jsonl (the shared vectors) plus random bodies after the 0x80 header."""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import sys
import traceback

from ._codec import SCHEMAS, load
from .errors import ExiError


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        if op == 0 and b:  # flip a bit
            i = rng.randrange(len(b) * 8)
            b[i >> 3] ^= 0x80 >> (i & 7)
        elif op == 1 and b:  # truncate
            del b[rng.randrange(len(b)):]
        elif op == 2:  # insert random octets
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and b:  # overwrite an octet
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 4 and len(b) > 2:  # duplicate a slice
            i = rng.randrange(len(b))
            b[i:i] = b[i:i + rng.randint(1, 16)]
    if b and rng.random() < 0.9:
        b[0] = 0x80  # keep the header most of the time so the grammar code gets exercised
    return bytes(b)


def load_seeds(folder: str | None) -> list[bytes]:
    seeds = []
    if folder:
        for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    hx = json.loads(line).get("exi_hex", "")
                    if hx.startswith("80"):
                        seeds.append(bytes.fromhex(hx))
    return seeds


def run(iterations: int, seed: int = 0, seeds: list[bytes] | None = None) -> list[tuple[str, bool, bytes, str]]:
    """Returns the failures: (schema, fragment, input, traceback) for every non-ExiError outcome."""
    rng = random.Random(seed)
    seeds = list(seeds or [])
    sets = [load(name) for name in SCHEMAS]
    failures = []
    for _ in range(iterations):
        if seeds and rng.random() < 0.8:
            data = mutate(rng, rng.choice(seeds))
        else:
            data = b"\x80" + rng.randbytes(rng.randint(0, 64))
        ss = rng.choice(sets)
        fragment = rng.random() < 0.3
        try:
            fast = ss.decode(data, fragment)  # compiled fast path with interpreter fallback
        except ExiError as e:
            fast = ("error", e.code)
        except Exception:  # noqa: BLE001 - the point of a fuzzer is to catch everything else
            failures.append((ss.name, fragment, data, traceback.format_exc()))
            continue
        try:
            reference = ss.decode_with_element(data, fragment)[1]  # the interpreter alone
        except ExiError as e:
            reference = ("error", e.code)
        except Exception:  # noqa: BLE001
            failures.append((ss.name, fragment, data, traceback.format_exc()))
            continue
        if fast != reference:
            failures.append((ss.name, fragment, data, f"fast path gave {fast!r}, interpreter {reference!r}"))
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exi.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectors", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "vectors"))
    args = ap.parse_args(argv)
    failures = run(args.iterations, args.seed, load_seeds(args.vectors))
    for schema, fragment, data, tb in failures[:10]:
        print(f"{schema} fragment={fragment} input={data.hex()}\n{tb}")
    print(f"{args.iterations} inputs, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
