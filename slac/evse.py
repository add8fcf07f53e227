"""SLAC EVSE role (ISO 15118-3 §A.9; sequence in facts/slac.md §3), sans-I/O.

`start(now)` loads a fresh NMK into the local modem, then waits TT_EVSE_SLAC_init for a CM_SLAC_PARM.REQ.
A failed session (missing frames, timeouts) returns to waiting for a new PARM.REQ; only TT_EVSE_SLAC_init
without any PARM.REQ ends the machine (`MatchFailed`). The application reports BCB toggles seen on the
control pilot with `bcb_toggle()` while a CM_VALIDATE is running.
"""
from __future__ import annotations

import enum
import statistics

from slac.config import SlacConfig
from slac.frames import (
    SLAC_GROUPS,
    CmAttenCharInd,
    CmAttenCharRsp,
    CmAttenProfileInd,
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
from slac.keys import new_nmk
from slac.machine import AttemptFailed, Matched, MatchFailed, Retry, SlacMachine

VALIDATE_READY, VALIDATE_SUCCESS, VALIDATE_FAILURE = 1, 2, 3


class EvseState(enum.Enum):
    IDLE = "idle"
    SETTING_KEY = "setting key"
    WAIT_PARM = "waiting for CM_SLAC_PARM.REQ"
    WAIT_START_ATTEN = "waiting for CM_START_ATTEN_CHAR.IND"
    SOUNDING = "collecting attenuation profiles"
    WAIT_ATTEN_RSP = "waiting for CM_ATTEN_CHAR.RSP"
    WAIT_MATCH = "waiting for CM_VALIDATE.REQ or CM_SLAC_MATCH.REQ"
    VALIDATING = "counting BCB toggles"
    MATCHED = "matched"
    FAILED = "failed"


S = EvseState
_SESSION = (S.WAIT_START_ATTEN, S.SOUNDING, S.WAIT_ATTEN_RSP, S.WAIT_MATCH)


class SlacEvse(SlacMachine):
    State = EvseState
    TABLE = {
        (S.SETTING_KEY, CmSetKeyCnf): "_on_set_key_cnf",
        (S.WAIT_PARM, CmSlacParmReq): "_on_parm_req",
        **{(state, CmSlacParmReq): "_on_parm_req" for state in _SESSION},
        (S.WAIT_START_ATTEN, CmStartAttenCharInd): "_on_start_atten",
        (S.SOUNDING, CmMnbcSoundInd): "_on_sound",
        (S.SOUNDING, CmAttenProfileInd): "_on_profile",
        (S.WAIT_ATTEN_RSP, CmAttenCharRsp): "_on_atten_rsp",
        (S.WAIT_MATCH, CmValidateReq): "_on_validate_req",
        (S.WAIT_MATCH, CmSlacMatchReq): "_on_match_req",
        (S.MATCHED, CmSlacMatchReq): "_on_match_req",  # the EV re-sends when our CNF was lost
    }

    def __init__(self, mac: str, config: SlacConfig | None = None) -> None:
        super().__init__(mac)
        self.config = config or SlacConfig()
        self.state = S.IDLE
        self.ev_mac = ""
        self.run_id = b""
        self.aag: list[int] = []
        self._sums = [0] * SLAC_GROUPS
        self._profiles = 0
        self._expected = 0
        self._toggles = 0
        self._retry = Retry(0)
        self._started = 0.0

    # -- application inputs ------------------------------------------------------------------------------
    def start(self, now: float) -> list:
        """Fresh NMK for this session (ISO 15118-3; facts §5.2), loaded into our modem before matching."""
        self._started = now
        self._enter(S.SETTING_KEY)
        self._retry = Retry(self.config.c_ev_match_retry)
        self._timer("response", now + self.config.tt_match_response)
        return [self._set_key(new_nmk())]

    def bcb_toggle(self, now: float) -> None:
        if self.state is S.VALIDATING:
            self._toggles += 1

    # -- frames -------------------------------------------------------------------------------------------
    def _on_set_key_cnf(self, src: str, msg, now: float) -> list:
        return self._set_key_refused(msg) or self._wait_parm(now)

    def _wait_parm(self, now: float) -> list:
        self._enter(S.WAIT_PARM)
        self._timer("init", now + self.config.tt_evse_slac_init)
        return []

    def _on_parm_req(self, src: str, msg, now: float) -> list:
        if msg.application_type != 0 or msg.security_type != 0:
            return []
        if self.state is not S.WAIT_PARM and src != self.ev_mac:
            return []  # busy with another EV; a PARM.REQ from the same EV restarts its session (V2G3-A09-16)
        self.ev_mac, self.run_id = src, msg.run_id
        self._started = now
        self._enter(S.WAIT_START_ATTEN)
        self._timer("sequence", now + self.config.tt_match_sequence)
        cnf = CmSlacParmCnf(num_sounds=self.config.c_ev_match_mnbc, time_out=self.config.time_out_units(),
                            resp_type=1, forwarding_sta=src, run_id=msg.run_id)
        return [self._send(cnf, src)]

    def _on_start_atten(self, src: str, msg, now: float) -> list:
        if msg.run_id != self.run_id or src != self.ev_mac:
            return []
        self._enter(S.SOUNDING)
        self._sums, self._profiles = [0] * SLAC_GROUPS, 0
        self._expected = msg.num_sounds or self.config.c_ev_match_mnbc
        self._timer("window", now + self.config.tt_evse_match_mnbc)
        return []

    def _on_sound(self, src: str, msg, now: float) -> list:
        # accepted while sounding, nothing to answer: the attenuations come from the modem's CM_ATTEN_PROFILE.IND
        return []

    def _on_profile(self, src: str, msg, now: float) -> list:
        if msg.pev_mac.lower() != self.ev_mac or not 0 < msg.num_groups <= SLAC_GROUPS:
            return []
        for group, value in enumerate(msg.aag):
            self._sums[group] += value
        self._profiles += 1
        return self._characterise(now) if self._profiles >= self._expected else []

    def _characterise(self, now: float) -> list:
        """Average the profiles per group (rounded half up) and report them to the EV (V2G3-A09-19)."""
        if self._profiles == 0:
            return self._session_failed(now, "no CM_ATTEN_PROFILE.IND within TT_EVSE_match_MNBC")
        self.aag = [(2 * total + self._profiles) // (2 * self._profiles) for total in self._sums]
        self._enter(S.WAIT_ATTEN_RSP)
        self._retry = Retry(self.config.c_ev_match_retry)
        self._timer("response", now + self.config.tt_match_response)
        return [self._atten_char_ind()]

    def _atten_char_ind(self):
        ind = CmAttenCharInd(source_address=self.ev_mac, run_id=self.run_id, num_sounds=self._profiles,
                             aag=self.aag)
        return self._send(ind, self.ev_mac)

    def _on_atten_rsp(self, src: str, msg, now: float) -> list:
        if msg.run_id != self.run_id or src != self.ev_mac:
            return []
        if msg.result != 0:
            return self._session_failed(now, f"CM_ATTEN_CHAR.RSP result {msg.result}")
        self._enter(S.WAIT_MATCH)
        self._timer("session", now + self.config.tt_evse_match_session)
        return []

    def _on_validate_req(self, src: str, msg, now: float) -> list:
        if src != self.ev_mac:
            return []
        if not self.config.evse_supports_validate:
            return [self._send(CmValidateCnf(result=VALIDATE_FAILURE), src)]
        if msg.timer == 0:
            return [self._send(CmValidateCnf(result=VALIDATE_READY), src)]
        self._enter(S.VALIDATING)
        self._toggles = 0
        self._timer("validate", now + msg.timer / 10)
        return []

    def _on_match_req(self, src: str, msg, now: float) -> list:
        if msg.run_id != self.run_id or src != self.ev_mac:
            return []
        cnf = CmSlacMatchCnf(pev_mac=src, evse_mac=self.mac, run_id=self.run_id, nid=self.nid, nmk=self.nmk)
        actions = [self._send(cnf, src)]
        if self.state is not S.MATCHED:
            self._enter(S.MATCHED)
            actions.append(Matched(peer_mac=src, nid=self.nid, nmk=self.nmk,
                                   attenuation_db=round(statistics.fmean(self.aag), 2),
                                   num_sounds=self._profiles, run_id=self.run_id,
                                   match_time=now - self._started))
        return actions

    # -- timers -------------------------------------------------------------------------------------------
    def _timeout_response(self, now: float) -> list:
        if not self._retry.again():
            if self.state is S.SETTING_KEY:
                self._enter(S.FAILED)
                return [MatchFailed("SLAC_MODEM_ERROR", "modem did not answer CM_SET_KEY.REQ")]
            return self._session_failed(now, "no CM_ATTEN_CHAR.RSP")
        self._timer("response", now + self.config.tt_match_response)
        if self.state is S.SETTING_KEY:
            return [self._set_key(self.nmk)]
        return [self._atten_char_ind()]

    def _timeout_init(self, now: float) -> list:
        self._enter(S.FAILED)
        return [MatchFailed("SLAC_TIMEOUT", "no CM_SLAC_PARM.REQ within TT_EVSE_SLAC_init")]

    def _timeout_sequence(self, now: float) -> list:
        return self._session_failed(now, "no CM_START_ATTEN_CHAR.IND within TT_match_sequence")

    def _timeout_window(self, now: float) -> list:
        return self._characterise(now)

    def _timeout_session(self, now: float) -> list:
        return self._session_failed(now, "no CM_SLAC_MATCH.REQ within TT_EVSE_match_session")

    def _timeout_validate(self, now: float) -> list:
        result = VALIDATE_SUCCESS if self._toggles else VALIDATE_FAILURE
        self._enter(S.WAIT_MATCH)
        self._timer("session", now + self.config.tt_evse_match_session)
        return [self._send(CmValidateCnf(toggle_num=self._toggles, result=result), self.ev_mac)]

    def _session_failed(self, now: float, reason: str) -> list:
        self.ev_mac, self.run_id = "", b""
        return [AttemptFailed(reason), *self._wait_parm(now)]
