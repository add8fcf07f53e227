"""Peer side of the Josev interop test; runs in its own venv with the `iso15118` 0.31.2 package from PyPI
(its top-level package has our package's name, hence the separate interpreter and working directory).

    josev_side.py sign PKI_DIR            prints the EXI hex of a -20 PnC AuthorizationReq Josev signed
    josev_side.py verify PKI_DIR < HEX    prints {"verified": bool} for an AuthorizationReq we signed
PKI_DIR is a compat (P-256) PKI made by `certs.create_pki`: Josev only signs with ECDSA P-256 / SHA-256.
"""
import json
import sys

from cryptography.hazmat.primitives import serialization
from iso15118.shared.settings import SettingKey, shared_settings

shared_settings.update({SettingKey.MESSAGE_LOG_JSON: False, SettingKey.MESSAGE_LOG_EXI: False})

from iso15118.shared.exi_codec import EXI  # noqa: E402  (reads the settings at import)
from iso15118.shared.exificient_exi_codec import ExificientEXICodec  # noqa: E402
from iso15118.shared.messages.enums import AuthEnum, Namespace  # noqa: E402
from iso15118.shared.messages.iso15118_20.common_messages import (AuthorizationReq,  # noqa: E402
                                                                 ContractCertificateChain, PnCAuthReqParams,
                                                                 SubCertificates)
from iso15118.shared.messages.iso15118_20.common_types import MessageHeader  # noqa: E402
from iso15118.shared.security import create_signature, verify_signature  # noqa: E402

EXI().set_exi_codec(ExificientEXICodec())
NS = Namespace.ISO_V20_COMMON_MSG


def main(mode: str, pki: str) -> None:
    def read(path):
        with open(f"{pki}/{path}", "rb") as f:
            return f.read()

    leaf = read("certs/contract.der")
    if mode == "sign":
        key = serialization.load_pem_private_key(read("private/contract.key"), None)
        params = PnCAuthReqParams(id="id1", gen_challenge=bytes(range(16)), contract_cert_chain=ContractCertificateChain(
            certificate=leaf, sub_certificates=SubCertificates(
                certificates=[read("certs/mo_sub_ca2.der"), read("certs/mo_sub_ca1.der")])))
        signature = create_signature([(params.id, EXI().to_exi(params, NS))], key)
        req = AuthorizationReq(header=MessageHeader(session_id="0102030405060708", timestamp=1700000000,
                                                    signature=signature),
                               selected_auth_service=AuthEnum.PNC, pnc_params=params)
        print("HEX " + EXI().to_exi(req, NS).hex())
    else:
        msg = EXI().from_exi(bytes.fromhex(sys.stdin.read().strip()), NS)
        params = msg.pnc_params
        verified = verify_signature(msg.header.signature, [(params.id, EXI().to_exi(params, NS))], leaf)
        print("JSON " + json.dumps({"verified": bool(verified)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
