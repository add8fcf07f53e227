"""Plug & Charge AuthorizationReq: the EV signs PnC_AReqAuthorizationMode with its contract key [V2G20-1063];
the SECC checks the GenChallenge, the contract chain and the signature (facts/iso15118-20.md §3.3, §7.3)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from cryptography import x509

from certs import CertificateError, Profile, verify_chain
from exi.generated.iso20 import AuthorizationReq

from ._certificates import as_datetime, chain_of, common_name
from .errors import SignatureError
from .xmldsig import sign_elements, verify_signature

EXPIRES_SOON = dt.timedelta(days=14)  # [V2G20-2218]


class AuthorizationVerdict(NamedTuple):
    """What the SECC answers: `response_code` (-20 ResponseCode), `emaid` (contract CN, None unless OK*),
    `error` (the SignatureError / CertificateError behind a non-OK code)."""

    response_code: str
    emaid: str | None = None
    error: Exception | None = None


def sign_authorization_req(req: AuthorizationReq, contract_key) -> AuthorizationReq:
    """EV side: a copy of `req` whose Header.Signature covers req.PnC_AReqAuthorizationMode (by its Id)."""
    mode = req.PnC_AReqAuthorizationMode
    if mode is None:
        raise ValueError("only a PnC AuthorizationReq is signed")
    signature = sign_elements([(mode.Id, mode)], contract_key, "iso20")
    return dataclasses.replace(req, Header=dataclasses.replace(req.Header, Signature=signature))


def verify_authorization_req(req: AuthorizationReq, mo_roots: Sequence[x509.Certificate],
                             now: float | dt.datetime | None = None, *, gen_challenge: bytes | None = None,
                             profile: Profile | str = Profile.ISO20) -> AuthorizationVerdict:
    """SECC side: GenChallenge (when given) → contract chain to one of `mo_roots` → signature.

    Codes: WARNING_ChallengeInvalid [V2G20-2228]; certs' WARNING_Certificate* for chain failures;
    FAILED_SignatureError for any signature failure; OK_CertificateExpiresSoon when the contract certificate
    expires within 14 days [V2G20-2218]; otherwise OK. Revocation (OCSP) is not checked here.
    """
    mode = req.PnC_AReqAuthorizationMode
    if mode is None:
        return AuthorizationVerdict("WARNING_GeneralPnCAuthorizationError")
    if gen_challenge is not None and mode.GenChallenge != gen_challenge:
        return AuthorizationVerdict("WARNING_ChallengeInvalid")
    now = as_datetime(now)
    try:
        leaf, sub_cas = chain_of(mode.ContractCertificateChain)
        verify_chain(leaf, sub_cas, mo_roots, role="contract", now=now, profile=profile)
        emaid = common_name(leaf)
        verify_signature(req.Header.Signature, [(mode.Id, mode)], leaf, "iso20")
    except (CertificateError, SignatureError) as exc:
        return AuthorizationVerdict(exc.response_code, None, exc)
    if leaf.not_valid_after_utc - now < EXPIRES_SOON:
        return AuthorizationVerdict("OK_CertificateExpiresSoon", emaid)
    return AuthorizationVerdict("OK", emaid)
