"""Payload builders and the configuration file."""
import base64
import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from metering.ocpp import OcppConfig, OcppConfigInvalid, certificate_hash_data, next_boundary, oca_public_key
from metering.ocpp.messages import signed_meter_value, timestamp

START_OF_DAY = 1_767_225_600  # 2026-01-01T00:00:00Z (86400 × 20454)


def _cert(cn, key, issuer_key, issuer_cn, serial):
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
            .public_key(key.public_key()).serial_number(serial).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(issuer_key, hashes.SHA256()))


@pytest.mark.parametrize("algorithm,hash_class", [("SHA256", hashes.SHA256), ("SHA384", hashes.SHA384)])
def test_certificate_hash_data_equals_the_ocsp_certid_cryptography_builds(algorithm, hash_class):
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Sub-CA 2", ca_key, ca_key, "Sub-CA 2", 1)
    leaf = _cert("DEABCC123456789", leaf_key, ca_key, "Sub-CA 2", 0x1A2B3C4D5E)
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hash_class()).build()
    data = certificate_hash_data(leaf, ca, "http://ocsp.example/", algorithm)
    assert data == {"hash_algorithm": algorithm, "issuer_name_hash": request.issuer_name_hash.hex(),
                    "issuer_key_hash": request.issuer_key_hash.hex(), "serial_number": "1a2b3c4d5e",
                    "responder_url": "http://ocsp.example/"}


def test_public_key_is_the_oca_base16_asn1_string():
    der = bytes.fromhex("3059301306072A8648CE3D020106082A8648CE3D030107034200") + bytes(range(65))
    assert base64.b64decode(oca_public_key(der)) == b"oca:base16:asn1:" + der.hex().upper().encode()


def test_a_record_too_big_for_signed_meter_data_is_refused():
    assert len(signed_meter_value("x" * 1875, "")["signed_meter_data"]) == 2500
    with pytest.raises(ValueError):
        signed_meter_value("x" * 1876, "")


def test_timestamps_are_utc_with_milliseconds():
    assert timestamp(1_767_225_600.25) == "2026-01-01T00:00:00.250Z"


def test_config_reads_ocpp_variable_names_from_a_file(tmp_path):
    path = tmp_path / "ocpp.json"
    path.write_text(json.dumps({"csms_url": "wss://csms.example/ocpp", "OfflineThreshold": 120,
                                "MessageAttemptsTransactionEvent": 5, "MessageAttemptIntervalTransactionEvent": 10,
                                "QueueAllMessages": True, "AlignedDataCtrlr.Interval": 900}))
    config = OcppConfig.from_file(path)
    assert (config.offline_threshold, config.message_attempts_transaction_event,
            config.message_attempt_interval_transaction_event, config.queue_all_messages,
            config.aligned_data_interval) == (120, 5, 10.0, True, 900)
    toml = tmp_path / "ocpp.toml"
    toml.write_text('station_id = "CS042"\nOfflineThreshold = 30\n')
    assert OcppConfig.from_file(toml).station_id == "CS042"


@pytest.mark.parametrize("data", [
    {"OfflineTreshold": 1}, {"QueueAllMessages": "yes"}, {"OfflineThreshold": True},
    {"PublicKeyWithSignedMeterValue": "Sometimes"}, {"MessageAttemptsTransactionEvent": 0},
])
def test_config_rejects_unknown_names_and_bad_values(data):
    with pytest.raises(OcppConfigInvalid) as info:
        OcppConfig.from_dict(data)
    assert info.value.code == "ERR_OCPP_CONFIG"


@pytest.mark.parametrize("wall,interval,expected", [
    (START_OF_DAY + 10, 300, START_OF_DAY + 300), (START_OF_DAY + 300, 300, START_OF_DAY + 600),
    (START_OF_DAY + 86_000, 7000, START_OF_DAY + 86_400),  # 7000 s does not divide a day: restart at midnight
    (START_OF_DAY + 86_400 + 1, 7000, START_OF_DAY + 86_400 + 7000),
])
def test_aligned_boundaries_count_from_midnight(wall, interval, expected):
    assert next_boundary(wall, interval) == expected


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                        max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["OfflineThreshold", "QueueAllMessages", "csms_url", "message_timeout",
                                        "PublicKeyWithSignedMeterValue", "bogus"]), json_values, max_size=4))
def test_config_from_random_data_is_a_config_or_the_typed_error(data):
    try:
        OcppConfig.from_dict(data)
    except OcppConfigInvalid:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode())))
def test_public_key_decoder_raises_only_value_errors(text):
    from metering.ocpp import decode_public_key
    try:
        decode_public_key(text)
    except ValueError:
        pass
