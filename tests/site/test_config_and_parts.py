"""Site configuration from TOML, the power interlock, and the seal-reason → OCPP reason table."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocpp.v201.enums import ReasonEnumType, TriggerReasonEnumType

from iso15118.secc.charger import SimulatedCharger
from iso15118.session.config import ConfigError
from iso15118.site import InterlockedCharger, SiteConfig, stop_reasons
from metering.ocpp import FAULT_STOP_REASONS

SITE = """
[site]
data_dir = "d"
tls = false
meter_time_scale = 10

[secc]
evse_id = "DE*ABC*E"
services = ["dc", "dc_bpt"]

[ocpp]
csms_url = "ws://csms.example:9000"

[[connector]]
id = 1

[[connector]]
id = 2
station_id = "HUB-2"
services = ["ac"]
sdp_port = 15200
"""


def test_site_toml_lists_connectors_with_their_own_identity_and_shared_defaults(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    config = SiteConfig.from_file(path)
    first, second = config.connectors
    assert config.secc_for(first).services == ("dc", "dc_bpt")
    assert config.secc_for(second).services == ("ac",)
    assert config.secc_for(first).evse_id == "DE*ABC*E1"
    assert config.station_id(first) == "CS001" and config.station_id(second) == "HUB-2"
    assert second.sdp_port == 15200 and config.ocpp["csms_url"] == "ws://csms.example:9000"
    assert config.secc_for(first).meter_id != config.secc_for(second).meter_id


@pytest.mark.parametrize("text", [
    SITE.replace("id = 2", "id = 1"),                    # duplicate connector
    SITE.replace('services = ["ac"]', 'services = ["x"]'),  # unknown service
    SITE.replace("tls = false", "tls = true"),             # TLS without a PKI
    SITE + "\n[bogus]\n",                                  # unknown section
    SITE.replace("[[connector]]\nid = 1", "[[connector]]\nid = 1\nspeed = 3", 1),  # unknown key
    "connector = 3",                                       # not a list of tables
])
def test_bad_site_config_is_refused_with_the_config_error_code(tmp_path, text):
    path = tmp_path / "site.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        SiteConfig.from_file(path)
    assert err.value.code == "ERR_CONFIG_INVALID"


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=3), max_leaves=12))
def test_arbitrary_config_data_gives_a_config_or_a_config_error(data):
    if not isinstance(data, dict):
        data = {"site": data}
    try:
        SiteConfig.from_dict(data)
    except ConfigError:
        pass


def test_tripped_interlock_delivers_nothing_until_reset():
    power = InterlockedCharger(SimulatedCharger())
    assert power.close_contactors(0.0)
    assert power.deliver_dc(400.0, 100.0, 200.0, 100_000.0, 0.1).current > 0
    power.trip()
    assert power.deliver_dc(400.0, 100.0, 200.0, 100_000.0, 0.2).current == 0.0
    assert power.deliver_ac(11_000.0, 0.3) == 0.0
    assert not power.close_contactors(0.4)
    power.reset()
    assert power.close_contactors(0.5)


@pytest.mark.parametrize("code", ["normal", "restart", "CONNECTION_LOST", "TIMEOUT_SEQUENCE", "TIMEOUT_MSG",
                                  "FAILED_MeteringSignatureNotValid", *FAULT_STOP_REASONS])
def test_every_seal_reason_maps_to_ocpp_enumeration_values(code):
    trigger, stopped = stop_reasons(code)
    assert trigger in {t.value for t in TriggerReasonEnumType}
    assert stopped in {r.value for r in ReasonEnumType}


def test_simulated_meter_time_keeps_its_sampling_to_its_share_of_the_time():
    from iso15118.site import SimulatedMeterTime
    meter_time = SimulatedMeterTime(60.0, tick_s=0.05, max_share=0.25)
    assert meter_time.pause_after(0.001) == 0.05  # a few meters: every tick
    for step_s in (0.02, 0.1, 0.4):  # many meters: the step and its pause, at most a quarter stepping
        pause = meter_time.pause_after(step_s)
        assert pause >= 0.05
        assert step_s / (step_s + pause) <= 0.25 + 1e-9


def test_simulated_meter_time_polls_many_meters_in_turns_and_advances_every_clock(tmp_path):
    from iso15118.site import SimulatedMeterTime
    from metering import SimulatedClock

    class CountingMeter:
        def __init__(self):
            self.polls = 0

        def poll(self):
            self.polls += 1

    meter_time = SimulatedMeterTime(60.0, meters_per_step=4)
    meters = [CountingMeter() for _ in range(10)]
    clocks = [SimulatedClock(wall_start=0.0) for _ in meters]
    for meter, clock in zip(meters, clocks):
        meter_time.add(meter, clock)
    for _ in range(5):  # 20 polls: each of the 10 meters twice, never more than 4 per step
        before = [m.polls for m in meters]
        meter_time.step()
        assert sum(m.polls for m in meters) - sum(before) == 4
    assert [m.polls for m in meters] == [2] * 10
    assert len({clock.monotonic() for clock in clocks}) == 1 and clocks[0].monotonic() > 0
