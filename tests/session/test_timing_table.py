"""The timer values per message, against ISO 15118-20 Tables 215-217 as transcribed in the facts (§5)."""
import pytest

from iso15118.session.timing import timing_of

GENERAL = ["supportedAppProtocolReq", "SessionSetupReq", "AuthorizationSetupReq", "AuthorizationReq",
           "ServiceDiscoveryReq", "ServiceSelectionReq", "DC_ChargeParameterDiscoveryReq",
           "AC_ChargeParameterDiscoveryReq", "ScheduleExchangeReq", "PowerDeliveryReq",
           "MeteringConfirmationReq", "SessionStopReq", "DC_CableCheckReq", "DC_PreChargeReq",
           "DC_WeldingDetectionReq", "VehicleCheckInReq", "VehicleCheckOutReq"]


@pytest.mark.parametrize("request_name", GENERAL)
def test_general_messages_have_2s_evcc_timeout_and_1_5s_secc_performance(request_name):
    t = timing_of(request_name)
    assert (t.evcc_msg_timeout, t.secc_performance_time, t.secc_sequence_timeout) == (2.0, 1.5, 60.0)


@pytest.mark.parametrize("request_name", ["ServiceDetailReq", "CertificateInstallationReq"])
def test_long_messages_have_5s_and_4_5s(request_name):
    t = timing_of(request_name)
    assert (t.evcc_msg_timeout, t.secc_performance_time, t.secc_sequence_timeout) == (5.0, 4.5, 60.0)


@pytest.mark.parametrize("request_name", ["AC_ChargeLoopReq", "DC_ChargeLoopReq"])
def test_charge_loop_has_0_5s_timeout_0_25s_performance_and_0_5s_sequence_timeout(request_name):
    t = timing_of(request_name)
    assert (t.evcc_msg_timeout, t.secc_performance_time, t.secc_sequence_timeout) == (0.5, 0.25, 0.5)
