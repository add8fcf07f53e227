"""Charge-loop response fields shared by AC and DC (EVSEStatus, MeterInfo, Receipt) and MeteringConfirmation."""
from __future__ import annotations

from iso15118.session.events import MeteringConfirmed
from iso15118.session.messages import Message
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply
from iso15118.session.tariff import receipt

NOTIFICATION_MAX_DELAY = 10  # s the EV has to react to an EVSENotification
RENEGOTIATION_ANNOUNCEMENTS = 2  # the first ScheduleRenegotiation notification and one retry [V2G20-2235]


def _renegotiation_code(session, now: float) -> str:
    """ResponseCode of this ChargeLoopRes as far as a SECC-triggered schedule renegotiation goes: the EV must
    start it on 0x8101 within NotificationMaxDelay [V2G20-1052]; if it does not, the SECC retries once with
    WARNING_ScheduleRenegotiationFailed, then gives up with FAILED_ScheduleRenegotiation [V2G20-2235]."""
    ctx = session.ctx
    asked_at = ctx.renegotiation_announced_at
    if asked_at is None or session.renegotiation_started or now - asked_at <= NOTIFICATION_MAX_DELAY:
        return RC.OK.value
    if ctx.renegotiation_announcements >= RENEGOTIATION_ANNOUNCEMENTS:
        return RC.FAILED_ScheduleRenegotiation.value
    ctx.renegotiation_announced_at = None  # announce again in this response
    return RC.WARNING_ScheduleRenegotiationFailed.value


def loop_common(session, req: Message, now: float) -> tuple[dict, str]:
    """EVSEStatus / MeterInfo / Receipt of a ChargeLoopRes (in schema order), and its ResponseCode."""
    ctx, config = session.ctx, session.config
    meter = ctx.connector.meter
    ctx.loops += 1
    body: dict = {}
    code = _renegotiation_code(session, now)
    ask_confirmation = (config.metering_confirmation and not ctx.metering_confirmation_asked
                        and ctx.loops >= config.metering_confirmation_after_loops)
    if ctx.renegotiation_wanted and ctx.renegotiation_announced_at is None and not session.renegotiation_started \
            and ctx.stop_requested is None:
        # [V2G20-1845]: the SECC asks for a new schedule; the EV runs it on side stream 0x8101.
        ctx.renegotiation_announced_at = now
        ctx.renegotiation_announcements += 1
        body["EVSEStatus"] = {"NotificationMaxDelay": NOTIFICATION_MAX_DELAY,
                              "EVSENotification": "ScheduleRenegotiation"}
        ask_confirmation = False
    elif ctx.stop_requested is not None:
        # The station wants the session to end (operator, OCPP remote stop): the EV stops within the delay.
        body["EVSEStatus"] = {"NotificationMaxDelay": NOTIFICATION_MAX_DELAY,
                              "EVSENotification": ctx.stop_requested}
        ask_confirmation = False
    elif ask_confirmation:
        # [V2G20-1083]: MeterInfo + EVSENotification=MeteringConfirmation; not re-triggered until answered.
        ctx.metering_confirmation_asked = True
        body["EVSEStatus"] = {"NotificationMaxDelay": NOTIFICATION_MAX_DELAY,
                              "EVSENotification": "MeteringConfirmation"}
    # MeterInfo when asked [V2G20-1082], in the first loop response [V2G20-1833], with a confirmation request.
    if req["MeterInfoRequested"] or ctx.loops == 1 or ask_confirmation:
        info = meter.meter_info(ctx.session_id, now, bidirectional=ctx.is_bpt,
                                current_type="DC" if ctx.is_dc else "AC")
        ctx.extra["last_meter_info"] = info
        body["MeterInfo"] = info
        prices = ctx.extra.get("price_schedule")
        if config.receipts and prices is not None and config.tariff is not None:
            # Priced from this very MeterInfo, which the EV signs with it in MeteringConfirmation [V2G20-1919].
            body["Receipt"] = receipt(prices, info, int(session.wall_clock()), config.tariff.decimals)
    return body, code


def metering_confirmation(session, req: Message, now: float) -> Reply:
    ctx = session.ctx
    data = req["SignedMeteringData"]
    if not ctx.metering_confirmation_asked or ctx.metering_confirmation_received:
        return Reply({}, RC.FAILED_SequenceError.value)
    if data["SessionID"] != ctx.session_id:
        return Reply({}, RC.FAILED_UnknownSession.value)
    verified = False
    # The EV signs with its contract key in PnC (by analogy with -2 [V2G2-903]; facts/signatures.md §2), so an
    # unsigned confirmation is refused there. With EIM no text names a key: a signature present is checked
    # (the verifier picks the key, e.g. the TLS vehicle certificate); an unsigned one is kept as unverified.
    signed = "Signature" in req["Header"]
    if session.metering_verifier is not None and (signed or ctx.auth_method == "PnC"):
        if not session.metering_verifier.verify(req, session.last_payload, session.peer_certificate):
            session.log("metering_signature_invalid", code="ERR_SIG_INVALID")
            return Reply({}, RC.FAILED_MeteringSignatureNotValid.value)
        verified = True
    ctx.metering_confirmation_received = True
    ctx.connector.meter.store_confirmation(ctx.session_id, data, session.last_payload, verified)
    return Reply({}, events=(MeteringConfirmed(ctx.session_id, data),))
