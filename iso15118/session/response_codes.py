"""ResponseCodes (V2G_CI_CommonTypes.xsd `responseCodeType`) and the errors that carry them."""
from __future__ import annotations

from enum import Enum


class ResponseCode(str, Enum):
    OK = "OK"
    OK_CertificateExpiresSoon = "OK_CertificateExpiresSoon"
    OK_NewSessionEstablished = "OK_NewSessionEstablished"
    OK_OldSessionJoined = "OK_OldSessionJoined"
    OK_PowerToleranceConfirmed = "OK_PowerToleranceConfirmed"
    WARNING_AuthorizationSelectionInvalid = "WARNING_AuthorizationSelectionInvalid"
    WARNING_CertificateExpired = "WARNING_CertificateExpired"
    WARNING_CertificateNotYetValid = "WARNING_CertificateNotYetValid"
    WARNING_CertificateRevoked = "WARNING_CertificateRevoked"
    WARNING_CertificateValidationError = "WARNING_CertificateValidationError"
    WARNING_ChallengeInvalid = "WARNING_ChallengeInvalid"
    WARNING_EIMAuthorizationFailure = "WARNING_EIMAuthorizationFailure"
    WARNING_eMSPUnknown = "WARNING_eMSPUnknown"
    WARNING_EVPowerProfileViolation = "WARNING_EVPowerProfileViolation"
    WARNING_GeneralPnCAuthorizationError = "WARNING_GeneralPnCAuthorizationError"
    WARNING_NoCertificateAvailable = "WARNING_NoCertificateAvailable"
    WARNING_NoContractMatchingPCIDFound = "WARNING_NoContractMatchingPCIDFound"
    WARNING_PowerToleranceNotConfirmed = "WARNING_PowerToleranceNotConfirmed"
    WARNING_ScheduleRenegotiationFailed = "WARNING_ScheduleRenegotiationFailed"
    WARNING_StandbyNotAllowed = "WARNING_StandbyNotAllowed"
    WARNING_WPT = "WARNING_WPT"
    FAILED = "FAILED"
    FAILED_AssociationError = "FAILED_AssociationError"
    FAILED_ContactorError = "FAILED_ContactorError"
    FAILED_EVPowerProfileInvalid = "FAILED_EVPowerProfileInvalid"
    FAILED_EVPowerProfileViolation = "FAILED_EVPowerProfileViolation"
    FAILED_MeteringSignatureNotValid = "FAILED_MeteringSignatureNotValid"
    FAILED_NoEnergyTransferServiceSelected = "FAILED_NoEnergyTransferServiceSelected"
    FAILED_NoServiceRenegotiationSupported = "FAILED_NoServiceRenegotiationSupported"
    FAILED_PauseNotAllowed = "FAILED_PauseNotAllowed"
    FAILED_PowerDeliveryNotApplied = "FAILED_PowerDeliveryNotApplied"
    FAILED_PowerToleranceNotConfirmed = "FAILED_PowerToleranceNotConfirmed"
    FAILED_ScheduleRenegotiation = "FAILED_ScheduleRenegotiation"
    FAILED_ScheduleSelectionInvalid = "FAILED_ScheduleSelectionInvalid"
    FAILED_SequenceError = "FAILED_SequenceError"
    FAILED_ServiceIDInvalid = "FAILED_ServiceIDInvalid"
    FAILED_ServiceSelectionInvalid = "FAILED_ServiceSelectionInvalid"
    FAILED_SignatureError = "FAILED_SignatureError"
    FAILED_UnknownSession = "FAILED_UnknownSession"
    FAILED_WrongChargeParameter = "FAILED_WrongChargeParameter"

    @property
    def is_failed(self) -> bool:
        # Every FAILED* code ends the session on both sides in -20 (facts §4.7), unlike -2.
        return self.value.startswith("FAILED")


class AppProtocolResponseCode(str, Enum):
    OK_SuccessfulNegotiation = "OK_SuccessfulNegotiation"
    OK_SuccessfulNegotiationWithMinorDeviation = "OK_SuccessfulNegotiationWithMinorDeviation"
    Failed_NoNegotiation = "Failed_NoNegotiation"


def is_failed(code: str) -> bool:
    return code.startswith("FAILED") or code.startswith("Failed")


class SessionError(Exception):
    """A protocol error with a stable `code`: a ResponseCode, or a local code such as `TIMEOUT`."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class PeerProtocolError(SessionError):
    """The peer broke the protocol (wrong sequence, undecodable message, FAILED response)."""
