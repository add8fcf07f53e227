"""CRL issuance and revocation checking of certificate chains ([V2G20-2432]–[V2G20-2437]).

Debian `openssl crl` / `openssl verify -crl_check` are the independent judges that our CRLs are standard.
"""
import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings, strategies as st

from certs import (CertificateError, Pki, RevocationSources, build_ocsp_response, check_revocation, revoke,
                   write_crl)
from certs.pki import signature_hash
from certs.profiles import algorithm_of_key
from certs.revocation import build_crl, load_crl, revoked_entry

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(params=["pki_p521", "pki_ed448"])
def fresh_pki(request, tmp_path):
    """A private copy of a session PKI: these tests re-sign its CRLs."""
    source = request.getfixturevalue(request.param)
    shutil.copytree(source.directory, tmp_path / "pki")
    return Pki.load(tmp_path / "pki")


def vehicle_chain(pki):
    return pki.load_chain("vehicle") + [pki.load_certificate("oem_root")]


def subject(pki, role):
    return pki.load_certificate(role).subject.rfc4514_string()


def openssl(*args):
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=30)


def crl_bundle(pki, tmp_path):
    """Roots, Sub-CAs and their CRLs in one CAfile, as `openssl verify -crl_check_all` wants them."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(path.read_bytes() for ca in ("oem_root", "oem_sub_ca1", "oem_sub_ca2")
                                for path in (pki.cert(ca), pki.crl(ca, pem=True))))
    return bundle


def test_openssl_verifies_the_crl_signature_and_refuses_the_revoked_vehicle_certificate(fresh_pki, tmp_path):
    ca, path = revoke(fresh_pki, fresh_pki.load_certificate("vehicle"), reason="key_compromise")
    assert ca == "oem_sub_ca2" and path == fresh_pki.crl("oem_sub_ca2")
    checked = openssl("crl", "-in", fresh_pki.crl(ca, pem=True), "-CAfile", fresh_pki.cert(ca), "-noout")
    assert checked.returncode == 0 and "verify OK" in checked.stderr, checked.stderr
    listed = openssl("crl", "-in", path, "-inform", "DER", "-noout", "-text").stdout
    assert f"{fresh_pki.load_certificate('vehicle').serial_number:X}" in listed.replace(":", "").upper()
    assert "Key Compromise" in listed
    bundle = crl_bundle(fresh_pki, tmp_path)
    refused = openssl("verify", "-crl_check_all", "-CAfile", bundle, fresh_pki.chain("vehicle"))
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    # twin: same CA, same CRLs, a certificate that is not listed
    accepted = openssl("verify", "-crl_check_all", "-CAfile", bundle, fresh_pki.chain("oem_prov"))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_openssl_refuses_a_crl_checked_against_another_ca(fresh_pki):
    checked = openssl("crl", "-in", fresh_pki.crl("oem_sub_ca2", pem=True), "-CAfile", fresh_pki.cert("oem_sub_ca1"),
                      "-noout")
    assert "verify OK" not in checked.stderr


def test_a_new_pki_has_fresh_empty_crls_for_every_ca_so_the_whole_chain_checks_good(fresh_pki):
    statuses = check_revocation(vehicle_chain(fresh_pki), RevocationSources([fresh_pki.crl_dir]), policy="hard")
    assert [s.certificate for s in statuses] == [subject(fresh_pki, r) for r in ("vehicle", "oem_sub_ca2",
                                                                                  "oem_sub_ca1")]
    assert [s.status for s in statuses] == ["good"] * 3
    assert [s.source for s in statuses] == [str(fresh_pki.crl(ca)) for ca in ("oem_sub_ca2", "oem_sub_ca1",
                                                                               "oem_root")]


@pytest.mark.parametrize("policy", ["soft", "hard"])
@pytest.mark.parametrize("role", ["vehicle", "oem_sub_ca2", "oem_sub_ca1"])
def test_a_revoked_certificate_anywhere_in_the_chain_is_refused_and_named(fresh_pki, role, policy):
    sources = RevocationSources([fresh_pki.crl_dir])
    check_revocation(vehicle_chain(fresh_pki), sources, policy=policy)  # before: fine (and cached)
    revoke(fresh_pki, fresh_pki.load_certificate(role))
    with pytest.raises(CertificateError) as caught:
        check_revocation(vehicle_chain(fresh_pki), sources, policy=policy)
    assert caught.value.code == "ERR_CERT_REVOKED"
    assert caught.value.response_code == "WARNING_CertificateRevoked"
    assert caught.value.certificate == subject(fresh_pki, role)


def test_policy_decides_what_missing_information_means(fresh_pki, tmp_path):
    chain, empty = vehicle_chain(fresh_pki), RevocationSources([tmp_path / "no-crls-here"])
    assert check_revocation(chain, empty, policy="off") == []
    soft = check_revocation(chain, empty, policy="soft")
    assert [(s.status, s.code) for s in soft] == [("unknown", "ERR_REVOCATION_UNKNOWN")] * 3
    with pytest.raises(CertificateError) as caught:
        check_revocation(chain, empty, policy="hard")
    assert caught.value.code == "ERR_REVOCATION_UNKNOWN"
    assert caught.value.certificate == subject(fresh_pki, "vehicle")


def test_an_out_of_date_crl_is_no_information_but_its_revocations_still_count(fresh_pki):
    chain, sources = vehicle_chain(fresh_pki), RevocationSources([fresh_pki.crl_dir])
    later = NOW + dt.timedelta(days=8)  # our CRLs say nextUpdate = 7 days
    assert {s.code for s in check_revocation(chain, sources, policy="soft", now=later)} == {"ERR_REVOCATION_STALE"}
    with pytest.raises(CertificateError) as caught:
        check_revocation(chain, sources, policy="hard", now=later)
    assert caught.value.code == "ERR_REVOCATION_STALE"
    revoke(fresh_pki, fresh_pki.load_certificate("vehicle"))
    with pytest.raises(CertificateError) as caught:
        check_revocation(chain, sources, policy="soft", now=later)
    assert caught.value.code == "ERR_CERT_REVOKED"


@pytest.mark.parametrize("policy", ["soft", "hard"])
def test_a_crl_signed_by_another_key_under_the_issuers_name_is_refused(fresh_pki, other_pki, policy):
    # other_pki has the same CA names with other keys: its OEM Sub-CA 2 CRL looks right but is forged here
    shutil.copy(other_pki.crl("oem_sub_ca2"), fresh_pki.crl("oem_sub_ca2"))
    fresh_pki.crl("oem_sub_ca2", pem=True).unlink()
    with pytest.raises(CertificateError) as caught:
        check_revocation(vehicle_chain(fresh_pki), RevocationSources([fresh_pki.crl_dir]), policy=policy)
    assert caught.value.code == "ERR_CRL_INVALID" and caught.value.rule == "crl-signature"
    assert caught.value.certificate == subject(fresh_pki, "vehicle")


def test_a_crl_with_an_unprocessed_critical_extension_is_refused(fresh_pki):
    issuer = fresh_pki.load_certificate("oem_sub_ca2")
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject).last_update(NOW)
               .next_update(NOW + dt.timedelta(days=1))
               .add_extension(x509.DeltaCRLIndicator(1), critical=True))
    crl = builder.sign(fresh_pki.load_private_key("oem_sub_ca2"), signature_hash(algorithm_of_key(issuer.public_key())))
    fresh_pki.crl("oem_sub_ca2").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    with pytest.raises(CertificateError) as caught:
        check_revocation(vehicle_chain(fresh_pki), RevocationSources([fresh_pki.crl_dir]), policy="soft")
    assert caught.value.code == "ERR_CRL_INVALID" and caught.value.rule == "crl-critical-extension"


def test_a_cached_ocsp_response_answers_for_a_certificate_and_is_re_read_when_it_changes(fresh_pki, tmp_path):
    chain = vehicle_chain(fresh_pki)
    vehicle, issuer = chain[0], chain[1]
    key = fresh_pki.load_private_key("oem_sub_ca2")
    cache = tmp_path / "ocsp"
    cache.mkdir()
    (cache / "vehicle.der").write_bytes(build_ocsp_response(vehicle, issuer, issuer, key))
    sources = RevocationSources(ocsp_responses=[cache])
    statuses = check_revocation(chain, sources, policy="soft")
    assert (statuses[0].status, statuses[0].source) == ("good", str(cache / "vehicle.der"))
    assert [s.status for s in statuses[1:]] == ["unknown", "unknown"]  # no response for the Sub-CAs
    revoked = build_ocsp_response(vehicle, issuer, issuer, key, revoked_at=NOW - dt.timedelta(minutes=1))
    (cache / "vehicle.der").write_bytes(revoked)
    os.utime(cache / "vehicle.der", ns=(1, 1))  # a different mtime even on coarse-clock file systems
    with pytest.raises(CertificateError) as caught:
        check_revocation(chain, sources, policy="soft")
    assert caught.value.code == "ERR_CERT_REVOKED" and caught.value.certificate == subject(fresh_pki, "vehicle")


def test_an_ocsp_response_signed_by_a_stranger_is_refused(fresh_pki, other_pki, tmp_path):
    chain = vehicle_chain(fresh_pki)
    forged = build_ocsp_response(chain[0], chain[1], other_pki.load_certificate("oem_sub_ca2"),
                                 other_pki.load_private_key("oem_sub_ca2"))
    (tmp_path / "vehicle.der").write_bytes(forged)
    with pytest.raises(CertificateError) as caught:
        check_revocation(chain, RevocationSources(ocsp_responses=[tmp_path / "vehicle.der"]), policy="soft")
    assert caught.value.code == "ERR_OCSP_INVALID"


def test_reissuing_keeps_entries_and_counts_up_the_crl_number(fresh_pki):
    vehicle = fresh_pki.load_certificate("vehicle")
    revoke(fresh_pki, vehicle)
    revoke(fresh_pki, vehicle)
    write_crl(fresh_pki, "oem_sub_ca2")
    crl = load_crl(fresh_pki.crl("oem_sub_ca2").read_bytes())
    assert [entry.serial_number for entry in crl] == [vehicle.serial_number]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 4  # create + 3 issues


def test_a_crl_file_that_is_not_a_crl_gives_a_typed_error(tmp_path):
    (tmp_path / "junk.der").write_bytes(b"\x30\x03\x02\x01\x01")
    with pytest.raises(CertificateError) as caught:
        RevocationSources([tmp_path]).crls()
    assert caught.value.code == "ERR_CRL_INVALID" and "junk.der" in str(caught.value)


@pytest.fixture(scope="module")
def signed_crl(pki_p521):
    issuer = pki_p521.load_certificate("oem_sub_ca2")
    vehicle = pki_p521.load_certificate("oem_prov")
    crl = build_crl(issuer, pki_p521.load_private_key("oem_sub_ca2"), [revoked_entry(vehicle.serial_number)])
    return crl.public_bytes(serialization.Encoding.DER)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_or_random_crl_files_give_typed_errors_and_never_vouch_for_a_certificate(pki_p521, signed_crl,
                                                                                         tmp_path_factory, data):
    choice = data.draw(st.sampled_from(["flip", "truncate", "random"]))
    if choice == "flip":
        index = data.draw(st.integers(0, len(signed_crl) - 1))
        blob = bytearray(signed_crl)
        blob[index] ^= data.draw(st.integers(1, 255))
        blob = bytes(blob)
    elif choice == "truncate":
        blob = signed_crl[:data.draw(st.integers(0, len(signed_crl) - 1))]
    else:
        blob = data.draw(st.binary(max_size=400))
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "oem_sub_ca2.der").write_bytes(blob)
    chain = pki_p521.load_chain("oem_prov") + [pki_p521.load_certificate("oem_root")]
    try:
        statuses = check_revocation(chain, RevocationSources([directory]), policy="soft")
    except CertificateError as exc:
        assert exc.code in ("ERR_CRL_INVALID", "ERR_CERT_REVOKED")
        if exc.code == "ERR_CERT_REVOKED":  # only a CRL that still verifies may say so
            assert load_crl(blob).is_signature_valid(pki_p521.load_certificate("oem_sub_ca2").public_key())
        return
    # accepted: the mutation hid the CRL from this issuer; it never says "good" about oem_prov, which it lists
    assert statuses[0].status == "unknown"


def v2g_pki(*args):
    return subprocess.run([sys.executable, "-c", "import sys; from certs.cli import main; sys.exit(main(sys.argv[1:]))",
                           *map(str, args)], capture_output=True, text=True, timeout=60)


def test_cli_revoke_by_role_or_file_and_refresh(fresh_pki):
    vehicle = fresh_pki.load_certificate("vehicle")
    done = v2g_pki("revoke", fresh_pki.directory, "vehicle", "--reason", "superseded", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ca"] == "oem_sub_ca2" and int(result["serial"], 16) == vehicle.serial_number
    by_file = v2g_pki("revoke", fresh_pki.directory, fresh_pki.cert("oem_prov"))
    assert by_file.returncode == 0, by_file.stderr
    refreshed = v2g_pki("crl", fresh_pki.directory, "--ca", "oem_sub_ca2", "--days", "2", "--json")
    assert json.loads(refreshed.stdout) == {"oem_sub_ca2": str(fresh_pki.crl("oem_sub_ca2"))}
    text = openssl("crl", "-in", fresh_pki.crl("oem_sub_ca2", pem=True), "-noout", "-text").stdout.replace(":", "")
    for role in ("vehicle", "oem_prov"):
        assert f"{fresh_pki.load_certificate(role).serial_number:X}" in text.upper()
    assert "Superseded" in text
    crl = load_crl(fresh_pki.crl("oem_sub_ca2").read_bytes())
    assert dt.timedelta(days=2) - (crl.next_update_utc - crl.last_update_utc) < dt.timedelta(seconds=1)


def test_cli_create_lists_a_crl_per_ca_that_openssl_verifies(tmp_path):
    created = v2g_pki("create", tmp_path / "pki", "--json")
    assert created.returncode == 0, created.stderr
    crls = json.loads(created.stdout)["crl"]
    assert set(crls) == {"v2g_root", "cpo_sub_ca1", "cpo_sub_ca2", "mo_root", "mo_sub_ca1", "mo_sub_ca2",
                         "oem_root", "oem_sub_ca1", "oem_sub_ca2", "cps_sub_ca1", "cps_sub_ca2"}
    for ca, path in crls.items():
        checked = openssl("crl", "-in", path, "-inform", "DER", "-CAfile", tmp_path / "pki" / "certs" / f"{ca}.pem",
                          "-noout")
        assert "verify OK" in checked.stderr, (ca, checked.stderr)


def test_cli_refuses_to_revoke_a_root_or_an_unknown_file(fresh_pki, tmp_path):
    root = v2g_pki("revoke", fresh_pki.directory, "oem_root", "--json")
    assert root.returncode == 2 and json.loads(root.stdout)["code"] == "ERR_PKI_CONFIG"
    (tmp_path / "junk.pem").write_bytes(b"junk")
    junk = v2g_pki("revoke", fresh_pki.directory, tmp_path / "junk.pem", "--json")
    assert junk.returncode == 2 and json.loads(junk.stdout)["code"] == "ERR_CERT_MALFORMED"
