"""Runs inside the pyslac 0.8.3 venv (never imports our code): the independent peer for interop tests.

    python pyslac_peer.py frames            # JSON {name: hex} of pyslac's packed payloads for fixed inputs
    python pyslac_peer.py evse IFACE [S]    # pyslac's SlacEvseSession on IFACE; prints a JSON line on match

pyslac sleeps a hard-coded SLAC_SETTLE_TIME (10 s) after CM_SET_KEY waiting for a real modem to settle;
the virtual modem needs no settling, so `evse` shortens it to S seconds (default 0.2; pass 10 for the
original behaviour).
"""
import asyncio
import json
import sys

RUN_ID = bytes.fromhex("0102030405060708")
PEV = bytes.fromhex("020000000001")
EVSE = bytes.fromhex("020000000002")
NMK = bytes(range(16))
NID = bytes.fromhex("b0f2e695666b03")
AAG = [(7 * g) % 50 for g in range(58)]


def frames() -> dict:
    from pyslac import messages as m

    return {name: msg.pack_big().hex() for name, msg in {
        "CM_SET_KEY.REQ": m.SetKeyReq(nid=NID, new_key=NMK),
        "CM_SLAC_PARM.REQ": m.SlacParmReq(run_id=RUN_ID),
        "CM_SLAC_PARM.CNF": m.SlacParmCnf(forwarding_sta=PEV, run_id=RUN_ID),
        "CM_START_ATTEN_CHAR.IND": m.StartAtennChar(num_sounds=10, time_out=6, forwarding_sta=PEV, run_id=RUN_ID),
        "CM_MNBC_SOUND.IND": m.MnbcSound(cnt=9, run_id=RUN_ID),
        "CM_ATTEN_PROFILE.IND": m.AttenProfile(pev_mac=PEV, aag=AAG),
        "CM_ATTEN_CHAR.IND": m.AtennChar(source_address=PEV, run_id=RUN_ID, num_sounds=10, num_groups=58, aag=AAG),
        "CM_ATTEN_CHAR.RSP": m.AtennCharRsp(source_address=PEV, run_id=RUN_ID, source_id=0, resp_id=0, result=0),
        "CM_SLAC_MATCH.REQ": m.MatchReq(pev_mac=PEV, evse_mac=EVSE, run_id=RUN_ID),
        "CM_SLAC_MATCH.CNF": m.MatchCnf(pev_mac=PEV, evse_mac=EVSE, run_id=RUN_ID, nid=NID, nmk=NMK),
    }.items()}


async def evse(iface: str, settle: float) -> int:
    import logging

    logging.disable(logging.DEBUG)  # pyslac logs every frame at DEBUG
    from pyslac import session as s
    from pyslac.environment import Config

    s.SLAC_SETTLE_TIME = settle
    session = s.SlacEvseSession("DE*V2G*E1", iface, Config(slac_init_timeout=20, log_level="WARNING"))
    await session.evse_set_key()
    controller = s.SlacSessionController()
    await controller.process_cp_state(session, "B")
    await asyncio.sleep(0.05)  # let start_matching open its socket before the EV starts
    print(json.dumps({"event": "ready"}), flush=True)
    for _ in range(400):
        if session.state == s.STATE_MATCHED:
            print(json.dumps({"event": "matched", "nmk": session.nmk.hex(), "nid": session.nid.hex(),
                              "pev_mac": session.pev_mac.hex(), "run_id": session.run_id.hex()}), flush=True)
            return 0
        await asyncio.sleep(0.05)
    print(json.dumps({"event": "timeout"}), flush=True)
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "frames":
        print(json.dumps(frames()))
    else:
        sys.exit(asyncio.run(evse(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.2)))
