"""The station's OCPP 2.0.1 device model (pure): the `OcppConfig` fields that are device-model variables, read
(B06 GetVariables), changed (B05 SetVariables) and reported (B07 GetBaseReport / NotifyReport).

Every variable here drives behaviour (see `OcppConfig`); all sit on station-level components (no EVSE), are
addressed by component name, variable name and instance exactly, and support only the Actual attribute.
A value is checked by its data type, then by the same rules `OcppConfig` applies to a configuration file
(minimum, option and member lists): a refused value is Rejected, the rest of the request still applies.
No variable needs a reboot: an accepted value takes effect at once (the client applies it live), so
RebootRequired is never answered. Values are stored by the client (`OfflineQueue.store_variables`) before
the response, so they survive a restart.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from metering.ocpp.config import OcppConfig
from metering.ocpp.errors import OcppConfigInvalid

ACTUAL = "Actual"
REPORT_BASES = ("ConfigurationInventory", "FullInventory")  # SummaryInventory: NotSupported (no monitoring)


@dataclass(frozen=True)
class Variable:
    component: str
    name: str
    instance: str | None
    field: str  # the OcppConfig field
    data_type: str  # DataEnumType: integer, boolean, string, OptionList, MemberList
    mutability: str  # ReadOnly, ReadWrite, WriteOnly
    minimum: int | None
    unit: str | None
    values: tuple[str, ...]

    @property
    def key(self) -> str:
        return ".".join(p for p in (self.component, self.name, self.instance) if p)

    def address(self) -> tuple[dict, dict]:
        variable = {"name": self.name, **({"instance": self.instance} if self.instance else {})}
        return {"name": self.component}, variable


def _variables() -> tuple[Variable, ...]:
    found = []
    for f in dataclasses.fields(OcppConfig):
        meta = f.metadata
        if "ocpp" in meta:
            component, name, *instance = meta["ocpp"].split(".")
            found.append(Variable(component, name, instance[0] if instance else None, f.name, meta["data_type"],
                                  meta["mutability"], meta["minimum"], meta["unit"], meta["values"]))
    return tuple(found)


VARIABLES = _variables()
_COMPONENTS = {v.component for v in VARIABLES}


def format_value(variable: Variable, value: object) -> str:
    """The value as OCPP writes it: integers without a fraction, booleans lower case, lists comma separated."""
    if variable.data_type == "boolean":
        return "true" if value else "false"
    if variable.data_type == "integer":
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def parse_value(variable: Variable, text: str) -> object:
    """The field value for an attribute value; OcppConfigInvalid if the text is not of the variable's type."""
    if variable.data_type == "boolean":
        if text not in ("true", "false"):
            raise OcppConfigInvalid(f"{variable.key}: a boolean is true or false, got {text!r}")
        return text == "true"
    if variable.data_type == "integer":
        try:
            number = int(text.strip(), 10)
        except ValueError:
            raise OcppConfigInvalid(f"{variable.key}: not an integer: {text!r}") from None
        default = next(f.default for f in dataclasses.fields(OcppConfig) if f.name == variable.field)
        return float(number) if isinstance(default, float) else number
    if variable.data_type == "MemberList":
        return ",".join(m.strip() for m in text.split(","))
    return text


def lookup(component: dict, variable: dict) -> Variable | str:
    """The addressed variable, or the status naming what is unknown."""
    if component.get("evse") is not None or component.get("instance") is not None \
            or component.get("name") not in _COMPONENTS:
        return "UnknownComponent"
    for candidate in VARIABLES:
        if (candidate.component, candidate.name, candidate.instance) == (
                component["name"], variable.get("name"), variable.get("instance")):
            return candidate
    return "UnknownVariable"


def _result(item: dict, status: str, reason: str | None = None, **extra: object) -> dict:
    result = {"attribute_status": status, "component": item["component"], "variable": item["variable"],
              "attribute_type": item.get("attribute_type", ACTUAL), **extra}
    if reason:
        result["attribute_status_info"] = {"reason_code": reason}
    return result


def get_variables(config: OcppConfig, requests: list[dict]) -> list[dict]:
    """GetVariableResult entries (snake_case) for GetVariablesRequest.getVariableData."""
    results = []
    for item in requests:
        found = lookup(item["component"], item["variable"])
        if isinstance(found, str):
            results.append(_result(item, found))
        elif item.get("attribute_type", ACTUAL) != ACTUAL:
            results.append(_result(item, "NotSupportedAttributeType"))
        elif found.mutability == "WriteOnly":
            results.append(_result(item, "Rejected", "WriteOnly"))
        else:
            results.append(_result(item, "Accepted", attribute_value=format_value(found, getattr(config, found.field))))
    return results


def set_variables(config: OcppConfig, requests: list[dict]) -> tuple[list[dict], OcppConfig, dict[str, str]]:
    """(SetVariableResult entries, the config with every accepted value, {variable key: value} to store)."""
    results, stored = [], {}
    for item in requests:
        found = lookup(item["component"], item["variable"])
        if isinstance(found, str):
            results.append(_result(item, found))
            continue
        if item.get("attribute_type", ACTUAL) != ACTUAL:
            results.append(_result(item, "NotSupportedAttributeType"))
            continue
        if found.mutability == "ReadOnly":
            results.append(_result(item, "Rejected", "ReadOnly"))
            continue
        try:
            changed = dataclasses.replace(config, **{found.field: parse_value(found, item["attribute_value"])})
        except OcppConfigInvalid:
            results.append(_result(item, "Rejected", "InvalidValue"))
            continue
        config = changed
        stored[found.key] = item["attribute_value"]
        results.append(_result(item, "Accepted"))
    return results, config, stored


def with_stored(config: OcppConfig, stored: dict[str, str]) -> OcppConfig:
    """The configuration with the values a CSMS set earlier (they win over the file); unknown or no longer valid
    entries (after an upgrade) are skipped."""
    by_key = {v.key: v for v in VARIABLES}
    for key, text in stored.items():
        variable = by_key.get(key)
        if variable is None or variable.mutability == "ReadOnly":
            continue
        try:
            config = dataclasses.replace(config, **{variable.field: parse_value(variable, text)})
        except OcppConfigInvalid:
            continue
    return config


def report_data(config: OcppConfig, report_base: str) -> list[dict]:
    """ReportData entries for NotifyReport: every variable (FullInventory) or the writable ones
    (ConfigurationInventory)."""
    entries = []
    for variable in VARIABLES:
        if report_base == "ConfigurationInventory" and variable.mutability == "ReadOnly":
            continue
        attribute = {"type": ACTUAL, "mutability": variable.mutability, "persistent": True, "constant": False}
        if variable.mutability != "WriteOnly":
            attribute["value"] = format_value(variable, getattr(config, variable.field))
        characteristics: dict = {"data_type": variable.data_type, "supports_monitoring": False}
        if variable.unit:
            characteristics["unit"] = variable.unit
        if variable.minimum is not None:
            characteristics["min_limit"] = variable.minimum
        if variable.values:
            characteristics["values_list"] = ",".join(variable.values)
        component, name = variable.address()
        entries.append({"component": component, "variable": name, "variable_attribute": [attribute],
                        "variable_characteristics": characteristics})
    return entries
