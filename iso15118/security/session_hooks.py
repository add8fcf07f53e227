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
        .verify(request, raw, vehicle_certificate=None) -> bool   False (and the machine answers
                                               FAILED_MeteringSignatureNotValid) when the signature is
                                               missing/invalid or no certificate is known; without a session
                                               certificate (EIM) the TLS vehicle certificate (DER) is the key
    ContractVerifier.contract_certificate(session_id) is a ready `certificate_for` for PnC sessions.

CertificateInstallation (not yet in the machines' tables; these make each side a few lines)
    EV:   installer = ContractInstaller(oem_prov_key, oem_chain, v2g_roots, pcid, profile="iso20", clock=time.time)
          installer.request_body() -> CertificateInstallationReq content (without Header)
          installer.sign_request(body) -> Signature tree for Header["Signature"]
          installer.accept(response, raw) -> ContractSigner for the delivered contract   raises SignatureError /
                                             certs.CertificateError / certs.KeyDeliveryError: reject the Res
    SECC: service = CertificateInstallationService(oem_roots, contract_key, contract_chain, cps_key, cps_chain,
                                                   profile="iso20", clock=time.time)   (emulated CPS/eMSP)
          service.respond(request, raw, header) -> InstallationReply(response_code, body, error)
              body is the whole CertificateInstallationRes content *including* "Header" (it carries the CPS
              signature; pass it through Reply(body, code)). On failure body is {} and response_code is
              FAILED_SignatureError (request signature) or FAILED (OEM chain: -20 has no FAILED_Certificate*
              code, and a WARNING answer would need signed installation data we must not produce).
"""
from __future__ import annotations

import dataclasses
import time
from enum import Enum
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple

from cryptography import x509

import exi
from certs import CertificateError, Profile
from exi.generated.iso20_types import MessageHeader
from iso15118.session.codec import to_object
from iso15118.session.messages import Message

from ._certificates import chain_of, der_chain
from .errors import SignatureError
from .installation import (accept_certificate_installation_res, build_certificate_installation_res,
                           verify_certificate_installation_req)
from .metering_confirmation import sign_metering_data, verify_metering_confirmation
from .pnc import verify_authorization_req
from .xmldsig import sign_elements

PNC_MODE_ID = "PnC_AReqAuthorizationMode"
REMEMBERED_CONTRACTS = 1024  # per SECC process: enough for every live session, bounded for a daemon


def _tree(obj) -> dict:
    """A typed object as a Message tree (unset optional fields and empty lists left out, enums as values)."""
    return dataclasses.asdict(obj, dict_factory=lambda items: {
        k: v.value if isinstance(v, Enum) else v for k, v in items if v is not None and v != []})


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

    def verify(self, request: Message, raw: bytes, vehicle_certificate: bytes | None = None) -> bool:
        req = exi.decode(raw, schema="iso20")
        certificate = self._certificate_for(req.SignedMeteringData.SessionID)
        if certificate is None and vehicle_certificate is not None:
            # EIM: no contract key; the EV signs with the key of the vehicle certificate it presented in TLS.
            certificate = x509.load_der_x509_certificate(vehicle_certificate)
        if certificate is None:
            return False
        try:
            verify_metering_confirmation(req, certificate)
        except SignatureError:
            return False
        return True


class ContractInstaller:
    def __init__(self, oem_prov_key, oem_chain: Sequence[x509.Certificate], v2g_roots: Sequence[x509.Certificate],
                 pcid: str, profile: Profile | str = Profile.ISO20, clock: Callable[[], float] = time.time) -> None:
        self._key = oem_prov_key
        self._leaf, self._sub_cas = der_chain(list(oem_chain))
        self._roots = list(v2g_roots)
        self._pcid = pcid
        self._profile = profile
        self._clock = clock

    def request_body(self, maximum_chains: int = 1) -> dict:
        return {"OEMProvisioningCertificateChain": {"Id": "OEMProvisioningCertificateChain", "Certificate": self._leaf,
                                                    "SubCertificates": {"Certificate": list(self._sub_cas)}},
                "ListOfRootCertificateIDs": {"RootCertificateID": [
                    {"X509IssuerName": root.issuer.rfc4514_string(), "X509SerialNumber": root.serial_number}
                    for root in self._roots]},
                "MaximumContractCertificateChains": maximum_chains}

    def sign_request(self, body: dict) -> dict:
        chain = to_object(Message("CertificateInstallationReq", {
            "Header": {"SessionID": bytes(8), "TimeStamp": 0}, **body})).OEMProvisioningCertificateChain
        return _tree(sign_elements([(chain.Id, chain)], self._key, "iso20"))

    def accept(self, response: Message, raw: bytes) -> ContractSigner:
        res = exi.decode(raw, schema="iso20")
        installed = accept_certificate_installation_res(res, self._key, self._roots, self._clock(), self._pcid,
                                                        profile=self._profile)
        return ContractSigner(installed.private_key, [installed.certificate, *installed.sub_certificates])


class InstallationReply(NamedTuple):
    response_code: str
    body: dict
    error: Exception | None = None


class CertificateInstallationService:
    def __init__(self, oem_roots: Sequence[x509.Certificate], contract_key, contract_chain: Sequence[x509.Certificate],
                 cps_key, cps_chain: Sequence[x509.Certificate], profile: Profile | str = Profile.ISO20,
                 clock: Callable[[], float] = time.time) -> None:
        self._oem_roots = list(oem_roots)
        self._contract = (contract_key, list(contract_chain))
        self._cps = (cps_key, list(cps_chain))
        self._profile = profile
        self._clock = clock

    def respond(self, request: Message, raw: bytes, header: dict) -> InstallationReply:
        req = exi.decode(raw, schema="iso20")
        try:
            oem_certificate = verify_certificate_installation_req(req, self._oem_roots, self._clock(),
                                                                  profile=self._profile)
        except SignatureError as exc:
            return InstallationReply(exc.response_code, {}, exc)
        except CertificateError as exc:
            return InstallationReply("FAILED", {}, exc)
        res = build_certificate_installation_res(
            MessageHeader(SessionID=header["SessionID"], TimeStamp=header["TimeStamp"]), oem_certificate,
            self._contract[0], self._contract[1], self._cps[0], self._cps[1])
        body = _tree(res)
        body.pop("ResponseCode")
        return InstallationReply(res.ResponseCode, body)
