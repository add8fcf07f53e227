"""The site gateway opens each metering session with the selected service's supply: the OCMF records of a DC
session carry RT "DC", those of an AC session "AC" (facts/metering.md §1.3), and verify with pyocmf."""
import asyncio

import pytest
from pyocmf import OCMF

from iso15118.demo import DemoOptions, run_demo
from tests.demo import artifact_checks as check


@pytest.mark.parametrize("service, current_type", [("dc", "DC"), ("ac", "AC")])
def test_site_session_ocmf_records_carry_the_services_reading_type(tmp_path, service, current_type):
    result = asyncio.run(run_demo(DemoOptions(service=service, auth="eim", out=tmp_path, charge_loops=4,
                                              quiet=True)))
    assert result["ev"]["outcome"] == "completed"
    records = [OCMF.from_string(r) for r in check.records(tmp_path)]
    assert records and all(r.verify_signature(check.public_key_hex(tmp_path)) for r in records)
    session_records = [r for r in records if r.payload.PG.startswith("T")]  # T: transaction, F: fiscal
    assert {rd.TX.value for r in session_records for rd in r.payload.RD} >= {"B", "E"}
    assert {rd.RT.value for r in session_records for rd in r.payload.RD} == {current_type}
