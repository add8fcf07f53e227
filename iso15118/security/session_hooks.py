"""Adapters between this package and the -20 machines' hooks, which speak `Message` trees (nested dicts keyed
by XSD names, see iso15118.session.messages) and raw EXI payloads.

EVCC (`Evcc(config, contract_signer=..., metering_signer=...)`):
    ContractSigner(contract_key, contract_chain)      contract_chain: [leaf, Sub-CA 2, Sub-CA 1] (no root)
        .authorization_mode(gen_challenge) -> PnC_AReqAuthorizationMode tree {Id, GenChallenge,
                                               ContractCertificateChain}
        .sign_authorization_mode(mode_tree) -> Signature tree for Header["Signature"] of the AuthorizationReq
        .sign_metering_data(signed_metering_data_tree) -> Signature tree (it is also a `metering_signer`)
SECC (`Secc(..., contract_verifier=..., metering_verifier=...)`):
    ContractVerifier(mo_roots, profile="iso20", clock=time.time)
        .verify(request, raw, gen_challenge) -> (ResponseCode, EMAID or "")   decodes `raw` (the EXI payload
                                               as received) and runs verify_authorization_req; remembers the
                                               contract certificate per SessionID on success
    MeteringVerifier(certificate_for)               certificate_for(session_id) -> x509 certificate | None
        .verify(request, raw) -> bool               False (and the machine answers FAILED_MeteringSignatureNotValid)
                                               when the signature is missing/invalid or no certificate is known
    ContractVerifier.contract_certificate(session_id) is a ready `certificate_for` for PnC sessions.
"""
from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from cryptography import x509

import exi
from certs import Profile
from iso15118.session.codec import to_object
from iso15118.session.messages import Message

from ._certificates import chain_of, der_chain
from .errors import SignatureError
from .metering_confirmation import sign_metering_data, verify_metering_confirmation
from .pnc import verify_authorization_req
from .xmldsig import sign_elements

PNC_MODE_ID = "PnC_AReqAuthorizationMode"
REMEMBERED_CONTRACTS = 1024  # per SECC process: enough for every live session, bounded for a daemon


def _tree(obj) -> dict:
    """A typed object as a Message tree (unset optional fields and empty lists left out)."""
    return dataclasses.asdict(obj, dict_factory=lambda items: {k: v for k, v in items if v is not None and v != []})


class ContractSigner:
    def __init__(self, contract_key, contract_chain: Sequence[x509.Certificate]) -> None:
        self._key = contract_key
        self._leaf, self._sub_cas = der_chain(list(contract_chain))

    def authorization_mode(self, gen_challenge: bytes) -> dict:
        return {"Id": PNC_MODE_ID, "GenChallenge": gen_challenge,
                "ContractCertificateChain": {"Certificate": self._leaf,
                                             "SubCertificates": {"Certificate": list(self._sub_cas)}}}

    def sign_authorization_mode(self, mode: dict) -> dict:
        element = to_object(Message("PnC_AReqAuthorizationMode", mode))
        return _tree(sign_elements([(element.Id, element)], self._key, "iso20"))

    def sign_metering_data(self, data: dict) -> dict:
        return _tree(sign_metering_data(to_object(Message("SignedMeteringData", data)), self._key))


class ContractVerifier:
    def __init__(self, mo_roots: Sequence[x509.Certificate], profile: Profile | str = Profile.ISO20,
                 clock: Callable[[], float] = time.time) -> None:
        self._roots = list(mo_roots)
        self._profile = profile
        self._clock = clock
        self._contracts: OrderedDict[bytes, x509.Certificate] = OrderedDict()

    def verify(self, request: Message, raw: bytes, gen_challenge: bytes) -> tuple[str, str]:
        req = exi.decode(raw, schema="iso20")  # the bytes the EV sent: the digest must cover exactly those values
        verdict = verify_authorization_req(req, self._roots, self._clock(), gen_challenge=gen_challenge,
                                           profile=self._profile)
        if verdict.emaid is not None:
            self._contracts[req.Header.SessionID] = chain_of(req.PnC_AReqAuthorizationMode.ContractCertificateChain)[0]
            self._contracts.move_to_end(req.Header.SessionID)
            while len(self._contracts) > REMEMBERED_CONTRACTS:
                self._contracts.popitem(last=False)
        return verdict.response_code, verdict.emaid or ""

    def contract_certificate(self, session_id: bytes) -> x509.Certificate | None:
        return self._contracts.get(session_id)


class MeteringVerifier:
    def __init__(self, certificate_for: Callable[[bytes], x509.Certificate | None]) -> None:
        self._certificate_for = certificate_for

    def verify(self, request: Message, raw: bytes) -> bool:
        req = exi.decode(raw, schema="iso20")
        certificate = self._certificate_for(req.SignedMeteringData.SessionID)
        if certificate is None:
            return False
        try:
            verify_metering_confirmation(req, certificate)
        except SignatureError:
            return False
        return True
