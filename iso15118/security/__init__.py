"""ISO 15118-20 XML signatures over EXI and the Plug & Charge helpers (facts/signatures.md, iso15118-20.md §3, §7).

All functions take and return the typed classes of `exi.generated.iso20` / `.xmldsig`; `now` is Unix seconds
(float) or an aware datetime; certificates are `cryptography.x509.Certificate`; keys are `cryptography` private
keys or any `Signer` (public_key(), sign(bytes) -> raw SignatureValue) for PKCS#11/TPM-held keys.

Core (xmldsig.py, suites.py)
    sign_elements(elements: [(Id, element)], private_key, schema="iso20") -> xmldsig.Signature
    verify_signature(signature, elements, public_key_or_cert, schema="iso20") -> None   raises SignatureError
    Suites by key type: P521 (ecdsa-sha512 / sha512, r‖s 132 B), ED448 (…xmldsig#Ed448 / …xmlenc#SHAKE256,
    64-byte digest, 114 B), P256_COMPAT (ecdsa-sha256 / sha256, r‖s 64 B; compat profile and ISO 15118-2).
    Lower level: element_fragment(element, schema), reference_digest(element, suite, schema),
    build_signed_info([(Id, digest)], suite), signed_info_fragment(signed_info) (xmldsig-only grammar).

Plug & Charge AuthorizationReq (pnc.py)                         reads/writes
    sign_authorization_req(req, contract_key) -> new req        writes Header.Signature over
                                                                PnC_AReqAuthorizationMode (by its Id)
    verify_authorization_req(req, mo_roots, now=None, *, gen_challenge=None, profile="iso20")
        -> AuthorizationVerdict(response_code, emaid, error)    reads Header.Signature, PnC_AReqAuthorizationMode
        (GenChallenge, ContractCertificateChain). Codes: OK, OK_CertificateExpiresSoon (< 14 days),
        WARNING_ChallengeInvalid, WARNING_Certificate{Expired,NotYetValid,Revoked,ValidationError},
        WARNING_GeneralPnCAuthorizationError (no PnC part), FAILED_SignatureError. Never raises for bad input.

CertificateInstallation (installation.py)
    EV:   sign_certificate_installation_req(req, oem_prov_key) -> new req (Header.Signature over
          OEMProvisioningCertificateChain)
    SECC: verify_certificate_installation_req(req, oem_roots, now=None, *, profile) -> OEM provisioning cert
          raises certs.CertificateError (.response_code WARNING_Certificate*) / SignatureError
    CPS:  build_certificate_installation_res(header, oem_certificate, contract_key, contract_chain, cps_key,
          cps_chain, *, remaining_chains=0) -> CertificateInstallationRes (SignedInstallationData signed by the
          CPS leaf; key encrypted with certs.encrypt_contract_key, PCID = OEM certificate CN). P-521 only.
    EV:   accept_certificate_installation_res(res, oem_prov_key, v2g_roots, now, pcid, *, profile)
          -> InstalledContract(private_key, certificate, sub_certificates, emaid)
          raises CertificateError (CPS chain), SignatureError, certs.KeyDeliveryError: reject the Res.

MeteringConfirmation (metering_confirmation.py)
    EV:   sign_metering_data(signed_metering_data, ev_key) -> Signature   (put it in Header.Signature)
    SECC: verify_metering_confirmation(req, ev_cert) -> None              reads Header.Signature,
          SignedMeteringData; raises SignatureError with response_code FAILED_MeteringSignatureNotValid.
    ev_cert: the contract certificate in PnC; the TLS vehicle certificate with EIM (no -20 text names it).
    MeterInfo.MeterSignature (the meter's own signature) is verified by metering.verify_meter_info.

Errors: SignatureError.code == "ERR_SIG_INVALID", .response_code (-20 ResponseCode), .rule (failed check).

Wiring into the -20 machines (session_hooks.py; Message trees and raw EXI payloads)
    Evcc(config, contract_signer=ContractSigner(contract_key, contract_chain),
         metering_signer=<the same ContractSigner, or one over the vehicle key for EIM>)
        The EVCC must also put ContractSigner.sign_authorization_mode(body["PnC_AReqAuthorizationMode"]) into
        Header["Signature"] of the PnC AuthorizationReq (its only missing line).
    verifier = ContractVerifier(mo_roots, profile="iso20", clock=time.time)
    Station(config, contract_verifier=verifier,
            metering_verifier=MeteringVerifier(verifier.contract_certificate))   # or a TLS-peer lookup for EIM
    CertificateInstallation: ContractInstaller (EV) and CertificateInstallationService (SECC, emulated CPS);
    see session_hooks' docstring for the fields they read and write.
"""
from .errors import ERR_SIG_INVALID, SignatureError
from .suites import ED448, P256_COMPAT, P521, KeySigner, SignatureSuite, Signer
from .xmldsig import (build_signed_info, element_fragment, reference_digest, sign_elements, signed_info_fragment,
                      verify_signature)
from .installation import (InstalledContract, accept_certificate_installation_res,
                           build_certificate_installation_res, sign_certificate_installation_req,
                           verify_certificate_installation_req)
from .metering_confirmation import sign_metering_data, verify_metering_confirmation
from .pnc import AuthorizationVerdict, sign_authorization_req, verify_authorization_req

# session_hooks is imported explicitly (`from iso15118.security.session_hooks import ...`): it depends on the
# session layer, the functions above do not.
__all__ = ["AuthorizationVerdict", "ED448", "ERR_SIG_INVALID", "InstalledContract", "KeySigner", "P256_COMPAT",
           "P521", "SignatureError", "SignatureSuite", "Signer", "accept_certificate_installation_res",
           "build_certificate_installation_res", "build_signed_info", "element_fragment", "reference_digest",
           "sign_authorization_req", "sign_certificate_installation_req", "sign_elements", "sign_metering_data",
           "signed_info_fragment", "verify_authorization_req", "verify_certificate_installation_req",
           "verify_metering_confirmation", "verify_signature"]
