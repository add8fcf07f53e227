"""Site gateway configuration: one `SiteConfig` (TOML or JSON file) listing the connectors.

    [site]                      # SiteConfig fields
    data_dir = "site-data"      # per-meter journals and keys, the shared OCPP queue journal
    pki_dir = "pki"             # made by `v2g pki create`; the SECC TLS context is built once and shared
    revocation = "soft"         # vehicle certificate revocation policy: off | soft | hard
    meter_time_scale = 0        # 0: meters sample in real time; N > 0: simulated meter time, N x real time

    [secc]                      # SeccConfig defaults for every connector (services, limits, ...)
    [ocpp]                      # OcppConfig fields shared by every connector (csms_url, OCPP variables)
    [supervision]               # SupervisionConfig fields shared by every connector

    [[connector]]               # ConnectorConfig, one table per EVSE
    id = 1
    evse_id = "DE*V2G*E0001"
    station_id = "CS001"        # the connector's own OCPP connection (station identity)
    sdp_port = 15118
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iso15118.session.config import SERVICE_IDS, ConfigError, SeccConfig, from_dict


@dataclass(frozen=True)
class ConnectorConfig:
    id: int
    evse_id: str = ""  # defaults to the site's SeccConfig.evse_id with the connector number
    station_id: str = ""  # OCPP station identity; defaults to "<site station prefix><id>"
    interface: str = "lo"
    port: int = 0  # 0: any free port from the dynamic range, announced by SDP
    sdp_port: int | None = 15118  # None: no SDP responder (EVs connect to the port directly)
    services: tuple[str, ...] = ()  # () = the site's SeccConfig.services
    meter_serial: str = ""  # defaults to "EMU-<id>"
    cp_serial_port: str = ""  # the control-pilot board's serial line ("" = no pilot supervision)
    plc_interface: str = ""  # the PLC modem's interface, watched for SNR / modem loss ("" = not watched)


@dataclass(frozen=True)
class SiteConfig:
    connectors: tuple[ConnectorConfig, ...] = ()
    data_dir: str = "site-data"
    pki_dir: str | None = None
    tls: bool = True
    tls_profile: str = "iso20"
    # Vehicle certificate revocation policy of the SECC TLS context (the PKI's crl/ directory): "off" (no check),
    # "soft" (a revoked chain is refused, a chain with no revocation information passes), "hard" (no fresh CRL
    # for every certificate of the chain refuses it: ERR_REVOCATION_UNKNOWN / ERR_REVOCATION_STALE).
    revocation: str = "soft"
    station_prefix: str = "CS"
    meter_time_scale: float = 0.0
    # Real seconds between durable register checkpoints (one fsync each) per meter; signed readings always carry
    # their own. 1 s loses at most a second of register advance in a crash; a 100-EVSE gateway pays 100 fsync/s.
    meter_checkpoint_interval_s: float = 1.0
    # Updated TransactionEvent with a fresh signed reading every this many seconds of session (0 = none): the
    # default of SampledDataCtrlr.TxUpdatedInterval ([ocpp] or a CSMS's SetVariables override it).
    tx_updated_interval_s: float = 120.0
    secc: SeccConfig = field(default_factory=SeccConfig)
    ocpp: dict[str, Any] = field(default_factory=dict)
    supervision: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(not isinstance(c.id, int) or isinstance(c.id, bool) or c.id < 1 for c in self.connectors):
            raise ConfigError("connector ids are integers >= 1")
        ids = [c.id for c in self.connectors]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"connector ids must be unique, got {ids}")
        for connector in self.connectors:
            unknown = [s for s in connector.services if s not in SERVICE_IDS]
            if unknown:
                raise ConfigError(f"connector {connector.id}: unknown services {unknown}")
        if self.tls and not self.pki_dir:
            raise ConfigError("tls needs pki_dir (a PKI made by 'v2g pki create')")
        if self.revocation not in ("off", "soft", "hard"):
            raise ConfigError(f"revocation must be off, soft or hard, got {self.revocation!r}")
        if self.meter_time_scale < 0:
            raise ConfigError("meter_time_scale must be >= 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiteConfig:
        if not isinstance(data, dict):
            raise ConfigError("a site configuration is a table of sections")
        data = dict(data)
        sections = {name: data.pop(name, {}) for name in ("site", "secc", "ocpp", "supervision")}
        connectors = data.pop("connector", data.pop("connectors", []))
        if data:
            raise ConfigError(f"unknown sections {sorted(data)}")
        for name, section in sections.items():
            if not isinstance(section, dict):
                raise ConfigError(f"[{name}] must be a table")
        if not isinstance(connectors, list) or not all(isinstance(c, dict) for c in connectors):
            raise ConfigError("connector must be a list of tables ([[connector]])")
        site = {**sections["site"], "ocpp": sections["ocpp"], "supervision": sections["supervision"]}
        try:
            return from_dict(cls, {**site, "secc": from_dict(SeccConfig, sections["secc"]),
                                   "connectors": tuple(from_dict(ConnectorConfig, c) for c in connectors)})
        except ConfigError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:  # wrong value types inside a section
            raise ConfigError(str(exc)) from exc

    @classmethod
    def from_file(cls, path: str | Path) -> SiteConfig:
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if str(path).endswith(".toml") else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        return cls.from_dict(data)

    def secc_for(self, connector: ConnectorConfig) -> SeccConfig:
        changes: dict[str, Any] = {"evse_id": connector.evse_id or f"{self.secc.evse_id}{connector.id}",
                                   "meter_id": self.meter_serial(connector), "interface": connector.interface,
                                   "port": connector.port, "tls": self.tls, "pki_dir": self.pki_dir}
        if connector.services:
            changes["services"] = connector.services
        return dataclasses.replace(self.secc, **changes)

    def station_id(self, connector: ConnectorConfig) -> str:
        return connector.station_id or f"{self.station_prefix}{connector.id:03d}"

    @staticmethod
    def meter_serial(connector: ConnectorConfig) -> str:
        return connector.meter_serial or f"EMU-{connector.id:04d}"
