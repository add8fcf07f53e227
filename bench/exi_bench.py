"""EXI codec speed: µs per encode and per decode for four typical -20 messages, and the same operations through
the PyPI `iso15118` package (EXIficient in Java via py4j) when its virtual environment exists.

    python bench/exi_bench.py [--josev-python PYTHON] [--seconds 0.5]

PYTHON defaults to the first of /tmp/josev-venv/bin/python and /tmp/exi-josev-venv/bin/python that exists
(create one with: python -m venv /tmp/josev-venv && /tmp/josev-venv/bin/pip install iso15118==0.31.2 aiofile;
EXIficient needs Java 17).

The baseline runs in its own venv (its top-level package is also named `iso15118`): a subprocess decodes each of
our streams with EXIficient to its JSON form and times EXIficient's decode and encode of that JSON."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import exi  # noqa: E402
from exi.generated import iso20, iso20_dc, xmldsig  # noqa: E402
from exi.generated.iso20_types import MessageHeader, MeterInfo, RationalNumber  # noqa: E402

SID = bytes.fromhex("5a2cde53f701d4ac")
C14N = "http://www.w3.org/TR/canonical-exi/"


def messages():
    header = MessageHeader(SessionID=SID, TimeStamp=1718607534)
    setup = iso20.SessionSetupReq(Header=header, EVCCID="WMIV1234567890ABCDEX")
    loop_req = iso20_dc.DC_ChargeLoopReq(
        Header=header, MeterInfoRequested=False, EVPresentVoltage=RationalNumber(Exponent=0, Value=400),
        BPT_Scheduled_DC_CLReqControlMode=iso20_dc.BPT_Scheduled_DC_CLReqControlMode(
            EVTargetCurrent=RationalNumber(Exponent=0, Value=20), EVTargetVoltage=RationalNumber(Exponent=0, Value=400)))
    loop_res = iso20_dc.DC_ChargeLoopRes(
        Header=header, ResponseCode="OK",
        MeterInfo=MeterInfo(MeterID="METER-0001", ChargedEnergyReadingWh=123456789, BPT_DischargedEnergyReadingWh=4321,
                            MeterSignature=bytes(range(64)), MeterStatus=0, MeterTimestamp=1718607543),
        EVSEPresentCurrent=RationalNumber(Exponent=-2, Value=2000), EVSEPresentVoltage=RationalNumber(Exponent=-1, Value=4000),
        EVSEPowerLimitAchieved=False, EVSECurrentLimitAchieved=False, EVSEVoltageLimitAchieved=False,
        Scheduled_DC_CLResControlMode=iso20_dc.Scheduled_DC_CLResControlMode())
    signature = xmldsig.Signature(
        SignedInfo=xmldsig.SignedInfo(
            CanonicalizationMethod=xmldsig.CanonicalizationMethod(Algorithm=C14N),
            SignatureMethod=xmldsig.SignatureMethod(Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"),
            Reference=[xmldsig.Reference(
                URI="#id1", Transforms=xmldsig.Transforms(Transform=[xmldsig.Transform(Algorithm=C14N)]),
                DigestMethod=xmldsig.DigestMethod(Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"),
                DigestValue=bytes(range(64)))]),
        SignatureValue=xmldsig.SignatureValue(value=bytes(132)))
    auth = iso20.AuthorizationReq(
        Header=MessageHeader(SessionID=SID, TimeStamp=1718607534, Signature=signature),
        SelectedAuthorizationService="PnC",
        PnC_AReqAuthorizationMode=iso20.PnC_AReqAuthorizationMode(
            Id="id1", GenChallenge=bytes(range(16)),
            ContractCertificateChain=iso20.ContractCertificateChain(
                Certificate=bytes(range(256)) * 3,
                SubCertificates=iso20.SubCertificates(Certificate=[bytes(range(200)) * 3]))))
    return [("SessionSetupReq", "iso20", setup), ("DC_ChargeLoopReq", "iso20-dc", loop_req),
            ("DC_ChargeLoopRes+MeterInfo", "iso20-dc", loop_res), ("AuthorizationReq+Signature", "iso20", auth)]


def per_op(fn, seconds: float) -> float:
    """Best of 5 runs of a loop lasting about seconds/5, in µs per call."""
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > seconds / 10:
            break
        n *= 2
    best = dt / n
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


JOSEV_DRIVER = r'''
import json, sys, time, logging
from iso15118.shared.exificient_exi_codec import ExificientEXICodec
codec = ExificientEXICodec()
cases = json.loads(sys.stdin.read())
seconds = cases.pop(0)
def per_op(fn):
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n): fn()
        dt = time.perf_counter() - t
        if dt > seconds / 10: break
        n *= 2
    best = dt / n
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(n): fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6
out = []
for name, ns, hx in cases:
    data = bytes.fromhex(hx)
    try:
        js = codec.decode(data, ns)
        again = bytes(codec.encode(js, ns))
        for _ in range(200): codec.decode(data, ns); codec.encode(js, ns)  # JIT warm-up
        out.append({"name": name, "dec": per_op(lambda: codec.decode(data, ns)),
                    "enc": per_op(lambda: codec.encode(js, ns)), "same": again == data})
    except Exception as e:
        out.append({"name": name, "error": str(e)[:200]})
print(json.dumps(out))
'''

NAMESPACES = {"iso20": "urn:iso:std:iso:15118:-20:CommonMessages", "iso20-dc": "urn:iso:std:iso:15118:-20:DC"}


def josev(python: str, cases, seconds: float):
    if not os.path.exists(python):
        return None, f"baseline skipped: {python} not found (python -m venv /tmp/josev-venv && " \
                     "/tmp/josev-venv/bin/pip install iso15118==0.31.2 aiofile)"
    payload = json.dumps([seconds] + [[n, NAMESPACES[s], d.hex()] for n, s, d in cases])
    proc = subprocess.run([python, "-c", JOSEV_DRIVER], input=payload, capture_output=True, text=True,
                          timeout=600, cwd="/tmp")
    if proc.returncode != 0:
        return None, "baseline failed: " + proc.stderr.strip().splitlines()[-1]
    return {r["name"]: r for r in json.loads(proc.stdout.strip().splitlines()[-1])}, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--josev-python", default=next(
        (p for p in ("/tmp/josev-venv/bin/python", "/tmp/exi-josev-venv/bin/python") if os.path.exists(p)),
        "/tmp/josev-venv/bin/python"))
    ap.add_argument("--seconds", type=float, default=0.5, help="time budget per measurement")
    args = ap.parse_args(argv)
    rows, cases = [], []
    for name, schema, obj in messages():
        data = exi.encode(obj, schema=schema)
        assert exi.decode(data, schema=schema) == obj
        enc = per_op(lambda: exi.encode(obj, schema=schema), args.seconds)
        dec = per_op(lambda: exi.decode(data, schema=schema), args.seconds)
        rows.append((name, len(data), enc, dec))
        cases.append((name, schema, data))
    base, note = josev(args.josev_python, cases, args.seconds)
    head = f"{'message':28} {'octets':>6} {'enc µs':>9} {'dec µs':>9}"
    if base:
        head += f" {'josev enc':>10} {'josev dec':>10} {'enc ×':>7} {'dec ×':>7} same bytes"
    print(head)
    for name, size, enc, dec in rows:
        line = f"{name:28} {size:6d} {enc:9.1f} {dec:9.1f}"
        if base:
            b = base.get(name, {})
            if "error" in b:
                line += f"  baseline error: {b['error']}"
            else:
                line += (f" {b['enc']:10.1f} {b['dec']:10.1f} {b['enc'] / enc:7.1f} {b['dec'] / dec:7.1f} "
                         f"{'yes' if b['same'] else 'NO'}")
        print(line)
    if note:
        print(note)
    print("(× = baseline time / our time; C codecs: 0.3-1.6 µs per small message)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
