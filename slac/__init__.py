"""SLAC (ISO 15118-3) over HomePlug Green PHY: frames, EVSE/PEV machines, virtual PLC modem, link quality."""
from slac.aio import run_evse, run_machine, run_pev
from slac.config import SlacConfig
from slac.errors import FrameError, ModemError, PlcLinkLost, SlacError
from slac.evse import SlacEvse
from slac.frames import build_frame, parse_frame
from slac.keys import new_nmk, nid_from_nmk, nmk_from_password
from slac.link import FrameLink, MemoryLink, RawEthernetLink
from slac.machine import AttemptFailed, FrameRejected, Matched, MatchFailed, Send, ToggleRequest
from slac.pev import SlacPev
from slac.powerline import Powerline, PowerlineConfig
from slac.powerline_aio import AsyncPowerline

__all__ = [
    "AsyncPowerline", "AttemptFailed", "FrameError", "FrameLink", "FrameRejected", "MatchFailed", "Matched",
    "MemoryLink", "ModemError", "PlcLinkLost", "Powerline", "PowerlineConfig", "RawEthernetLink", "Send",
    "SlacConfig", "SlacError", "SlacEvse", "SlacPev", "ToggleRequest", "build_frame", "new_nmk",
    "nid_from_nmk", "nmk_from_password", "parse_frame", "run_evse", "run_machine", "run_pev",
]
