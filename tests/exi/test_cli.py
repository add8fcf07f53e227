"""`python -m exi encode|decode`: hex out, XML out, exit status 2 with one line for bad input."""
import io
import subprocess
import sys

from exi.__main__ import main

SESSION_STOP_HEX = "8094040081018202830384080e2cfaa06228"  # josev SessionStopReq_terminate
SESSION_STOP_XML = (
    '<cm:SessionStopReq xmlns:cm="urn:iso:std:iso:15118:-20:CommonMessages" '
    'xmlns:ct="urn:iso:std:iso:15118:-20:CommonTypes"><ct:Header><ct:SessionID>0102030405060708</ct:SessionID>'
    '<ct:TimeStamp>1700000000</ct:TimeStamp></ct:Header><cm:ChargingSession>Terminate</cm:ChargingSession>'
    '</cm:SessionStopReq>')


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "exi", *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_encode_infers_the_schema_from_the_root_namespace(tmp_path):
    path = tmp_path / "msg.xml"
    path.write_text(SESSION_STOP_XML)
    out = run("encode", str(path))
    assert out.returncode == 0 and out.stdout.strip() == SESSION_STOP_HEX
    assert run("encode", "-", stdin=SESSION_STOP_XML).stdout.strip() == SESSION_STOP_HEX


def test_decode_prints_xml_that_encodes_back_to_the_same_stream():
    out = run("decode", "--schema", "iso20", SESSION_STOP_HEX)
    assert out.returncode == 0 and "<cm:ChargingSession>Terminate</cm:ChargingSession>" in out.stdout
    assert run("encode", "-", stdin=out.stdout).stdout.strip() == SESSION_STOP_HEX
    by_uri = run("decode", "--schema", "urn:iso:std:iso:15118:-20:CommonMessages", "-", stdin=SESSION_STOP_HEX)
    assert by_uri.stdout == out.stdout


def test_signed_info_fragment_round_trips_through_the_cli():
    xml = ('<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:CanonicalizationMethod '
           'Algorithm="http://www.w3.org/TR/canonical-exi/"/><ds:SignatureMethod Algorithm="x"/><ds:Reference '
           'URI="#id1"><ds:DigestMethod Algorithm="y"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>'
           '</ds:SignedInfo>')
    enc = run("encode", "--fragment", "-", stdin=xml)
    assert enc.returncode == 0 and enc.stdout.startswith("8081")
    dec = run("decode", "--schema", "xmldsig", "--fragment", enc.stdout.strip())
    assert dec.returncode == 0 and "SignedInfo" in dec.stdout


def test_bad_input_exits_2_with_one_line_naming_the_place(capsys, monkeypatch):
    cases = [
        ["decode", "--schema", "iso20", SESSION_STOP_HEX[:20]],  # truncated
        ["decode", "--schema", "iso20", "zz"],
        ["decode", "--schema", "nope", SESSION_STOP_HEX],
        ["encode", "-"],
        ["encode", "/nonexistent/file.xml"],
    ]
    errors = []
    for argv in cases:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"<broken")))
        assert main(argv) == 2
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.strip().splitlines()) == 1
        errors.append(out.err)
    assert "bit " in errors[0] and "state" in errors[0]
    proc = run("decode", "--schema", "iso20", SESSION_STOP_HEX[:20])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr == errors[0]
