"""Schema-valid content for a response that only carries a FAILED code (sequence error, unknown session, ...).

Every FAILED response must still be a complete message of the requested type; these are the neutral values of
its mandatory elements.
"""
from __future__ import annotations

from typing import Any

from iso15118.session.messages import rational

_ZERO = rational(0)
_DC_LOOP = {"EVSEPresentCurrent": _ZERO, "EVSEPresentVoltage": _ZERO, "EVSEPowerLimitAchieved": False,
            "EVSECurrentLimitAchieved": False, "EVSEVoltageLimitAchieved": False,
            "Scheduled_DC_CLResControlMode": {}}


def mandatory_content(response: str, evse_id: str, request_body: dict[str, Any]) -> dict[str, Any] | None:
    """Content besides Header/ResponseCode, or None when we cannot answer this message type at all."""
    table: dict[str, dict[str, Any]] = {
        "supportedAppProtocolRes": {},
        "SessionSetupRes": {"EVSEID": evse_id},
        "AuthorizationSetupRes": {"AuthorizationServices": ["EIM"], "CertificateInstallationService": False,
                                  "EIM_ASResAuthorizationMode": {}},
        "AuthorizationRes": {"EVSEProcessing": "Finished"},
        "ServiceDiscoveryRes": {"ServiceRenegotiationSupported": False,
                                "EnergyTransferServiceList": {"Service": [{"ServiceID": 2, "FreeService": False}]}},
        "ServiceDetailRes": {"ServiceID": request_body.get("ServiceID", 2),
                             "ServiceParameterList": {"ParameterSet": [
                                 {"ParameterSetID": 0, "Parameter": [{"Name": "ControlMode", "intValue": 1}]}]}},
        "ServiceSelectionRes": {},
        "ScheduleExchangeRes": {"EVSEProcessing": "Finished", "Dynamic_SEResControlMode": {}},
        "PowerDeliveryRes": {},
        "MeteringConfirmationRes": {},
        "SessionStopRes": {},
        "DC_ChargeParameterDiscoveryRes": {"DC_CPDResEnergyTransferMode": {
            k: _ZERO for k in ("EVSEMaximumChargePower", "EVSEMinimumChargePower", "EVSEMaximumChargeCurrent",
                               "EVSEMinimumChargeCurrent", "EVSEMaximumVoltage", "EVSEMinimumVoltage")}},
        "DC_CableCheckRes": {"EVSEProcessing": "Finished"},
        "DC_PreChargeRes": {"EVSEPresentVoltage": _ZERO},
        "DC_ChargeLoopRes": _DC_LOOP,
        "DC_WeldingDetectionRes": {"EVSEPresentVoltage": _ZERO},
        "AC_ChargeParameterDiscoveryRes": {"AC_CPDResEnergyTransferMode": {
            "EVSEMaximumChargePower": _ZERO, "EVSEMinimumChargePower": _ZERO, "EVSENominalFrequency": _ZERO}},
        "AC_ChargeLoopRes": {"Scheduled_AC_CLResControlMode": {}},
        # No installation data can be produced on failure: placeholders of the schema's fixed sizes.
        "CertificateInstallationRes": {
            "EVSEProcessing": "Finished", "CPSCertificateChain": {"Certificate": b"\x00"},
            "SignedInstallationData": {"Id": "SignedInstallationData",
                                       "ContractCertificateChain": {"Certificate": b"\x00",
                                                                    "SubCertificates": {"Certificate": [b"\x00"]}},
                                       "ECDHCurve": "SECP521", "DHPublicKey": bytes(133),
                                       "SECP521_EncryptedPrivateKey": bytes(94)},
            "RemainingContractCertificateChains": 0},
    }
    return table.get(response)
