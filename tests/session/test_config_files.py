"""SeccConfig / EvConfig from TOML and JSON files: arrays become tuples where the field is a tuple (also nested),
tables become the nested dataclasses, and a typo or a syntax error is a ConfigError."""
import json
import textwrap

import pytest

from iso15118.session.config import AcLimits, ConfigError, DcLimits, EvConfig, SeccConfig, load_config


def test_toml_arrays_and_tables_become_the_fields_types(tmp_path):
    path = tmp_path / "secc.toml"
    path.write_text(textwrap.dedent("""
        services = ["dc", "dc_bpt"]
        dynamic_setpoints = [[1.5, 11000.0], [1e9, -7000.0]]
        [dc]
        max_voltage = 500.0
    """))
    expected = SeccConfig(services=("dc", "dc_bpt"), dynamic_setpoints=((1.5, 11_000.0), (1e9, -7_000.0)),
                          dc=DcLimits(max_voltage=500.0))
    config = load_config(SeccConfig, path)
    assert config == expected and config.ac == AcLimits()
    assert isinstance(config.services, tuple) and isinstance(config.dynamic_setpoints[0], tuple)


def test_json_file_loads_an_ev_config(tmp_path):
    path = tmp_path / "ev.json"
    path.write_text(json.dumps({"service": "ac_bpt", "faults": ["drop-tcp:ChargeLoopReq"],
                                "battery": {"soc": 55.0}}))
    config = load_config(EvConfig, path)
    assert config.service == "ac_bpt" and config.faults == ("drop-tcp:ChargeLoopReq",)
    assert config.battery.soc == 55.0 and config.battery.capacity_wh == EvConfig().battery.capacity_wh


@pytest.mark.parametrize("name, text", [("secc.toml", "servics = ['dc']"), ("secc.toml", "services = ["),
                                        ("secc.json", '{"services": '), ("secc.json", '{"dc": {"max_volt": 1}}')])
def test_a_typo_or_a_syntax_error_is_a_config_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_config(SeccConfig, path)
