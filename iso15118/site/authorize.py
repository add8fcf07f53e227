"""Plug & Charge authorization by the CSMS: OCPP 2.0.1 Authorize with the eMAID and the ISO 15118 certificate
hash data of the contract chain (OCPP 2.0.1 C07), asked while the SECC answers EVSEProcessing=Ongoing."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from cryptography import x509

from iso15118.session.log import log_event
from metering.ocpp import OcppCallFailed, OcppClient, OcppOffline, certificate_hash_data, id_token

_log = logging.getLogger("iso15118.site")

REMEMBERED_VERDICTS = 1024  # sessions whose last verdict is kept (far more than a site's connectors)


class RepeatedRequestVerifier:
    """A `ContractVerifier` that checks each signed PnC AuthorizationReq once per session. While the CSMS decides,
    the EV repeats the same signed request every loop period (EVSEProcessing=Ongoing) and the SECC verifies each
    one: a chain walk and a P-521 signature check, ~6 ms of the event loop per repeat. A repeat whose signed
    content (the PnC_AReqAuthorizationMode element, the header Signature) and challenge equal the verified
    request's gets the same verdict; anything else is verified again."""

    def __init__(self, verifier) -> None:
        self._verifier = verifier
        self._verdicts: OrderedDict[bytes, tuple[str, tuple[str, str]]] = OrderedDict()

    def verify(self, request, raw: bytes, gen_challenge: bytes) -> tuple[str, str]:
        session_id = request["Header"]["SessionID"]
        signed = repr((gen_challenge, request.get("PnC_AReqAuthorizationMode"), request["Header"].get("Signature")))
        remembered = self._verdicts.get(session_id)
        if remembered is not None and remembered[0] == signed:
            return remembered[1]
        verdict = self._verifier.verify(request, raw, gen_challenge)
        self._verdicts[session_id] = (signed, verdict)
        self._verdicts.move_to_end(session_id)
        while len(self._verdicts) > REMEMBERED_VERDICTS:
            self._verdicts.popitem(last=False)
        return verdict

    def contract_certificate(self, session_id: bytes):
        return self._verifier.contract_certificate(session_id)


class OcppContractAuthorizer:
    """`ContractAuthorizer` of the SECC over one connector's OCPP client. With the CSMS unreachable the
    contract, already verified against the MO root by the SECC, is accepted (logged): charging goes on offline."""

    def __init__(self, ocpp: OcppClient) -> None:
        self.ocpp = ocpp
        self._decisions: dict[bytes, bool] = {}
        self._tasks: set[asyncio.Task] = set()

    def request(self, session_id: bytes, emaid: str, contract_chain: list[bytes]) -> None:
        task = asyncio.get_running_loop().create_task(self._authorize(session_id, emaid, contract_chain))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def decision(self, session_id: bytes) -> bool | None:
        return self._decisions.get(session_id)

    async def _authorize(self, session_id: bytes, emaid: str, contract_chain: list[bytes]) -> None:
        certificates = [x509.load_der_x509_certificate(der) for der in contract_chain]
        # One entry per certificate whose issuer is in the chain (the MO root is not sent by the EV).
        hash_data = [certificate_hash_data(cert, issuer) for cert, issuer in zip(certificates, certificates[1:])]
        try:
            result = await self.ocpp.authorize(id_token(emaid, "eMAID"), certificate_hash_data=hash_data or None)
        except OcppOffline as exc:
            log_event(_log, "authorize_offline", logging.WARNING, code=getattr(exc, "code", "OCPP_OFFLINE"),
                      emaid=emaid)
            self._decisions[session_id] = True
            return
        except OcppCallFailed as exc:  # a refused or failed call: no authorization
            log_event(_log, "authorize_failed", logging.WARNING, code=getattr(exc, "code", "ERR_OCPP"),
                      emaid=emaid, error=repr(exc))
            self._decisions[session_id] = False
            return
        status = result["id_token_info"]["status"]
        certificate_status = result.get("certificate_status")
        self._decisions[session_id] = status == "Accepted" and certificate_status in (None, "Accepted")
        log_event(_log, "authorize_result", emaid=emaid, status=status, certificate_status=certificate_status)
