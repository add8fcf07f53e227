"""MeteringConfirmationReq: the EV signs SignedMeteringData; the SECC answers FAILED_MeteringSignatureNotValid."""
import pytest

import exi
from exi.generated.iso20 import Scheduled_SMDTControlMode
from iso15118.security import SignatureError, sign_metering_data, verify_metering_confirmation

from .helpers import metering_confirmation_req, signed_metering_data


def _signed(pki, key=None):
    data = signed_metering_data()
    return metering_confirmation_req(data, sign_metering_data(data, key or pki.load_private_key("contract")))


def test_signed_confirmation_verifies_after_crossing_the_codec(pki):
    req = exi.decode(exi.encode(_signed(pki), schema="iso20"), schema="iso20")
    verify_metering_confirmation(req, pki.load_certificate("contract"))
    (ref,) = req.Header.Signature.SignedInfo.Reference
    assert ref.URI == "#SignedMeteringData"


def _scheduled(data):
    data.Dynamic_SMDTControlMode = None
    data.Scheduled_SMDTControlMode = Scheduled_SMDTControlMode(SelectedScheduleTupleID=1)


TAMPERING = {
    "SessionID": lambda d: setattr(d, "SessionID", bytes(8)),
    "MeterID": lambda d: setattr(d.MeterInfo, "MeterID", "METER-0002"),
    "ChargedEnergyReadingWh": lambda d: setattr(d.MeterInfo, "ChargedEnergyReadingWh", 12_346),
    "BPT_DischargedEnergyReadingWh": lambda d: setattr(d.MeterInfo, "BPT_DischargedEnergyReadingWh", None),
    "MeterSignature": lambda d: setattr(d.MeterInfo, "MeterSignature", bytes(64)),
    "MeterStatus": lambda d: setattr(d.MeterInfo, "MeterStatus", 1),
    "MeterTimestamp": lambda d: setattr(d.MeterInfo, "MeterTimestamp", 1_700_000_101),
    "Receipt amount": lambda d: setattr(d.Receipt.EnergyCosts.Amount, "Value", 1),
    "Receipt removed": lambda d: setattr(d, "Receipt", None),
    "control mode": _scheduled,
}


@pytest.mark.parametrize("field", TAMPERING)
def test_each_signed_metering_field_is_covered(pki, field):
    req = _signed(pki)
    TAMPERING[field](req.SignedMeteringData)
    with pytest.raises(SignatureError) as info:
        verify_metering_confirmation(req, pki.load_certificate("contract"))
    assert info.value.code == "ERR_SIG_INVALID"
    assert info.value.response_code == "FAILED_MeteringSignatureNotValid"


def test_confirmation_signed_by_another_key_is_rejected(pki_p521, other_pki):
    with pytest.raises(SignatureError) as info:
        verify_metering_confirmation(_signed(pki_p521, other_pki.load_private_key("contract")),
                                     pki_p521.load_certificate("contract"))
    assert info.value.response_code == "FAILED_MeteringSignatureNotValid"


def test_unsigned_confirmation_is_rejected(pki_p521):
    with pytest.raises(SignatureError) as info:
        verify_metering_confirmation(metering_confirmation_req(signed_metering_data(), None),
                                     pki_p521.load_certificate("contract"))
    assert info.value.rule == "missing" and info.value.response_code == "FAILED_MeteringSignatureNotValid"


def test_eim_ev_signs_with_its_vehicle_key(pki):
    req = _signed(pki, pki.load_private_key("vehicle"))
    verify_metering_confirmation(req, pki.load_certificate("vehicle"))
    with pytest.raises(SignatureError):
        verify_metering_confirmation(req, pki.load_certificate("contract"))
