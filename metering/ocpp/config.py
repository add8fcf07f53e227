"""OCPP 2.0.1 client configuration: one dataclass, loadable from a JSON or TOML file.

Fields that mirror OCPP 2.0.1 device-model variables carry the variable's name in their metadata
(`ocpp_variable()` lists them as "Component.Variable[.Instance]"), and a file may use either the Python
field name or the OCPP variable name (`OfflineThreshold`, `MessageAttemptsTransactionEvent`, ...).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from metering.ocpp.errors import OcppConfigInvalid
from v2gbase.config import checked_scalar, read_table


# TxCtrlr.TxStartPoint members the site gateway honours, in the order a session reaches them.
TX_START_POINTS = ("EVConnected", "Authorized", "DataSigned", "PowerPathClosed")
PUBLIC_KEY_POLICIES = ("Never", "OncePerTransaction", "EveryMeterValue")


def _var(default: object, name: str, data_type: str = "integer", mutability: str = "ReadWrite", *,
         minimum: int | None = None, unit: str | None = None, values: tuple[str, ...] = ()) -> object:
    """A field that is an OCPP 2.0.1 device-model variable "Component.Variable[.Instance]" (Part 2 appendix),
    with its data type, mutability and limits as the device model reports and checks them."""
    return field(default=default, metadata={"ocpp": name, "data_type": data_type, "mutability": mutability,
                                            "minimum": minimum, "unit": unit, "values": values})


@dataclass(frozen=True)
class OcppConfig:
    csms_url: str = "ws://127.0.0.1:9000"  # the station id is appended as the last path segment
    station_id: str = _var("CS001", "SecurityCtrlr.Identity", "string", "ReadOnly")  # also scopes the queue
    vendor_name: str = "v2g-stack"
    model: str = "EVSE"
    serial_number: str = ""
    firmware_version: str = "0.1.0"
    # wss:// (security profile 3): CA bundle for the CSMS certificate, the station's client certificate and key.
    ca_file: str = ""
    client_cert_file: str = ""
    client_key_file: str = ""
    # Security profiles 1 and 2: HTTP Basic authentication, user = station id (empty = not sent).
    basic_auth_password: str = _var("", "SecurityCtrlr.BasicAuthPassword", "string", "WriteOnly")
    # The offline queue lives in the metering journal's SQLite file (metering.Journal outbox).
    journal_path: str = "meter-journal.sqlite"
    # OCPPCommCtrlr.OfflineThreshold: offline longer than this → StatusNotification for every connector on
    # reconnect, else only for those that changed (B04).
    offline_threshold: int = _var(60, "OCPPCommCtrlr.OfflineThreshold", minimum=0, unit="s")
    # E13: a TransactionEvent is resent after CALLERROR or timeout while fewer than this many sends failed,
    # waiting MessageAttemptInterval × sends so far, then discarded.
    message_attempts_transaction_event: int = _var(3, "OCPPCommCtrlr.MessageAttempts.TransactionEvent",
                                                  minimum=1)
    message_attempt_interval_transaction_event: float = _var(
        60.0, "OCPPCommCtrlr.MessageAttemptInterval.TransactionEvent", minimum=0, unit="s")
    # true: StatusNotification and MeterValues go through the persistent queue too; false: transaction
    # messages only (the others are dropped while offline).
    queue_all_messages: bool = _var(False, "OCPPCommCtrlr.QueueAllMessages", "boolean")
    # Storage budget for queued TransactionEvents per station (0 = unlimited); beyond it Updated events are
    # thinned (E04.FR.07/08, E11.FR.04/05). Not an OCPP variable: the spec leaves the memory size open.
    max_queued_transaction_events: int = 0
    message_timeout: float = _var(30.0, "OCPPCommCtrlr.MessageTimeout.Default", mutability="ReadOnly", unit="s")
    heartbeat_interval: int = _var(300, "OCPPCommCtrlr.HeartbeatInterval", minimum=1,
                                  unit="s")  # replaced by the interval in the BootNotification response
    retry_back_off_wait_minimum: float = _var(1.0, "OCPPCommCtrlr.RetryBackOffWaitMinimum", minimum=0,
                                                unit="s")
    retry_back_off_random_range: float = _var(2.0, "OCPPCommCtrlr.RetryBackOffRandomRange", minimum=0,
                                                unit="s")
    retry_back_off_repeat_times: int = _var(2, "OCPPCommCtrlr.RetryBackOffRepeatTimes", minimum=0)
    # Clock-aligned meter data (AlignedDataCtrlr.Interval, seconds from midnight; 0 = off).
    aligned_data_interval: int = _var(300, "AlignedDataCtrlr.Interval", minimum=0, unit="s")
    public_key_with_signed_meter_value: str = _var("EveryMeterValue", "OCPPCommCtrlr.PublicKeyWithSignedMeterValue",
                                                   "OptionList", values=PUBLIC_KEY_POLICIES)
    # Updated TransactionEvent with a fresh signed reading every this many seconds of transaction (0 = none);
    # the site gateway sends them (its SiteConfig.tx_updated_interval_s is the default).
    tx_updated_interval: float = _var(0.0, "SampledDataCtrlr.TxUpdatedInterval", minimum=0, unit="s")
    # Where the site gateway opens the transaction (members of TX_START_POINTS, the first reached wins):
    # EVConnected = the ISO 15118 session starts, Authorized, DataSigned = the metering session's signed begin
    # (service selection), PowerPathClosed = the first power request. Default Authorized: Started names who pays,
    # and every authorized session has a transaction with its signed begin and end, even one that ends before
    # service selection; a never-authorized session (zero energy: no power before service selection) has none
    # unless EVConnected is set.
    tx_start_point: str = _var("Authorized", "TxCtrlr.TxStartPoint", "MemberList", values=TX_START_POINTS)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if "ocpp" not in f.metadata:
                continue
            value, meta = getattr(self, f.name), f.metadata
            if meta["minimum"] is not None and value < meta["minimum"]:
                raise OcppConfigInvalid(f"{meta['ocpp']} must be at least {meta['minimum']}, got {value!r}")
            if meta["data_type"] == "OptionList" and value not in meta["values"]:
                raise OcppConfigInvalid(f"{meta['ocpp']} is one of {meta['values']}, got {value!r}")
            if meta["data_type"] == "MemberList" and not set(self.tx_start_points()) <= set(meta["values"]):
                raise OcppConfigInvalid(f"{meta['ocpp']} members are among {meta['values']}, got {value!r}")
        if not self.tx_start_points():
            raise OcppConfigInvalid("TxCtrlr.TxStartPoint needs at least one member")

    def tx_start_points(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.tx_start_point.split(",") if m.strip())

    @staticmethod
    def ocpp_variables() -> dict[str, str]:
        """OCPP device-model name → field name."""
        return {f.metadata["ocpp"]: f.name for f in dataclasses.fields(OcppConfig) if "ocpp" in f.metadata}

    @classmethod
    def from_file(cls, path: str | Path) -> OcppConfig:
        return cls.from_dict(read_table(path, OcppConfigInvalid))

    @classmethod
    def from_dict(cls, data: dict) -> OcppConfig:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        by_short_ocpp_name = {f.metadata["ocpp"].split(".", 1)[1].replace(".", ""): f.name
                              for f in fields.values() if "ocpp" in f.metadata}
        values: dict[str, object] = {}
        for key, value in data.items():
            name = key if key in fields else by_short_ocpp_name.get(key, cls.ocpp_variables().get(key))
            if name is None:
                raise OcppConfigInvalid(f"unknown OCPP setting {key!r}")
            values[name] = checked_scalar(key, value, fields[name].default, OcppConfigInvalid)
        return cls(**values)
