"""SLAC EV (PEV) role (ISO 15118-3 §A.9; facts/slac.md §3, §5.4), sans-I/O.

One attempt: CM_SLAC_PARM.REQ (fresh RunID) → START_ATTEN_CHAR ×3 and M-sounds, TP_EV_batch_msg_interval
apart → collect every CM_ATTEN_CHAR.IND for the whole TT_EV_atten_results (several EVSEs may answer) and
acknowledge each → take the EVSE with the lowest mean attenuation: at or below the direct threshold match at
once, up to the indirect threshold confirm with CM_VALIDATE first, above it reject → CM_SLAC_MATCH →
CM_SET_KEY with the EVSE's NMK/NID → (confirm_join) VS_PL_LINK_STATUS until the AVLN is up, TT_match_join. A failed attempt is repeated after TT_matching_rate, at most
C_conn_max_match times within TT_matching_repetition.
"""
from __future__ import annotations

import enum
import os
import statistics

from slac.config import SlacConfig
from slac.frames import (
    BROADCAST,
    LOCAL_MODEM,
    SLAC_GROUPS,
    CmAttenCharInd,
    CmAttenCharRsp,
    CmMnbcSoundInd,
    CmSetKeyCnf,
    CmSlacMatchCnf,
    CmSlacMatchReq,
    CmSlacParmCnf,
    CmSlacParmReq,
    CmStartAttenCharInd,
    CmValidateCnf,
    CmValidateReq,
)
from slac.machine import AttemptFailed, Matched, MatchFailed, Retry, SlacMachine, ToggleRequest
from slac.vendor import VsPlLinkStatusCnf, VsPlLinkStatusReq

VALIDATE_READY, VALIDATE_SUCCESS = 1, 2


class PevState(enum.Enum):
    IDLE = "idle"
    WAIT_PARM_CNF = "waiting for CM_SLAC_PARM.CNF"
    SOUNDING = "sounding and collecting CM_ATTEN_CHAR.IND"
    VALIDATE_READY = "waiting for CM_VALIDATE.CNF (ready)"
    VALIDATE_TOGGLES = "waiting for CM_VALIDATE.CNF (toggle count)"
    WAIT_MATCH_CNF = "waiting for CM_SLAC_MATCH.CNF"
    SETTING_KEY = "setting key"
    JOINING = "waiting for the modem to join the AVLN"
    PAUSED = "pausing before the next attempt"
    MATCHED = "matched"
    FAILED = "failed"


S = PevState


class SlacPev(SlacMachine):
    State = PevState
    TABLE = {
        (S.WAIT_PARM_CNF, CmSlacParmCnf): "_on_parm_cnf",
        (S.SOUNDING, CmAttenCharInd): "_on_atten_char",
        (S.VALIDATE_READY, CmValidateCnf): "_on_validate_ready",
        (S.VALIDATE_TOGGLES, CmValidateCnf): "_on_validate_result",
        (S.WAIT_MATCH_CNF, CmSlacMatchCnf): "_on_match_cnf",
        (S.SETTING_KEY, CmSetKeyCnf): "_on_set_key_cnf",
        (S.JOINING, VsPlLinkStatusCnf): "_on_link_status",
    }

    def __init__(self, mac: str, config: SlacConfig | None = None) -> None:
        super().__init__(mac)
        self.config = config or SlacConfig()
        self.state = S.IDLE
        self.run_id = b""
        self.attempts = 0
        # EVSE MAC -> (mean attenuation dB, sounds it averaged) for the current attempt
        self.results: dict[str, tuple[float, int]] = {}
        self.chosen = ""
        self._pending: list = []
        self._retry = Retry(0)
        self._started = 0.0
        self._match: CmSlacMatchCnf | None = None

    def start(self, now: float) -> list:
        self._started = now
        self.attempts = 0
        return self._attempt(now)

    # -- one attempt -------------------------------------------------------------------------------------
    def _attempt(self, now: float) -> list:
        self.attempts += 1
        self.run_id = os.urandom(8)  # fresh per attempt (facts §5.1)
        self.results, self.chosen = {}, ""
        self._enter(S.WAIT_PARM_CNF)
        return self._request(now, self._parm_req)

    def _request(self, now: float, make) -> list:
        """Send a request that is re-sent up to C_EV_match_retry times while its answer is missing."""
        self._resend = make
        self._retry = Retry(self.config.c_ev_match_retry)
        self._timer("response", now + self.config.tt_match_response)
        return [make()]

    def _parm_req(self):
        return self._send(CmSlacParmReq(run_id=self.run_id), BROADCAST)

    def _on_parm_cnf(self, src: str, msg, now: float) -> list:
        if msg.run_id != self.run_id:
            return []
        self._enter(S.SOUNDING)
        start = CmStartAttenCharInd(num_sounds=msg.num_sounds, time_out=msg.time_out, resp_type=1,
                                    forwarding_sta=self.mac, run_id=self.run_id)
        target = msg.m_sound_target
        self._pending = [self._send(start, BROADCAST) for _ in range(self.config.c_ev_start_atten_char_inds)]
        for left in reversed(range(msg.num_sounds)):
            sound = CmMnbcSoundInd(cnt=left, run_id=self.run_id, rnd=os.urandom(16))
            self._pending.append(self._send(sound, target))
        # V2G3-A09-30: TT_EV_atten_results runs from the first START_ATTEN_CHAR.IND.
        self._timer("results", now + self.config.tt_ev_atten_results)
        return self._timeout_batch(now)

    def _timeout_batch(self, now: float) -> list:
        if not self._pending:
            return []
        if len(self._pending) > 1:
            self._timer("batch", now + self.config.tp_ev_batch_msg_interval)
        return [self._pending.pop(0)]

    def _on_atten_char(self, src: str, msg, now: float) -> list:
        if msg.run_id != self.run_id or msg.source_address.lower() != self.mac:
            return []
        if msg.num_sounds == 0 or not 0 < msg.num_groups <= SLAC_GROUPS:
            return []  # nothing measured: cannot rank this EVSE (EVerest ignores these too)
        self.results[src] = (round(statistics.fmean(msg.aag), 2), msg.num_sounds)
        rsp = CmAttenCharRsp(source_address=self.mac, run_id=self.run_id, result=0)
        return [self._send(rsp, src)]

    def _timeout_results(self, now: float) -> list:
        self._pending = []
        if not self.results:
            return self._attempt_failed(now, "no CM_ATTEN_CHAR.IND within TT_EV_atten_results")
        self.chosen = min(self.results, key=lambda mac: self.results[mac][0])
        attenuation = self.results[self.chosen][0]
        if attenuation <= self.config.c_ev_match_signalattn_direct:
            return self._match_req(now)
        if attenuation <= self.config.c_ev_match_signalattn_indirect:
            self._enter(S.VALIDATE_READY)
            return self._request(now, lambda: self._send(CmValidateReq(timer=0, result=VALIDATE_READY),
                                                         self.chosen))
        return self._attempt_failed(now, f"lowest attenuation {attenuation} dB ({self.chosen}) is above "
                                         f"{self.config.c_ev_match_signalattn_indirect} dB")

    def _on_validate_ready(self, src: str, msg, now: float) -> list:
        if src != self.chosen:
            return []
        if msg.result != VALIDATE_READY:
            return self._attempt_failed(now, f"EVSE {src} cannot validate (result {msg.result})")
        self._enter(S.VALIDATE_TOGGLES)
        units = max(1, round(self.config.validate_window * 10))
        req = self._send(CmValidateReq(timer=units, result=VALIDATE_READY), src)
        self._timer("response", now + units / 10 + self.config.tt_match_response)
        self._retry = Retry(0)
        return [req, ToggleRequest(self.config.validate_toggles, units / 10)]

    def _on_validate_result(self, src: str, msg, now: float) -> list:
        if src != self.chosen:
            return []
        if msg.result == VALIDATE_SUCCESS and msg.toggle_num == self.config.validate_toggles:
            return self._match_req(now)
        return self._attempt_failed(now, f"CM_VALIDATE failed: EVSE counted {msg.toggle_num} toggles of "
                                         f"{self.config.validate_toggles}")

    def _match_req(self, now: float) -> list:
        self._enter(S.WAIT_MATCH_CNF)
        req = CmSlacMatchReq(pev_mac=self.mac, evse_mac=self.chosen, run_id=self.run_id)
        return self._request(now, lambda: self._send(req, self.chosen))

    def _on_match_cnf(self, src: str, msg, now: float) -> list:
        if src != self.chosen or msg.run_id != self.run_id:
            return []
        self._match = msg
        self._enter(S.SETTING_KEY)
        return self._request(now, lambda: self._set_key(msg.nmk))

    def _on_set_key_cnf(self, src: str, msg, now: float) -> list:
        refused = self._set_key_refused(msg)
        if refused:
            return refused
        if not self.config.confirm_join:
            return self._matched(now)
        # The AVLN must be joined within TT_match_join; QCA modems tell through VS_PL_LINK_STATUS (facts §8).
        self._enter(S.JOINING)
        self._timer("join", now + self.config.tt_match_join)
        return self._timeout_poll(now)

    def _timeout_poll(self, now: float) -> list:
        self._timer("poll", now + self.config.tt_match_response)
        return [self._send(VsPlLinkStatusReq(), LOCAL_MODEM)]

    def _on_link_status(self, src: str, msg, now: float) -> list:
        return self._matched(now) if msg.link_status == 1 else []

    def _timeout_join(self, now: float) -> list:
        self._enter(S.FAILED)
        return [MatchFailed("SLAC_MODEM_ERROR", "modem did not join the AVLN within TT_match_join")]

    def _matched(self, now: float) -> list:
        self._enter(S.MATCHED)
        attenuation, sounds = self.results[self.chosen]
        return [Matched(peer_mac=self.chosen, nid=self._match.nid, nmk=self.nmk, attenuation_db=attenuation,
                        num_sounds=sounds, run_id=self.run_id, match_time=now - self._started)]

    # -- failures and retries -----------------------------------------------------------------------------
    def _timeout_response(self, now: float) -> list:
        if self._retry.again():
            self._timer("response", now + self.config.tt_match_response)
            return [self._resend()]
        if self.state is S.SETTING_KEY:
            self._enter(S.FAILED)
            return [MatchFailed("SLAC_MODEM_ERROR", "modem did not answer CM_SET_KEY.REQ")]
        return self._attempt_failed(now, f"no answer while {self.state.value}")

    def _attempt_failed(self, now: float, reason: str) -> list:
        actions: list = [AttemptFailed(reason)]
        next_start = now + self.config.tt_matching_rate
        if (self.attempts < self.config.c_conn_max_match
                and next_start < self._started + self.config.tt_matching_repetition):
            self._enter(S.PAUSED)  # V2G3-A09-124: wait TT_matching_rate before restarting
            self._timer("rate", next_start)
            return actions
        self._enter(S.FAILED)
        return actions + [MatchFailed("SLAC_NO_MATCH", f"{self.attempts} attempt(s) failed; last: {reason}")]

    def _timeout_rate(self, now: float) -> list:
        return self._attempt(now)
