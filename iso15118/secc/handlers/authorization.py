"""AuthorizationSetup and Authorization (EIM; Plug & Charge through a pluggable contract verifier)."""
from __future__ import annotations

import secrets
from typing import Protocol

from iso15118.session.events import Authorized
from iso15118.session.messages import Message
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply


class ContractVerifier(Protocol):
    def verify(self, request: Message, raw: bytes, gen_challenge: bytes) -> tuple[str, str]:
        """Check the signed PnC AuthorizationReq and its contract chain; return (ResponseCode, EMAID)."""


class ContractAuthorizer(Protocol):
    """The backend's word on a verified contract (e.g. OCPP Authorize with the ISO 15118 certificate hash
    data), decided asynchronously: the SECC answers EVSEProcessing=Ongoing until `decision` is known."""

    def request(self, session_id: bytes, emaid: str, contract_chain: list[bytes]) -> None:
        """Start deciding (once per session); `contract_chain`: DER, the contract certificate first."""

    def decision(self, session_id: bytes) -> bool | None:
        """True: accepted; False: refused; None: not decided yet."""


def _contract_chain(mode: dict) -> list[bytes]:
    chain = mode["ContractCertificateChain"]
    subs = (chain.get("SubCertificates") or {}).get("Certificate", [])
    return [chain["Certificate"], *([subs] if isinstance(subs, bytes) else subs)]


def authorization_setup(session, req: Message, now: float) -> Reply:
    services = list(session.config.auth_services)
    installation = session.config.certificate_installation and session.certificate_installation is not None
    body: dict = {"AuthorizationServices": services, "CertificateInstallationService": installation}
    if "PnC" in services:
        # 16 bytes, >= 120 bits of entropy, used once [V2G20-698], [V2G20-2608].
        session.ctx.gen_challenge = secrets.token_bytes(16)
        body["PnC_ASResAuthorizationMode"] = {"GenChallenge": session.ctx.gen_challenge}
    else:
        body["EIM_ASResAuthorizationMode"] = {}
    return Reply(body)


def authorization(session, req: Message, now: float) -> Reply:
    ctx, config = session.ctx, session.config
    selected = req["SelectedAuthorizationService"]
    finished = {"EVSEProcessing": "Finished"}
    if selected not in config.auth_services:
        return Reply(finished, RC.WARNING_AuthorizationSelectionInvalid.value, stay=True)
    if selected == "EIM":
        if ctx.auth_rounds < config.eim_ongoing_rounds:
            ctx.auth_rounds += 1
            return Reply({"EVSEProcessing": "Ongoing_WaitingForCustomerInteraction"}, stay=True)
        if not config.eim_authorized:
            # [V2G20-2219], [V2G20-2230]: Finished + warning; the EV may try again.
            return Reply(finished, RC.WARNING_EIMAuthorizationFailure.value, stay=True)
        ctx.auth_method = "EIM"
        return Reply(finished, events=(Authorized(ctx.session_id, "EIM", ctx.evcc_id),))
    mode = req.get("PnC_AReqAuthorizationMode")
    if mode is None or ctx.gen_challenge is None or mode["GenChallenge"] != ctx.gen_challenge:
        return Reply(finished, RC.WARNING_ChallengeInvalid.value, stay=True)  # [V2G20-2228]
    if session.contract_verifier is None:
        return Reply(finished, RC.WARNING_GeneralPnCAuthorizationError.value, stay=True)
    code, emaid = session.contract_verifier.verify(req, session.last_payload, ctx.gen_challenge)
    authorizer = session.contract_authorizer
    if code.startswith("OK") and authorizer is not None:
        decision = authorizer.decision(ctx.session_id)
        if decision is None:
            if not ctx.extra.get("contract_authorization_requested"):
                ctx.extra["contract_authorization_requested"] = True
                authorizer.request(ctx.session_id, emaid, _contract_chain(mode))
            # The challenge stays valid: the EV repeats the same signed request while Ongoing.
            return Reply({"EVSEProcessing": "Ongoing"}, stay=True)
        if not decision:
            ctx.gen_challenge = None
            return Reply(finished, RC.WARNING_GeneralPnCAuthorizationError.value, stay=True)
    ctx.gen_challenge = None  # used once
    if code.startswith("OK"):
        ctx.auth_method = "PnC"
        return Reply(finished, code, events=(Authorized(ctx.session_id, "PnC", emaid),))
    return Reply(finished, code, stay=not code.startswith("FAILED"))


def certificate_installation(session, req: Message, now: float) -> Reply:
    """Contract certificate + key delivery through the (emulated) CPS / eMSP behind the SECC."""
    if not session.config.certificate_installation or session.certificate_installation is None:
        return Reply({}, RC.FAILED.value)  # not offered in AuthorizationSetupRes
    header = {"SessionID": session.ctx.session_id, "TimeStamp": int(session.wall_clock())}
    reply = session.certificate_installation.respond(req, session.last_payload, header)
    if reply.error is not None:
        session.log("certificate_installation_refused", code=getattr(reply.error, "code", reply.response_code),
                    detail=str(reply.error))
    return Reply(reply.body, reply.response_code, stay=True)
