"""SLAC settings: the ISO 15118-3 Table A.1 parameters by name (facts/slac.md §4), overridable, loadable
from a JSON or TOML file whose keys are the field names."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v2gbase.config import load_dataclass


@dataclass(frozen=True)
class SlacConfig:
    """Times in seconds, attenuations in dB. Defaults are the ISO 15118-3 values (facts §4)."""

    c_ev_match_mnbc: int = 10                     # M-sounds per attempt (NUM_SOUNDS)
    c_ev_start_atten_char_inds: int = 3
    c_ev_match_retry: int = 2                     # re-sends of an unanswered request
    c_conn_max_match: int = 3                     # matching attempts before giving up
    c_ev_match_signalattn_direct: float = 10.0    # at or below: direct match
    c_ev_match_signalattn_indirect: float = 20.0  # above direct, at or below this: validate first; above: reject
    tp_ev_batch_msg_interval: float = 0.020       # gap between START_ATTEN_CHAR / MNBC_SOUND frames
    tt_evse_match_mnbc: float = 0.6               # EVSE sounding window; sent as TIME_OUT in 100 ms units
    tt_ev_atten_results: float = 1.2              # EV collects ATTEN_CHAR.INDs, from the first START_ATTEN_CHAR
    tt_match_sequence: float = 0.4                # wait for the peer's next request
    tt_match_response: float = 0.2                # wait for a CNF / RSP
    tt_evse_match_session: float = 10.0           # EVSE wait for VALIDATE / MATCH.REQ after sounding
    tt_evse_slac_init: float = 50.0               # EVSE wait for the first CM_SLAC_PARM.REQ
    tt_match_join: float = 12.0                   # AVLN joined after MATCH.CNF
    tt_matching_repetition: float = 10.0          # window in which a failed matching is repeated
    tt_matching_rate: float = 0.4                 # pause before the next attempt
    validate_window: float = 0.4                  # EV: CM_VALIDATE toggle window (Timer field, 100 ms units)
    validate_toggles: int = 2                     # EV: BCB toggles it performs during CM_VALIDATE
    evse_supports_validate: bool = True           # EVSE: counts BCB toggles reported by the application
    confirm_join: bool = True                     # EV: poll VS_PL_LINK_STATUS until the AVLN is joined

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "SlacConfig":
        return load_dataclass(cls, path, **overrides)

    @classmethod
    def shortened(cls, **overrides: Any) -> "SlacConfig":
        """Timers cut for tests and the demo on the virtual powerline (frames cross it in well under 1 ms), with
        room for the 100-300 ms a loaded machine may take to schedule a peer: with a 0.1 s sounding window and
        50 ms responses, a busy CI box saw no profile inside the window three attempts running. The EVSE closes
        its window once every sound is in, so only the EV's TT_EV_atten_results wait costs time. The window
        keeps its 100 ms granularity (TIME_OUT is sent in 100 ms units)."""
        fast = dict(tp_ev_batch_msg_interval=0.002, tt_evse_match_mnbc=0.3, tt_ev_atten_results=0.6,
                    tt_match_sequence=0.4, tt_match_response=0.3, tt_evse_match_session=1.0,
                    tt_evse_slac_init=5.0, tt_matching_repetition=3.0, tt_matching_rate=0.05,
                    validate_window=0.1)
        return cls(**{**fast, **overrides})

    def time_out_units(self) -> int:
        return max(1, round(self.tt_evse_match_mnbc * 10))
