"""Shared pieces of the ISO 15118-20 session machines (both SECC and EVCC).

- `actions`: what a machine asks its adapter to do (Send, StartTimer, StopTimer, Close)
- `events`: what it tells the application (SessionStarted, Authorized, PowerRequest, SessionSealed, ...)
- `timing`: V2G_EVCC_Msg_Timeout / V2G_SECC_Sequence_Timeout per message, ongoing and setup timers
- `response_codes`: ResponseCode enum, `is_failed` (every FAILED is fatal in -20), SessionError(code)
- `messages`: the decoded message tree (`Message`), payload type / schema per message
- `codec`: Message <-> EXI through the exi package's generated classes
- `sequence`: Rule / Reply, the building blocks of the per-machine sequence tables
- `config`: SeccConfig, EvConfig (+ limits, battery, simulated charger, Tariff), `load_config(cls, path)`
- `tariff`: Tariff -> AbsolutePriceSchedule, Receipts priced from a MeterInfo (rounding rules in its docstring)
"""
from .actions import Action, Close, Send, StartTimer, StopTimer
from .config import EvConfig, OverstayRule, SeccConfig, Tariff, TaxRule, load_config
from .events import (Authorized, Event, MeteringConfirmed, PowerDelivered, PowerRequest, ProtocolNegotiated,
                     ServiceSelected, SessionEnded, SessionPaused, SessionSealed, SessionStarted)
from .messages import Message
from .response_codes import PeerProtocolError, ResponseCode, SessionError

__all__ = ["Action", "Authorized", "Close", "Event", "EvConfig", "Message", "MeteringConfirmed",
           "OverstayRule", "PeerProtocolError", "PowerDelivered", "PowerRequest", "ProtocolNegotiated",
           "ResponseCode", "SeccConfig", "Send", "ServiceSelected", "SessionEnded", "SessionError", "SessionPaused",
           "SessionSealed", "SessionStarted", "StartTimer", "StopTimer", "Tariff", "TaxRule", "load_config"]
