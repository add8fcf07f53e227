"""SLAC machines fed frame by frame (sans-I/O), and end to end on the in-memory powerline (no root)."""
from __future__ import annotations

import asyncio

import pytest

from slac import (
    AsyncPowerline,
    AttemptFailed,
    MatchFailed,
    Matched,
    PowerlineConfig,
    Send,
    SlacConfig,
    SlacEvse,
    SlacPev,
    ToggleRequest,
    run_evse,
    run_pev,
)
from slac.evse import EvseState
from slac.frames import (
    BROADCAST,
    LOCAL_MODEM,
    CmAttenCharInd,
    CmSetKeyCnf,
    CmSlacParmCnf,
    CmSlacParmReq,
    build_frame,
    message_of,
    parse_frame,
)
from slac.pev import PevState
from tests.slac.plc_net import WIDE_WINDOW

EV, EVSE, OTHER = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:09"
FAST = SlacConfig.shortened()


def _sent(actions):
    return [message_of(parse_frame(a.frame)) for a in actions if isinstance(a, Send)]


def _evse_waiting_for_parm() -> SlacEvse:
    evse = SlacEvse(EVSE, FAST)
    evse.start(0.0)
    evse.receive(build_frame(CmSetKeyCnf(result=1), LOCAL_MODEM, EVSE), 0.01)
    assert evse.state is EvseState.WAIT_PARM
    return evse


@pytest.mark.parametrize("result", [0x00, 0x01])
def test_evse_accepts_both_set_key_success_codes(result):
    evse = SlacEvse(EVSE, FAST)
    (req,) = _sent(evse.start(0.0))
    assert req.name == "CM_SET_KEY.REQ" and bytes(req.new_key) == evse.nmk
    evse.receive(build_frame(CmSetKeyCnf(result=result), LOCAL_MODEM, EVSE), 0.01)
    assert evse.state is EvseState.WAIT_PARM


def test_evse_reports_a_refused_set_key_as_modem_error():
    evse = SlacEvse(EVSE, FAST)
    evse.start(0.0)
    (event,) = evse.receive(build_frame(CmSetKeyCnf(result=0x02), LOCAL_MODEM, EVSE), 0.01)
    assert isinstance(event, MatchFailed) and event.code == "SLAC_MODEM_ERROR"


def test_evse_uses_a_fresh_nmk_per_session():
    assert SlacEvse(EVSE, FAST).start(0.0) != SlacEvse(EVSE, FAST).start(0.0)
    a, b = SlacEvse(EVSE, FAST), SlacEvse(EVSE, FAST)
    a.start(0.0), b.start(0.0)
    assert a.nmk != b.nmk


def test_evse_answers_parm_req_with_the_run_id_and_ignores_its_own_echo():
    evse = _evse_waiting_for_parm()
    own = build_frame(CmSlacParmReq(run_id=b"A" * 8), EVSE, BROADCAST)
    assert evse.receive(own, 0.02) == []
    (cnf,) = _sent(evse.receive(build_frame(CmSlacParmReq(run_id=b"A" * 8), EV, BROADCAST), 0.02))
    assert cnf.name == "CM_SLAC_PARM.CNF" and cnf.run_id == b"A" * 8 and cnf.forwarding_sta == EV
    assert cnf.time_out == round(FAST.tt_evse_match_mnbc * 10) and cnf.num_sounds == FAST.c_ev_match_mnbc


def test_evse_ignores_frames_addressed_to_another_host():
    evse = _evse_waiting_for_parm()
    assert evse.receive(build_frame(CmSlacParmReq(run_id=b"A" * 8), EV, OTHER), 0.02) == []


def test_pev_ignores_foreign_run_ids():
    pev = SlacPev(EV, FAST)
    (req,) = _sent(pev.start(0.0))
    foreign = CmSlacParmCnf(forwarding_sta=EV, run_id=bytes(8) if req.run_id != bytes(8) else b"\x01" * 8)
    assert pev.receive(build_frame(foreign, EVSE, EV), 0.01) == []
    assert pev.state is PevState.WAIT_PARM_CNF
    actions = pev.receive(build_frame(CmSlacParmCnf(forwarding_sta=EV, run_id=req.run_id), EVSE, EV), 0.01)
    assert pev.state is PevState.SOUNDING and _sent(actions)[0].name == "CM_START_ATTEN_CHAR.IND"
    wrong = CmAttenCharInd(source_address=EV, run_id=b"\x00" * 8, num_sounds=10, aag=[1] * 58)
    assert pev.receive(build_frame(wrong, EVSE, EV), 0.02) == [] and pev.results == {}


def test_pev_retries_parm_req_then_starts_a_new_attempt_with_a_new_run_id():
    pev = SlacPev(EV, FAST)
    first = _sent(pev.start(0.0))[0].run_id
    now, resent = 0.0, []
    for _ in range(FAST.c_ev_match_retry):
        now = pev.next_deadline()
        resent += _sent(pev.timer_expired(now))
    assert [m.run_id for m in resent] == [first] * FAST.c_ev_match_retry
    now = pev.next_deadline()
    assert isinstance(pev.timer_expired(now)[0], AttemptFailed) and pev.state is PevState.PAUSED
    (again,) = _sent(pev.timer_expired(pev.next_deadline()))
    assert again.name == "CM_SLAC_PARM.REQ" and again.run_id != first and pev.attempts == 2


async def _memory_match(plc_config: PowerlineConfig, config: SlacConfig, attenuation: float = 5.0,
                        evse_machine: SlacEvse | None = None, on_pev_event=None):
    async with AsyncPowerline(plc_config) as plc:
        ev = plc.attach_memory("ev", EV)
        evse_link = plc.attach_memory("evse", EVSE, attenuation_db=attenuation)
        evse_task = asyncio.create_task(run_evse(evse_link, config, machine=evse_machine))
        await asyncio.sleep(0.01)
        pev = await run_pev(ev, config, on_event=on_pev_event)
        evse = await asyncio.wait_for(evse_task, config.tt_evse_match_session + 1)
        return pev, evse, plc


@pytest.mark.parametrize("set_key_result", [0x00, 0x01])
async def test_in_memory_match_without_privileges(set_key_result):
    pev, evse, _ = await _memory_match(PowerlineConfig(seed=1, set_key_result=set_key_result), FAST)
    assert isinstance(pev, Matched) and isinstance(evse, Matched) and pev.nmk == evse.nmk


@pytest.mark.faults
async def test_vendor_noise_frames_during_sounding_do_not_disturb_the_match():
    pev, evse, _ = await _memory_match(PowerlineConfig(seed=2, noise=True), WIDE_WINDOW)
    assert isinstance(pev, Matched) and pev.num_sounds == WIDE_WINDOW.c_ev_match_mnbc


async def test_attenuation_between_thresholds_is_confirmed_with_cm_validate():
    evse_machine = SlacEvse(EVSE, FAST)
    toggles = []

    def toggle(event):  # the control pilot wire: the EV toggles its BCB during the window, the EVSE sees it
        if isinstance(event, ToggleRequest):
            toggles.append(event)
            loop = asyncio.get_running_loop()
            for i in range(event.count):
                loop.call_later(event.window * (i + 1) / (event.count + 2), evse_machine.bcb_toggle, loop.time())

    attenuation = (FAST.c_ev_match_signalattn_direct + FAST.c_ev_match_signalattn_indirect) / 2
    pev, evse, _ = await _memory_match(PowerlineConfig(seed=3), FAST, attenuation, evse_machine, toggle)
    assert toggles and isinstance(pev, Matched) and isinstance(evse, Matched)


async def test_validation_failure_means_no_match():
    # one attempt (repetition 0.5 s); the EVSE's session timer (shortened: 1 s) outlasts the EV's wait for
    # attenuation results, so the EVSE is still there to refuse the validation
    config = SlacConfig.shortened(evse_supports_validate=False, tt_matching_repetition=0.5)
    attenuation = (config.c_ev_match_signalattn_direct + config.c_ev_match_signalattn_indirect) / 2
    async with AsyncPowerline(PowerlineConfig(seed=4)) as plc:
        ev = plc.attach_memory("ev", EV)
        evse_task = asyncio.create_task(run_evse(plc.attach_memory("evse", EVSE, attenuation_db=attenuation),
                                                 config))
        await asyncio.sleep(0.01)
        pev = await run_pev(ev, config)
        evse_task.cancel()
    assert isinstance(pev, MatchFailed) and "validate" in pev.reason
