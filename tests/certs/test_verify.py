"""Chain validation rules: every rule fails on a certificate built to break exactly that rule."""
import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings, strategies as st

from certs import CertificateError, load_certificates, verify_chain
from certs.pki import generate_key, issue_certificate
from certs.profiles import LEAVES, ROLES, Algorithm, Kind

NOW = dt.datetime.now(dt.timezone.utc)


def chain_of(pki, leaf):
    certs = pki.load_chain(leaf)
    return certs[0], certs[1:], [pki.load_certificate(pki.root_of(leaf).stem)]


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue_under(pki, issuer, spec, key=None, subject=None, **kwargs):
    key = key or generate_key(pki.algorithm)
    kwargs.setdefault("not_before", NOW - dt.timedelta(days=1))
    cert = issue_certificate(spec, key.public_key(), subject or name(spec.name), pki.load_certificate(issuer),
                             pki.load_private_key(issuer), **kwargs)
    return cert, key


def rejected(leaf, intermediates, roots, **kwargs) -> CertificateError:
    with pytest.raises(CertificateError) as info:
        verify_chain(leaf, intermediates, roots, **kwargs)
    return info.value


@pytest.mark.parametrize("fixture", ["pki", "pki_ed448"])
@pytest.mark.parametrize("leaf", LEAVES)
def test_generated_chains_are_valid_for_their_role(request, fixture, leaf):
    pki = request.getfixturevalue(fixture)
    path = verify_chain(*chain_of(pki, leaf), role=leaf)
    assert [c.subject for c in path] == [pki.load_certificate(r).subject
                                         for r in [leaf] + [i for i in _issuers(leaf)]]


def _issuers(role):
    while ROLES[role].issuer:
        role = ROLES[role].issuer
        yield role


def test_expired_certificate_maps_to_warning_certificate_expired(pki):
    leaf, subs, roots = chain_of(pki, "secc")
    error = rejected(leaf, subs, roots, role="secc", now=leaf.not_valid_after_utc + dt.timedelta(seconds=1))
    assert (error.code, error.response_code, error.rule) == ("ERR_CERT_EXPIRED", "WARNING_CertificateExpired",
                                                             "validity")
    assert error.certificate == leaf.subject.rfc4514_string()
    assert "validity" in str(error) or leaf.subject.rfc4514_string() in str(error)


def test_not_yet_valid_certificate(pki):
    leaf, subs, roots = chain_of(pki, "vehicle")
    error = rejected(leaf, subs, roots, now=leaf.not_valid_before_utc - dt.timedelta(seconds=1))
    assert (error.code, error.response_code) == ("ERR_CERT_NOT_YET_VALID", "WARNING_CertificateNotYetValid")


def test_expired_sub_ca_is_named(pki):
    leaf, subs, roots = chain_of(pki, "secc")
    sub2 = pki.load_certificate("cpo_sub_ca2")
    error = rejected(leaf, subs, roots, now=sub2.not_valid_after_utc + dt.timedelta(days=1))
    assert error.code == "ERR_CERT_EXPIRED"
    assert error.certificate in {c.subject.rfc4514_string() for c in [leaf, sub2]}


def test_wrong_root_is_untrusted(pki, other_pki):
    leaf, subs, _ = chain_of(pki, "secc")
    error = rejected(leaf, subs, [other_pki.load_certificate("v2g_root")], role="secc")
    assert error.code == "ERR_CERT_UNTRUSTED"
    assert error.response_code == "WARNING_CertificateValidationError"


def test_missing_sub_ca_is_untrusted(pki):
    leaf, subs, roots = chain_of(pki, "secc")
    assert rejected(leaf, subs[:1], roots).code == "ERR_CERT_UNTRUSTED"


def test_tampered_leaf_signature(pki):
    leaf, subs, roots = chain_of(pki, "contract")
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    der[-10] ^= 0x01  # inside the signature value
    error = rejected(x509.load_der_x509_certificate(bytes(der)), subs, roots)
    assert error.code == "ERR_CERT_SIGNATURE"


def test_chain_longer_than_three_below_the_root(pki):
    spec = dataclasses.replace(ROLES["cpo_sub_ca2"], kind=Kind.SUB_CA_1)  # pathLen 1 so only depth breaks
    extra, extra_key = issue_under(pki, "cpo_sub_ca1", spec, subject=name("extra Sub-CA"))
    middle_key = generate_key(pki.algorithm)
    middle = issue_certificate(ROLES["cpo_sub_ca2"], middle_key.public_key(), name("CA 3"), extra, extra_key,
                               not_before=NOW - dt.timedelta(days=1))
    leaf = issue_certificate(ROLES["secc"], generate_key(pki.algorithm).public_key(), name("deep"), middle,
                             middle_key, not_before=NOW - dt.timedelta(days=1))
    error = rejected(leaf, [middle, extra, pki.load_certificate("cpo_sub_ca1")], [pki.load_certificate("v2g_root")])
    assert error.code == "ERR_CERT_CHAIN_TOO_LONG"


def test_sub_ca_2_may_not_issue_another_ca(pki):
    spec = dataclasses.replace(ROLES["cpo_sub_ca2"], name="rogue")
    rogue, rogue_key = issue_under(pki, "cpo_sub_ca2", spec, subject=name("rogue CA"))
    leaf = issue_certificate(ROLES["secc"], generate_key(pki.algorithm).public_key(), name("under rogue"), rogue,
                             rogue_key, not_before=NOW - dt.timedelta(days=1))
    error = rejected(leaf, [rogue, pki.load_certificate("cpo_sub_ca2")], [pki.load_certificate("cpo_sub_ca1")])
    assert (error.code, error.rule) == ("ERR_CERT_PATH_LENGTH", "path-length")
    assert error.certificate == pki.load_certificate("cpo_sub_ca2").subject.rfc4514_string()


def test_leaf_cannot_issue(pki):
    leaf, leaf_key = issue_under(pki, "cpo_sub_ca2", ROLES["secc"], subject=name("leaf as issuer"))
    below = issue_certificate(ROLES["secc"], generate_key(pki.algorithm).public_key(), name("below"), leaf,
                              leaf_key, not_before=NOW - dt.timedelta(days=1))
    error = rejected(below, [leaf, pki.load_certificate("cpo_sub_ca2")], [pki.load_certificate("cpo_sub_ca1")])
    assert error.code == "ERR_CERT_NOT_CA"


def test_wrong_eku_for_the_vehicle_role(pki):
    spec = dataclasses.replace(ROLES["vehicle"], extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,))
    leaf, _ = issue_under(pki, "oem_sub_ca2", spec, subject=pki.load_certificate("vehicle").subject)
    subs = pki.load_chain("vehicle")[1:]
    error = rejected(leaf, subs, [pki.load_certificate("oem_root")], role="vehicle")
    assert (error.code, error.rule) == ("ERR_CERT_EKU", "vehicle:extended-key-usage")


def test_provisioning_certificate_is_no_vehicle_certificate_but_compat_roles_accept_it(pki):
    leaf, subs, roots = chain_of(pki, "oem_prov")
    assert rejected(leaf, subs, roots, role="vehicle").code == "ERR_CERT_EKU"
    assert verify_chain(leaf, subs, roots, role=("vehicle", "oem_prov"))


def test_missing_key_usage_bit_for_the_role(pki):
    spec = dataclasses.replace(ROLES["secc"], key_usage=frozenset({"digital_signature"}))
    leaf, _ = issue_under(pki, "cpo_sub_ca2", spec)
    error = rejected(leaf, pki.load_chain("secc")[1:], [pki.load_certificate("v2g_root")], role="secc")
    assert (error.code, error.rule) == ("ERR_CERT_KEY_USAGE", "secc:key-usage")


def test_vehicle_subject_with_more_than_cn_and_o(pki):
    spec = ROLES["vehicle"]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, pki.evccid),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OEM"),
                         x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")])
    leaf, _ = issue_under(pki, "oem_sub_ca2", spec, subject=subject)
    error = rejected(leaf, pki.load_chain("vehicle")[1:], [pki.load_certificate("oem_root")], role="vehicle")
    assert (error.code, error.rule) == ("ERR_CERT_PROFILE", "vehicle:subject")


def test_p521_key_signed_with_sha256_is_refused(pki):
    issuer = pki.load_certificate("cpo_sub_ca2")
    key = generate_key(Algorithm.SECP521R1)
    leaf = (x509.CertificateBuilder().subject_name(name("sha256")).issuer_name(issuer.subject)
            .public_key(key.public_key()).serial_number(1).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=1))
            .sign(pki.load_private_key("cpo_sub_ca2"), hashes.SHA256()))
    error = rejected(leaf, pki.load_chain("secc")[1:], [pki.load_certificate("v2g_root")])
    assert (error.code, error.rule) == ("ERR_CERT_ALGORITHM", "signature-algorithm")


def test_p256_chain_only_in_the_compat_profile(pki_compat):
    leaf, subs, roots = chain_of(pki_compat, "secc")
    error = rejected(leaf, subs, roots, role="secc")
    assert (error.code, error.rule) == ("ERR_CERT_ALGORITHM", "key-algorithm")
    assert len(verify_chain(leaf, subs, roots, role="secc", profile="compat")) == 4


def test_mixed_algorithms_in_one_chain(pki):
    leaf, _ = issue_under(pki, "cpo_sub_ca2", ROLES["secc"], key=ec.generate_private_key(ec.SECP384R1()))
    error = rejected(leaf, pki.load_chain("secc")[1:], [pki.load_certificate("v2g_root")])
    assert error.code == "ERR_CERT_ALGORITHM"


def test_ca_certificate_as_leaf_is_refused_for_a_role(pki):
    sub2 = pki.load_certificate("cpo_sub_ca2")
    error = rejected(sub2, [pki.load_certificate("cpo_sub_ca1")], [pki.load_certificate("v2g_root")], role="secc")
    assert error.code == "ERR_CERT_PROFILE"


def test_now_accepts_unix_time(pki):
    leaf, subs, roots = chain_of(pki, "secc")
    late = leaf.not_valid_after_utc.timestamp() + 10
    assert rejected(leaf, subs, roots, now=late).code == "ERR_CERT_EXPIRED"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_certificates_raise_only_typed_errors(data):
    try:
        load_certificates(data)
    except CertificateError as exc:
        assert exc.code == "ERR_CERT_MALFORMED"


@settings(max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", 200)), deadline=None)
@given(st.data())
def test_bit_flipped_certificates_never_verify_or_crash(pki, data):
    leaf, subs, roots = chain_of(pki, "secc")
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    position = data.draw(st.integers(0, len(der) - 1))
    der[position] ^= data.draw(st.integers(1, 255))
    try:
        mutated = load_certificates(bytes(der))[0]
        verify_chain(mutated, subs, roots, role="secc")
    except CertificateError:
        return
    assert mutated == leaf or mutated.tbs_certificate_bytes == leaf.tbs_certificate_bytes


def _deep_secc_chain(pki):
    """leaf, [CA 3, extra Sub-CA, Sub-CA 1], root: four certificates below the root, in path order."""
    spec = dataclasses.replace(ROLES["cpo_sub_ca2"], kind=Kind.SUB_CA_1)
    extra, extra_key = issue_under(pki, "cpo_sub_ca1", spec, subject=name("extra Sub-CA"))
    middle_key = generate_key(pki.algorithm)
    middle = issue_certificate(ROLES["cpo_sub_ca2"], middle_key.public_key(), name("CA 3"), extra, extra_key,
                               not_before=NOW - dt.timedelta(days=1))
    leaf = issue_certificate(ROLES["secc"], generate_key(pki.algorithm).public_key(), name("deep"), middle,
                             middle_key, not_before=NOW - dt.timedelta(days=1))
    return leaf, [middle, extra, pki.load_certificate("cpo_sub_ca1")], [pki.load_certificate("v2g_root")]


def _broken_chains(pki, pki_compat):
    """(leaf, intermediates in path order, roots, kwargs, expected code) — each breaks one non-signature rule."""
    secc_leaf, secc_subs, v2g_root = chain_of(pki, "secc")
    eku = dataclasses.replace(ROLES["vehicle"], extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,))
    rogue, rogue_key = issue_under(pki, "cpo_sub_ca2", dataclasses.replace(ROLES["cpo_sub_ca2"], name="rogue"),
                                   subject=name("rogue CA"))
    under_rogue = issue_certificate(ROLES["secc"], generate_key(pki.algorithm).public_key(), name("under rogue"),
                                    rogue, rogue_key, not_before=NOW - dt.timedelta(days=1))
    mixed, _ = issue_under(pki, "cpo_sub_ca2", ROLES["secc"], key=ec.generate_private_key(ec.SECP384R1()))
    return {
        "expired leaf": (secc_leaf, secc_subs, v2g_root,
                         {"now": secc_leaf.not_valid_after_utc + dt.timedelta(seconds=1)}, "ERR_CERT_EXPIRED"),
        "vehicle with serverAuth EKU": (issue_under(pki, "oem_sub_ca2", eku, subject=name("v"))[0],
                                        pki.load_chain("vehicle")[1:], [pki.load_certificate("oem_root")],
                                        {"role": "vehicle"}, "ERR_CERT_EKU"),
        "four below the root": (*_deep_secc_chain(pki), {}, "ERR_CERT_CHAIN_TOO_LONG"),
        "Sub-CA 2 issuing a CA": (under_rogue, [rogue, pki.load_certificate("cpo_sub_ca2")],
                                  [pki.load_certificate("cpo_sub_ca1")], {}, "ERR_CERT_PATH_LENGTH"),
        "P-384 leaf in a P-521 chain": (mixed, secc_subs, v2g_root, {}, "ERR_CERT_ALGORITHM"),
        "P-256 chain in the strict profile": (*chain_of(pki_compat, "secc"), {"role": "secc"},
                                              "ERR_CERT_ALGORITHM"),
        "Sub-CAs out of order": (secc_leaf, secc_subs[::-1], v2g_root, {}, "ERR_CERT_UNTRUSTED"),
    }


def test_an_already_verified_path_still_meets_every_other_rule(pki, pki_compat):
    for case, (leaf, subs, roots, kwargs, code) in _broken_chains(pki, pki_compat).items():
        error = rejected(leaf, subs, roots, signatures_verified=True, **kwargs)
        assert error.code == code, case


def test_an_already_verified_path_is_not_signature_checked_again(pki):
    """The TLS handshake passes OpenSSL's verified chain: a second ECDSA verification would only cost time."""
    leaf, subs, roots = chain_of(pki, "contract")
    der = bytearray(leaf.public_bytes(serialization.Encoding.DER))
    der[-10] ^= 0x01  # inside the signature value: only a signature check can notice
    tampered = x509.load_der_x509_certificate(bytes(der))
    assert rejected(tampered, subs, roots).code == "ERR_CERT_SIGNATURE"
    assert verify_chain(tampered, subs, roots, signatures_verified=True)[1:] == [*subs, *roots]
