"""Site gateway: many EVSEs in one process, each binding its SECC, meter, supervision and OCPP connection.

    from iso15118.site import SiteConfig, SiteGateway
    async with SiteGateway(SiteConfig.from_file("site.toml")) as site:    # or: python -m iso15118.site --config F
        ...

The glue per connector is `Evse` (evse.py): a session that ends for any reason — SessionStop, FAILED code,
timeout, TCP/TLS loss, a supervision fault (CP E/F, PWM loss, unplug, PLC link lost) or a crash of this
process — is sealed exactly once with a final signed reading, and its OCPP transaction ends with an Ended
event carrying that reading (seal reason → triggerReason/stoppedReason: endings.py). On a fault the power
stage's interlock (power.py) trips first, then the meter seals, then the SECC machine ends without answering.
Configuration: `SiteConfig` / `ConnectorConfig` (config.py, TOML). Meters run in real time, or in simulated
time at N x real time (`meter_time_scale`, meter_time.py) for the demo and the bench.
"""
from .config import ConnectorConfig, SiteConfig
from .endings import stop_reasons
from .evse import Evse, SessionRecord, ocmf_user
from .gateway import SiteGateway
from .meter_time import SimulatedMeterTime
from .power import InterlockedCharger

__all__ = ["ConnectorConfig", "Evse", "InterlockedCharger", "SessionRecord", "SimulatedMeterTime",
           "SiteConfig", "SiteGateway", "ocmf_user", "stop_reasons"]
