"""No configuration can make a session break ISO 15118-20: the message and sequence timeouts are the
standard's (Table 221/222), and MeterInfo is always in the first charge-loop response [V2G20-1833]."""
import pytest

from iso15118.session.config import ConfigError, EvConfig, SeccConfig, from_dict


@pytest.mark.parametrize("cls, key, value", [
    (SeccConfig, "timeout_scale", 10),
    (EvConfig, "timeout_scale", 10),
    (SeccConfig, "meter_info_in_first_loop", False),
])
def test_a_setting_that_would_break_the_standard_is_refused(cls, key, value):
    with pytest.raises(ConfigError):
        from_dict(cls, {key: value})
