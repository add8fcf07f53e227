"""Message builders for the security tests (typed -20 objects filled from a test PKI)."""
from cryptography.hazmat.primitives import serialization

from exi.generated.iso20 import (AuthorizationReq, ContractCertificateChain, Dynamic_SMDTControlMode,
                                 MeteringConfirmationReq, PnC_AReqAuthorizationMode, SignedMeteringData,
                                 SubCertificates)
from exi.generated.iso20_types import MessageHeader, MeterInfo, RationalNumber, Receipt, DetailedCost

SESSION_ID = bytes.fromhex("0102030405060708")
CHALLENGE = bytes(range(16))


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def header(signature=None):
    return MessageHeader(SessionID=SESSION_ID, TimeStamp=1_700_000_000, Signature=signature)


def contract_chain(pki):
    chain = pki.load_chain("contract")
    return ContractCertificateChain(Certificate=der(chain[0]),
                                    SubCertificates=SubCertificates(Certificate=[der(c) for c in chain[1:]]))


def pnc_authorization_req(pki, challenge=CHALLENGE):
    return AuthorizationReq(Header=header(), SelectedAuthorizationService="PnC",
                            PnC_AReqAuthorizationMode=PnC_AReqAuthorizationMode(
                                Id="id1", GenChallenge=challenge, ContractCertificateChain=contract_chain(pki)))


def signed_metering_data():
    return SignedMeteringData(
        Id="SignedMeteringData", SessionID=SESSION_ID,
        MeterInfo=MeterInfo(MeterID="METER-0001", ChargedEnergyReadingWh=12_345, BPT_DischargedEnergyReadingWh=678,
                            MeterSignature=bytes(range(64)), MeterStatus=0, MeterTimestamp=1_700_000_100),
        Receipt=Receipt(TimeAnchor=1_700_000_000, EnergyCosts=DetailedCost(
            Amount=RationalNumber(Exponent=-2, Value=1234), CostPerUnit=RationalNumber(Exponent=-2, Value=35))),
        Dynamic_SMDTControlMode=Dynamic_SMDTControlMode())


def metering_confirmation_req(data, signature):
    return MeteringConfirmationReq(Header=header(signature), SignedMeteringData=data)
