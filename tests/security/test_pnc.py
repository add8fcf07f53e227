"""Plug & Charge AuthorizationReq: EV signs with the contract key, SECC checks challenge, chain, signature."""
import dataclasses
import datetime as dt

import pytest

import exi
from iso15118.security import AuthorizationVerdict, sign_authorization_req, verify_authorization_req

from .helpers import CHALLENGE, contract_chain, pnc_authorization_req


def _roots(pki):
    return [pki.load_certificate("mo_root")]


def _signed(pki, key=None):
    return sign_authorization_req(pnc_authorization_req(pki), key or pki.load_private_key("contract"))


def test_signed_request_is_authorized_with_the_emaid(pki):
    verdict = verify_authorization_req(_signed(pki), _roots(pki), gen_challenge=CHALLENGE)
    assert verdict == AuthorizationVerdict("OK", pki.emaid, None)
    code, emaid, _ = verdict  # unpacks as the SECC hook's (ResponseCode, EMAID)
    assert (code, emaid) == ("OK", pki.emaid)


def test_signing_leaves_the_original_request_untouched(pki_p521):
    req = pnc_authorization_req(pki_p521)
    signed = sign_authorization_req(req, pki_p521.load_private_key("contract"))
    assert req.Header.Signature is None and signed.Header.Signature is not None


def test_request_authorized_after_crossing_the_exi_codec(pki):
    wire = exi.encode(_signed(pki), schema="iso20")
    verdict = verify_authorization_req(exi.decode(wire, schema="iso20"), _roots(pki), gen_challenge=CHALLENGE)
    assert verdict.response_code == "OK"


def test_stale_challenge_is_answered_challenge_invalid(pki_p521):
    verdict = verify_authorization_req(_signed(pki_p521), _roots(pki_p521), gen_challenge=bytes(16))
    assert verdict.response_code == "WARNING_ChallengeInvalid"  # [V2G20-2228]


def test_challenge_changed_after_signing_is_a_signature_error(pki):
    req = _signed(pki)
    req.PnC_AReqAuthorizationMode.GenChallenge = bytes(16)
    verdict = verify_authorization_req(req, _roots(pki))
    assert verdict.response_code == "FAILED_SignatureError" and verdict.error.code == "ERR_SIG_INVALID"
    assert verdict.emaid is None


def test_signature_by_another_contract_key_is_a_signature_error(pki_p521, other_pki):
    verdict = verify_authorization_req(_signed(pki_p521, other_pki.load_private_key("contract")),
                                       _roots(pki_p521), gen_challenge=CHALLENGE)
    assert verdict.response_code == "FAILED_SignatureError"


def test_contract_chain_from_an_untrusted_mo_is_a_certificate_validation_error(pki_p521, other_pki):
    verdict = verify_authorization_req(_signed(pki_p521), _roots(other_pki), gen_challenge=CHALLENGE)
    assert verdict.response_code == "WARNING_CertificateValidationError"
    assert verdict.error.code == "ERR_CERT_UNTRUSTED"


def test_swapped_in_foreign_chain_signed_by_its_own_key_is_still_untrusted(pki_p521, other_pki):
    req = pnc_authorization_req(pki_p521)
    req.PnC_AReqAuthorizationMode.ContractCertificateChain = contract_chain(other_pki)
    signed = sign_authorization_req(req, other_pki.load_private_key("contract"))
    assert verify_authorization_req(signed, _roots(pki_p521)).response_code == "WARNING_CertificateValidationError"


def test_expired_contract_is_answered_certificate_expired(pki_p521):
    expiry = pki_p521.load_certificate("contract").not_valid_after_utc
    verdict = verify_authorization_req(_signed(pki_p521), _roots(pki_p521), expiry + dt.timedelta(days=1))
    assert verdict.response_code == "WARNING_CertificateExpired"


def test_contract_not_yet_valid_is_answered_not_yet_valid(pki_p521):
    start = pki_p521.load_certificate("contract").not_valid_before_utc
    verdict = verify_authorization_req(_signed(pki_p521), _roots(pki_p521), start - dt.timedelta(days=1))
    assert verdict.response_code == "WARNING_CertificateNotYetValid"


@pytest.mark.parametrize("days_left,code", [(7, "OK_CertificateExpiresSoon"), (20, "OK")])
def test_contract_expiring_within_14_days_is_ok_but_flagged(pki_p521, days_left, code):
    expiry = pki_p521.load_certificate("contract").not_valid_after_utc
    now = (expiry - dt.timedelta(days=days_left)).timestamp()  # a float clock, as the machines pass it
    verdict = verify_authorization_req(_signed(pki_p521), _roots(pki_p521), now)
    assert verdict.response_code == code and verdict.emaid == pki_p521.emaid  # [V2G20-2218]


def test_unsigned_request_is_a_signature_error(pki_p521):
    verdict = verify_authorization_req(pnc_authorization_req(pki_p521), _roots(pki_p521))
    assert verdict.response_code == "FAILED_SignatureError" and verdict.error.rule == "missing"


def test_garbage_contract_certificate_is_a_validation_error(pki_p521):
    req = _signed(pki_p521)
    req.PnC_AReqAuthorizationMode.ContractCertificateChain.Certificate = b"\x30\x03\x02\x01\x00"
    assert verify_authorization_req(req, _roots(pki_p521)).response_code == "WARNING_CertificateValidationError"


def test_compat_p256_contract_needs_the_compat_profile(pki_compat):
    signed = _signed(pki_compat)
    roots = _roots(pki_compat)
    assert verify_authorization_req(signed, roots, profile="compat").response_code == "OK"
    assert verify_authorization_req(signed, roots).response_code == "WARNING_CertificateValidationError"


def test_eim_request_is_not_a_pnc_request(pki_p521):
    req = dataclasses.replace(pnc_authorization_req(pki_p521), PnC_AReqAuthorizationMode=None)
    assert verify_authorization_req(req, _roots(pki_p521)).response_code == "WARNING_GeneralPnCAuthorizationError"
    with pytest.raises(ValueError):
        sign_authorization_req(req, pki_p521.load_private_key("contract"))
