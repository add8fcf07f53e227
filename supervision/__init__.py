"""Session supervision: control pilot (IEC 61851-1) and PLC link watchers that abort and seal.

Use (the SECC / demo):

    board = SerialControlPilot("/dev/ttyUSB0")            # or SysfsControlPilot(...), or the pty emulator's port
    monitor = slac.watch_link(monitor_link, slac.LinkMonitorConfig())   # or any async iterable of SNR readings
    async with SessionSupervisor(pilot=board.measurements(), plc=monitor,
                                 on_fault=abort_and_seal, on_event=print) as sup:
        await board.set_duty(5)                           # 5 %: digital communication (ISO 15118)
        sup.expect_pwm(True)
        sup.begin_session()                               # arm: on_fault(code, detail) runs at most once
        ...
        sup.end_session()                                 # normal end: later faults are events only

Fault codes given to `on_fault`: CP_STATE_E, CP_STATE_F, CP_PWM_LOST (PWM expected, pilot went steady, or
it did not start within `pwm_start_timeout_s` of `expect_pwm(True)`),
CP_UNPLUGGED (pilot back to A), CP_OUT_OF_RANGE (level in no band, or no diode), CP_BOARD_SILENT (no
measurement within `silence_timeout_s`), PLC_LINK_LOST (SNR below `snr_min_db` for `snr_hold_s`, or the
PLC source raised an error with that code, or ended). The SECC answers each with: stop power at once, close
TLS/TCP without SessionStopRes, seal the metering session (facts: iso15118-20 §8.2–8.3), and end the OCPP
transaction with `metering.ocpp.Transaction.end_for_fault(seal, code)` (triggerReason/stoppedReason per code).

Layers: `pilot.classify` (levels → state), `cp_protocol` (the board's serial line protocol, documented
there), `PilotSupervisor` and `PlcLinkWatcher` (sans-I/O: measurements + now → events), `SerialControlPilot`
/ `SysfsControlPilot` (I/O), `ControlPilotBoardEmulator` (the board on a pty), `SessionSupervisor` (asyncio).
Configuration: `SupervisionConfig` (JSON or TOML file via `SupervisionConfig.from_file`).
Tools: `python -m supervision emulate` (the board on a pty) and `python -m supervision watch PORT` (JSON events).
A session begun while the pilot already shows a fault gets that fault at once.
"""
from supervision.config import SupervisionConfig
from supervision.cp_emulator import ControlPilotBoardEmulator
from supervision.cp_serial import SerialControlPilot
from supervision.cp_supervisor import PilotSupervisor
from supervision.cp_sysfs import AdcChannel, SysfsControlPilot
from supervision.errors import ConfigInvalid, PilotBoardError, PilotFrameCorrupt, SupervisionError
from supervision.events import (
    CP_BOARD_SILENT,
    CP_OUT_OF_RANGE,
    CP_PWM_LOST,
    CP_STATE_E,
    CP_STATE_F,
    CP_UNPLUGGED,
    PLC_LINK_LOST,
    Fault,
    PilotStateChanged,
)
from supervision.pilot import PilotBands, PilotMeasurement, PilotReading, PilotState, classify
from supervision.plc import PlcLinkWatcher
from supervision.session import SessionSupervisor

__all__ = [
    "AdcChannel", "CP_BOARD_SILENT", "CP_OUT_OF_RANGE", "CP_PWM_LOST", "CP_STATE_E", "CP_STATE_F", "CP_UNPLUGGED",
    "ConfigInvalid", "ControlPilotBoardEmulator", "Fault", "PLC_LINK_LOST", "PilotBands", "PilotBoardError",
    "PilotFrameCorrupt", "PilotMeasurement", "PilotReading", "PilotState", "PilotStateChanged", "PilotSupervisor",
    "PlcLinkWatcher", "SerialControlPilot", "SessionSupervisor", "SupervisionConfig", "SupervisionError",
    "SysfsControlPilot", "classify",
]
