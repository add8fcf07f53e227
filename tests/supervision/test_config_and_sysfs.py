"""SupervisionConfig files and the sysfs ADC pilot source."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import (
    AdcChannel, ConfigInvalid, PilotFrameCorrupt, PilotState, SupervisionConfig, SysfsControlPilot, classify,
)


def test_config_loads_from_toml_and_json(tmp_path):
    toml = tmp_path / "sup.toml"
    toml.write_text('debounce_s = 0.05\nsnr_min_db = 18\n[bands]\nb = [8.5, 9.5]\n')
    config = SupervisionConfig.from_file(toml)
    assert config.debounce_s == 0.05 and config.snr_min_db == 18.0 and config.bands.b == (8.5, 9.5)
    js = tmp_path / "sup.json"
    js.write_text(json.dumps({"serial_port": "/dev/ttyS1", "silence_timeout_s": 0.1}))
    assert SupervisionConfig.from_file(js).serial_port == "/dev/ttyS1"


@pytest.mark.parametrize("data", [{"debounce": 1}, {"debounce_s": "fast"}, {"bands": {"z": [1, 2]}},
                                  {"bands": {"a": [1]}}, {"baudrate": True}])
def test_config_rejects_unknown_keys_and_wrong_types(data):
    with pytest.raises(ConfigInvalid) as info:
        SupervisionConfig.from_dict(data)
    assert info.value.code == "ERR_SUPERVISION_CONFIG"


def test_sysfs_pilot_scales_raw_adc_values_and_reads_a_pwm_capture(tmp_path):
    # 12-bit ADC behind a divider: 0 raw = −15 V, 4095 raw = +15 V.
    scale, offset = 30.0 / 4095, -15.0
    (tmp_path / "high").write_text(f"{round((6.0 - offset) / scale)}\n")
    (tmp_path / "low").write_text(f"{round((-12.0 - offset) / scale)}\n")
    (tmp_path / "capture").write_text("1000000 50000\n")  # period 1 ms, high 50 µs: 5 %
    high, low = AdcChannel(tmp_path / "high", scale, offset), AdcChannel(tmp_path / "low", scale, offset)
    source = SysfsControlPilot(high, low, tmp_path / "capture")
    m = source.read()
    assert abs(m.high_v - 6.0) < 0.01 and abs(m.duty_percent - 5.0) < 1e-9
    reading = classify(m)
    assert reading.state is PilotState.C and reading.digital_communication


def test_sysfs_garbage_is_a_typed_error(tmp_path):
    (tmp_path / "v").write_text("n/a")
    (tmp_path / "d").write_text("0 10")
    channel = AdcChannel(tmp_path / "v", 1.0)
    with pytest.raises(PilotFrameCorrupt):
        channel.volts()
    with pytest.raises(PilotFrameCorrupt):
        SysfsControlPilot(AdcChannel(tmp_path / "d", 1.0), channel, tmp_path / "d").read()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["debounce_s", "bands", "serial_port", "baudrate", "snr_min_db", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                                    lambda inner: st.lists(inner, max_size=3)
                                    | st.dictionaries(st.sampled_from(["a", "b", "z"]), inner, max_size=2),
                                    max_leaves=5), max_size=3))
def test_config_from_random_data_is_a_config_or_the_typed_error(data):
    try:
        SupervisionConfig.from_dict(data)
    except ConfigInvalid:
        pass
