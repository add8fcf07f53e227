"""The site configuration's vehicle revocation policy reaches the shared SECC TLS context: with no CRL at all,
"soft" lets the vehicle in, "hard" refuses it at the TLS handshake (ERR_REVOCATION_UNKNOWN)."""
import pytest

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.session.config import ConfigError
from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway


@pytest.fixture(scope="module")
def pki_without_crls(tmp_path_factory):
    from certs import PkiConfig, create_pki
    directory = create_pki(tmp_path_factory.mktemp("pki"), PkiConfig()).directory
    for crl in (directory / "crl").iterdir():
        crl.unlink()
    return str(directory)


async def _session(pki_dir, data_dir, revocation):
    from iso15118.session.tls_contexts import ev_context
    config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("ac",)),), data_dir=str(data_dir),
                        pki_dir=pki_dir, revocation=revocation, meter_time_scale=60.0)
    async with SiteGateway(config) as site:
        ev = Evcc(EvConfig(service="ac", auth="eim", charge_loops=2, loop_period=0.05))
        try:
            return await run_session(ev, "::1", site.evses[1].port, ssl_context=ev_context(pki_dir))
        except Exception as exc:  # the refused handshake surfaces on the EV side as a connection error
            return {"outcome": f"refused: {exc!r}"}


async def test_soft_revocation_accepts_a_vehicle_without_revocation_information(pki_without_crls, tmp_path):
    summary = await _session(pki_without_crls, tmp_path, "soft")
    assert summary["outcome"] == "completed"


async def test_hard_revocation_from_the_site_config_refuses_a_vehicle_without_crls(pki_without_crls, tmp_path, caplog):
    summary = await _session(pki_without_crls, tmp_path, "hard")
    assert summary["outcome"] != "completed"
    assert "ERR_REVOCATION_UNKNOWN" in caplog.text


def test_an_unknown_revocation_policy_is_a_config_error():
    with pytest.raises(ConfigError):
        SiteConfig(tls=False, revocation="strict")
