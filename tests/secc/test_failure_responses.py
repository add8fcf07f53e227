"""Every FAILED answer the SECC can give is a complete, schema-valid message of the requested type: it must
encode (the EXI encoder checks every XSD facet) and decode back to the same code."""
import pytest

from iso15118.secc.failures import mandatory_content
from iso15118.session import codec
from iso15118.session.messages import Message, payload_type_of

RESPONSES = ["SessionSetupRes", "AuthorizationSetupRes", "AuthorizationRes", "ServiceDiscoveryRes",
             "ServiceDetailRes", "ServiceSelectionRes", "ScheduleExchangeRes", "PowerDeliveryRes",
             "MeteringConfirmationRes", "SessionStopRes", "CertificateInstallationRes",
             "DC_ChargeParameterDiscoveryRes", "DC_CableCheckRes", "DC_PreChargeRes", "DC_ChargeLoopRes",
             "DC_WeldingDetectionRes", "AC_ChargeParameterDiscoveryRes", "AC_ChargeLoopRes"]


@pytest.mark.parametrize("name", RESPONSES)
def test_failed_response_template_is_schema_valid(name):
    body = mandatory_content(name, "DE*V2G*E0001", {"ServiceID": 2})
    message = Message(name, {"Header": {"SessionID": bytes(range(1, 9)), "TimeStamp": 1_800_000_000},
                             "ResponseCode": "FAILED_SequenceError", **body})
    decoded, _ = codec.decode(payload_type_of(name), codec.encode(message))
    assert decoded.name == name and decoded["ResponseCode"] == "FAILED_SequenceError"


def test_app_protocol_failure_is_failed_no_negotiation():
    message = Message("supportedAppProtocolRes", {"ResponseCode": "Failed_NoNegotiation",
                                                  **mandatory_content("supportedAppProtocolRes", "", {})})
    assert codec.decode(0x8001, codec.encode(message))[0]["ResponseCode"] == "Failed_NoNegotiation"
