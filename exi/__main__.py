"""Command line: `python -m exi encode [--schema S] [--fragment] [FILE|-]` prints hex;
`python -m exi decode --schema S [--fragment] HEX|-` prints XML. Bad input: exit status 2, one line on stderr."""
from __future__ import annotations

import argparse
import sys

from . import _xml, decode_element, encode
from ._codec import SCHEMAS
from .errors import INVALID_VALUE, ExiError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exi", description="ISO 15118 EXI codec")
    sub = ap.add_subparsers(dest="cmd", required=True)
    enc = sub.add_parser("encode", help="XML -> EXI hex (schema from the root namespace unless --schema)")
    enc.add_argument("--schema", help="one of " + ", ".join(SCHEMAS) + " or a namespace URI")
    enc.add_argument("--fragment", action="store_true", help="encode an EXI fragment (signature input)")
    enc.add_argument("input", nargs="?", default="-", help="XML file, or - for stdin")
    dec = sub.add_parser("decode", help="EXI hex -> XML")
    dec.add_argument("--schema", required=True, help="one of " + ", ".join(SCHEMAS) + " or a namespace URI")
    dec.add_argument("--fragment", action="store_true", help="decode an EXI fragment")
    dec.add_argument("input", nargs="?", default="-", help="hex string, or - for stdin")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "encode":
            if args.input == "-":
                text = sys.stdin.buffer.read()
            else:
                with open(args.input, "rb") as f:
                    text = f.read()
            print(encode(text, schema=args.schema, fragment=args.fragment).hex())
        else:
            text = sys.stdin.read() if args.input == "-" else args.input
            try:
                data = bytes.fromhex("".join(text.split()))
            except ValueError:
                raise ExiError(INVALID_VALUE, "input is not a hex string") from None
            qname, obj = decode_element(data, args.schema, args.fragment)
            uri, local = qname[1:].split("}")
            print(_xml.to_xml(obj, args.schema, (uri, local)))
    except ExiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror}: {e.filename}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
