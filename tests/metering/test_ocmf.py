"""OCMF records: the facts' published vector, pyocmf as independent verifier, tamper detection."""
import pytest
from pyocmf import OCMF, check_eichrecht_transaction

from metering import FileKeySigner, OcmfIdentity, OcmfReading, OcmfUser, SignatureInvalid, SyncState, build_payload
from metering import sign_payload, verify_ocmf

# facts/metering.md §1.6: made-up key, valid in pyocmf, @road-labs/ocmf and the TPS.
VECTOR_PAYLOAD = (
    '{"FV":"1.0","GI":"ACME EVSE-1","GS":"GW0001","GV":"0.1.0","PG":"T7","MV":"ACME","MM":"EMU","MS":"MTR0001",'
    '"IS":true,"IL":"TRUSTED","IF":["OCPP_AUTH_TLS"],"IT":"CENTRAL","ID":"TOKEN123","RD":[{"TM":"2024-05-01T10:00:00,'
    '000+0000 S","TX":"B","RV":1234.56,"RI":"01-00:B0.08.00*FF","RU":"kWh","RT":"AC","EF":"","ST":"G"},{"TM":"2024-05-'
    '01T11:00:00,000+0000 S","TX":"E","RV":1245.01,"RI":"01-00:B0.08.00*FF","RU":"kWh","RT":"AC","EF":"","ST":"G"}]}')
VECTOR_SIGNATURE = ('{"SA":"ECDSA-secp256r1-SHA256","SD":"3046022100E3B5299A3C0130200FB002A0E8AAA125114C4CB4449F8709B8'
                    'FFFA063206E03D022100A18A37B86D04207384AAE79708E173D14FB5FB2E8510BD843D22BCF507EB533D"}')
VECTOR_KEY = bytes.fromhex(
    "3059301306072A8648CE3D020106082A8648CE3D03010703420004355611BADF3676A7546B592CB02FA60991BF93C50B98A76330F18808F5"
    "DDE78D989EE168451C606B96FAD4677777063DD2F75A588760DAF4B3DFCF990762D865")


@pytest.fixture
def signer(tmp_path):
    return FileKeySigner(tmp_path / "meter.pem")


def record(signer, tx="B", import_wh=1234560, export_wh=0, pagination="T1", wall=1_714_557_600.0):
    payload = build_payload(OcmfIdentity(), pagination, [OcmfReading(wall, SyncState.SYNCHRONISED, import_wh,
                                                                      export_wh, tx=tx)], OcmfUser(id="TOKEN123"))
    return sign_payload(payload, signer)


def test_published_vector_verifies():
    assert verify_ocmf(f"OCMF|{VECTOR_PAYLOAD}|{VECTOR_SIGNATURE}", VECTOR_KEY).data["PG"] == "T7"


def test_published_vector_with_changed_rv_fails_with_err_sig_invalid():
    tampered = VECTOR_PAYLOAD.replace("1245.01", "1245.02")
    with pytest.raises(SignatureInvalid) as err:
        verify_ocmf(f"OCMF|{tampered}|{VECTOR_SIGNATURE}", VECTOR_KEY)
    assert err.value.code == "ERR_SIG_INVALID"


def test_our_record_verifies_with_pyocmf(signer):
    text = record(signer)
    assert OCMF.from_string(text).verify_signature(signer.public_key_der().hex())


def test_tampered_record_fails_in_pyocmf_and_in_our_verifier(signer):
    text = record(signer, import_wh=1234560)
    tampered = text.replace('"RV":1234.560', '"RV":1234.570')
    assert tampered != text
    assert not OCMF.from_string(tampered).verify_signature(signer.public_key_der().hex())
    with pytest.raises(SignatureInvalid):
        verify_ocmf(tampered, signer.public_key_der())


def test_rv_keeps_three_decimals_and_time_has_comma_millis_and_status(signer):
    data = verify_ocmf(record(signer, import_wh=1234500), signer.public_key_der()).payload
    assert '"RV":1234.500' in data  # trailing zero kept: the number is signed as written
    assert '"TM":"2024-05-01T10:00:00,000+0000 S"' in data


def test_begin_and_end_records_pass_pyocmfs_eichrecht_transaction_checks(signer):
    begin = OCMF.from_string(record(signer, "B", 1_000_000, 5_000, "T1"))
    end = OCMF.from_string(record(signer, "E", 1_010_450, 5_000, "T2", wall=1_714_561_200.0))
    assert check_eichrecht_transaction(begin.payload, end.payload) == []


@pytest.mark.parametrize("garbage", ["", "OCMF", "OCMF|{}|", "OCMF|{}|[]", "XXXX|{}|{}", "OCMF|{}|{\"SD\":\"zz\"}",
                                     "OCMF|a|b|c"])
def test_malformed_records_raise_err_sig_invalid(garbage):
    with pytest.raises(SignatureInvalid):
        verify_ocmf(garbage, VECTOR_KEY)


@pytest.mark.parametrize("current_type", ["AC", "DC"])
def test_reading_type_rt_is_the_sessions_current_type_and_verifies_in_pyocmf(signer, current_type):
    payload = build_payload(OcmfIdentity(), "T1", [OcmfReading(1_714_557_600.0, SyncState.SYNCHRONISED, 1000, 0,
                                                               tx="B", current_type=current_type)])
    parsed = OCMF.from_string(sign_payload(payload, signer))
    assert parsed.verify_signature(signer.public_key_der().hex())
    assert {rd.RT.value for rd in parsed.payload.RD} == {current_type}


def test_a_reading_type_outside_ac_dc_is_refused():
    with pytest.raises(ValueError):  # facts/metering.md §1.3: RT is AC or DC
        OcmfReading(1_714_557_600.0, SyncState.SYNCHRONISED, 1000, 0, current_type="3P")
