"""MeteringConfirmationReq: the EV signs SignedMeteringData (facts/iso15118-20.md §4.6, signatures.md §2).

No -20 text names the EV's key for this signature: by analogy with -2's MeteringReceipt the contract key is
used in Plug & Charge; with EIM there is no contract, so the vehicle certificate the EV presented in TLS
[V2G20-2339] is the natural verifier (our choice, low confidence). Failure is FAILED_MeteringSignatureNotValid.
"""
from __future__ import annotations

from exi.generated.iso20 import MeteringConfirmationReq, SignedMeteringData
from exi.generated.xmldsig import Signature

from .errors import SignatureError
from .xmldsig import sign_elements, verify_signature

METERING_SIGNATURE_INVALID = "FAILED_MeteringSignatureNotValid"


def sign_metering_data(signed_metering_data: SignedMeteringData, ev_key) -> Signature:
    """EV side: the Header.Signature of a MeteringConfirmationReq carrying `signed_metering_data`."""
    return sign_elements([(signed_metering_data.Id, signed_metering_data)], ev_key, "iso20")


def verify_metering_confirmation(req: MeteringConfirmationReq, ev_cert) -> None:
    """SECC side: raise SignatureError (ERR_SIG_INVALID, response_code FAILED_MeteringSignatureNotValid)."""
    data = req.SignedMeteringData
    try:
        verify_signature(req.Header.Signature, [(data.Id, data)], ev_cert, "iso20")
    except SignatureError as exc:
        raise exc.with_response_code(METERING_SIGNATURE_INVALID) from exc.__cause__
