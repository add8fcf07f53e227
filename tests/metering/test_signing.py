"""MeterSignature: documented byte layout, raw r‖s, verified by an independent ECDSA implementation."""
import hashlib
import os
import stat
import struct

import ecdsa
import pytest

from metering import FileKeySigner, MeterInfo, SignatureInvalid, sign_meter_info, verify_meter_info


def documented_layout(meter_id, charged, discharged, status, timestamp):
    # Built from the layout table in metering.signing's docstring, field by field.
    mid = meter_id.encode()
    return (b"MI" + bytes([1]) + bytes([len(mid)]) + mid + struct.pack(">Q", charged)
            + b"\x01" + struct.pack(">Q", discharged)
            + b"\x00" + bytes(8) + b"\x00" + bytes(8)
            + b"\x01" + struct.pack(">h", status)
            + b"\x01" + struct.pack(">Q", timestamp))


@pytest.fixture
def signer(tmp_path):
    return FileKeySigner(tmp_path / "meter.pem")


def test_key_file_is_created_with_mode_0600(tmp_path):
    FileKeySigner(tmp_path / "k.pem")
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600


def test_meter_info_signed_bytes_follow_the_documented_layout():
    info = MeterInfo("EMU-0001", charged_wh=12345, discharged_wh=678, meter_status=-2, meter_timestamp=1_767_225_600)
    assert info.signed_bytes() == documented_layout("EMU-0001", 12345, 678, -2, 1_767_225_600)


def test_meter_signature_is_64_byte_r_s_that_python_ecdsa_verifies(signer):
    info = sign_meter_info(MeterInfo("EMU-0001", 42, 7, meter_status=0, meter_timestamp=1_700_000_000), signer)
    assert len(info.meter_signature) == 64
    key = ecdsa.VerifyingKey.from_der(signer.public_key_der())
    message = documented_layout("EMU-0001", 42, 7, 0, 1_700_000_000)
    assert key.verify(info.meter_signature, message, hashfunc=hashlib.sha256, sigdecode=ecdsa.util.sigdecode_string)
    verify_meter_info(info, signer.public_key_der())


def test_changed_meter_info_value_fails_with_err_sig_invalid(signer):
    info = sign_meter_info(MeterInfo("EMU-0001", 42, 7, meter_status=0, meter_timestamp=1_700_000_000), signer)
    from dataclasses import replace
    with pytest.raises(SignatureInvalid) as err:
        verify_meter_info(replace(info, charged_wh=43), signer.public_key_der())
    assert err.value.code == "ERR_SIG_INVALID"


def test_signature_from_another_key_fails(signer, tmp_path):
    other = FileKeySigner(tmp_path / "other.pem")
    info = sign_meter_info(MeterInfo("EMU-0001", 1), other)
    with pytest.raises(SignatureInvalid):
        verify_meter_info(info, signer.public_key_der())


def test_meter_id_longer_than_32_characters_is_refused():
    with pytest.raises(ValueError):
        MeterInfo("X" * 33, 0).signed_bytes()
