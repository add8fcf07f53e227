"""`v2g pki` as a user runs it: real processes, exit codes, JSON output, files on disk."""
import json
import os
import stat
import subprocess
import sys

import pytest

from certs import Pki
from certs.cli import main


def v2g_pki(*args, env=None):
    return subprocess.run([sys.executable, "-m", "iso15118", "pki", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def created(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cli") / "pki"
    result = v2g_pki("create", directory, "--evseid", "DE*ABC*E42*1", "--emaid", "DEABCC123456789",
                     "--evccid", "VIN0000000000TEST", "--validity", "secc=30", "--json")
    assert result.returncode == 0, result.stderr
    return directory, json.loads(result.stdout)


def test_create_reports_every_file_and_writes_them(created):
    directory, report = created
    assert report["algorithm"] == "secp521r1"
    for role, paths in report["certificates"].items():
        for path in paths.values():
            assert os.path.exists(path), (role, path)
    assert os.path.exists(directory / "pki.json")


def test_private_keys_are_owner_only(created):
    directory, report = created
    assert stat.S_IMODE(os.stat(directory / "private").st_mode) == 0o700
    for paths in report["certificates"].values():
        assert stat.S_IMODE(os.stat(paths["key"]).st_mode) == 0o600


def test_identifier_and_validity_options_reach_the_certificates(created):
    directory, _ = created
    pki = Pki.load(directory)
    secc = pki.load_certificate("secc")
    assert "CN=DE*ABC*E42*1" in secc.subject.rfc4514_string()
    assert (secc.not_valid_after_utc - secc.not_valid_before_utc).days == 30
    assert pki.load_certificate("vehicle").subject.rfc4514_string() == "O=V2G Test OEM,CN=VIN0000000000TEST"


def test_verify_valid_chain_exits_0(created):
    directory, _ = created
    result = v2g_pki("verify", directory / "chains/secc.pem", "--root", directory / "certs/v2g_root.pem",
                     "--role", "secc", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["valid"] is True


def test_verify_with_separate_sub_ca_files(created):
    directory, _ = created
    result = v2g_pki("verify", directory / "certs/contract.der", "--chain", directory / "certs/mo_sub_ca2.pem",
                     "--chain", directory / "certs/mo_sub_ca1.der", "--root", directory / "certs/mo_root.pem",
                     "--role", "contract")
    assert result.returncode == 0, result.stderr


def test_verify_wrong_root_exits_1_naming_certificate_and_rule(created):
    directory, _ = created
    result = v2g_pki("verify", directory / "chains/secc.pem", "--root", directory / "certs/oem_root.pem", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["code"] == "ERR_CERT_UNTRUSTED"
    assert "CPO Sub-CA 1" in report["certificate"] and report["rule"] == "trusted-root"


def test_verify_expired_at_given_time_exits_1(created):
    directory, _ = created
    result = v2g_pki("verify", directory / "chains/secc.pem", "--root", directory / "certs/v2g_root.pem",
                     "--at", "2099-01-01T00:00:00")
    assert result.returncode == 1
    assert "ERR_CERT_EXPIRED" in result.stderr and "validity" in result.stderr


def test_show_json_lists_profile_fields(created):
    directory, _ = created
    result = v2g_pki("show", directory / "certs/cpo_sub_ca1.der", "--json")
    assert result.returncode == 0
    (cert,) = json.loads(result.stdout)["certificates"]
    assert cert["key_algorithm"] == "secp521r1" and cert["signature_algorithm"] == "ecdsa-with-SHA512"
    assert cert["extensions"]["basicConstraints"] == {"critical": True, "value": "CA:True, pathlen:1"}


def test_show_unreadable_file_exits_2(tmp_path):
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert v2g_pki("show", tmp_path / "junk.pem").returncode == 2
    assert v2g_pki("show", tmp_path / "missing.pem").returncode == 2


def test_rerun_keeps_keys_and_reissues_certificates(tmp_path, capsys):
    assert main(["create", str(tmp_path)]) == 0
    keys = {p.name: p.read_bytes() for p in (tmp_path / "private").iterdir()}
    serial = Pki.load(tmp_path).load_certificate("secc").serial_number
    assert main(["create", str(tmp_path)]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "private").iterdir()} == keys
    assert Pki.load(tmp_path).load_certificate("secc").serial_number != serial
    assert main(["create", str(tmp_path), "--algorithm", "ed448"]) == 1  # refuses to touch other keys
    assert "ERR_PKI_KEY_MISMATCH" in capsys.readouterr().err
    assert main(["create", str(tmp_path), "--algorithm", "ed448", "--force"]) == 0
    assert (tmp_path / "private/secc.key").read_bytes() != keys["secc.key"]


def test_encrypted_keys_from_the_environment(tmp_path):
    result = v2g_pki("create", tmp_path, env={"V2G_PKI_KEY_PASSWORD": "s3cret"})
    assert result.returncode == 0, result.stderr
    key = tmp_path / "private/secc.key"
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    openssl = ["openssl", "pkey", "-in", str(key), "-noout", "-passin"]
    assert subprocess.run(openssl + ["pass:s3cret"], capture_output=True).returncode == 0
    assert subprocess.run(openssl + ["pass:wrong"], capture_output=True).returncode != 0
    # re-running without the password cannot read the keys, and says so instead of replacing them
    again = v2g_pki("create", tmp_path, env={"V2G_PKI_KEY_PASSWORD": ""})
    assert again.returncode == 1 and "ERR_PKI_KEY_MISMATCH" in again.stderr
    assert v2g_pki("ocsp", tmp_path, "--json", env={"V2G_PKI_KEY_PASSWORD": "s3cret"}).returncode == 0


def test_compat_profile_uses_p256(tmp_path):
    assert main(["create", str(tmp_path), "--profile", "compat"]) == 0
    assert Pki.load(tmp_path).load_certificate("secc").public_key().curve.name == "secp256r1"


def test_unknown_validity_role_is_a_usage_error(tmp_path):
    assert main(["create", str(tmp_path), "--validity", "nobody=3"]) == 2


@pytest.mark.parametrize("content", ['{"algorithm": "rsa"}', '{"no_such_field": 1}', "not json",
                                     '{"pcid": "lower-case-pcid"}'])
def test_bad_config_files_are_usage_errors(tmp_path, capsys, content):
    config = tmp_path / "pki.json"
    config.write_text(content)
    assert main(["create", str(tmp_path / "out"), "--config", str(config)]) == 2
    assert "ERR_PKI_CONFIG" in capsys.readouterr().err


def test_config_file_sets_identifiers(tmp_path):
    config = tmp_path / "pki.json"
    config.write_text(json.dumps({"algorithm": "ed448", "emaid": "DEXYZC000000042", "validity_days": {"vehicle": 9}}))
    assert main(["create", str(tmp_path / "out"), "--config", str(config)]) == 0
    pki = Pki.load(tmp_path / "out")
    assert pki.algorithm.value == "ed448" and pki.emaid == "DEXYZC000000042"
    vehicle = pki.load_certificate("vehicle")
    assert (vehicle.not_valid_after_utc - vehicle.not_valid_before_utc).days == 9
