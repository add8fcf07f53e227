"""Device model through the real CSMS over websockets: GetVariables (B06), SetVariables (B05) with validation,
persistence across a restart and live effect, GetBaseReport (B07) answered Accepted then NotifyReport pages.
The `ocpp` package on the CSMS side checks every response against the OCPP 2.0.1 JSON schemas."""
import asyncio

from ocpp.v201 import call

from metering.ocpp import LocalCsms, OcppClient
from tests.ocpp.conftest import fast_config

STATION = "CS001"
# Names and mutability as OCPP 2.0.1 Part 2 appendix (and facts metering.md §2.3) give them.
READ_WRITE = {
    ("OCPPCommCtrlr", "OfflineThreshold", None), ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"), ("OCPPCommCtrlr", "QueueAllMessages", None),
    ("OCPPCommCtrlr", "HeartbeatInterval", None), ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None),
    ("OCPPCommCtrlr", "RetryBackOffRandomRange", None), ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None),
    ("OCPPCommCtrlr", "PublicKeyWithSignedMeterValue", None), ("AlignedDataCtrlr", "Interval", None),
    ("SampledDataCtrlr", "TxUpdatedInterval", None), ("TxCtrlr", "TxStartPoint", None),
}
WRITE_ONLY = {("SecurityCtrlr", "BasicAuthPassword", None)}
READ_ONLY = {("SecurityCtrlr", "Identity", None), ("OCPPCommCtrlr", "MessageTimeout", "Default")}


def item(component, name, instance=None, value=None, attribute_type=None):
    entry = {"component": {"name": component}, "variable": {"name": name, **({"instance": instance} if instance else {})}}
    if value is not None:
        entry["attribute_value"] = value
    if attribute_type:
        entry["attribute_type"] = attribute_type
    return entry


async def get(csms, *items):
    result = await csms.call(STATION, call.GetVariables(get_variable_data=list(items)))
    return [(r["attribute_status"], r.get("attribute_value")) for r in result.get_variable_result]


async def set_(csms, *items):
    result = await csms.call(STATION, call.SetVariables(set_variable_data=list(items)))
    return [r["attribute_status"] for r in result.set_variable_result]


async def test_get_variables_reads_configured_values_and_names_what_is_unknown(journal_path):
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path, offline_threshold=45, queue_all_messages=True,
                             message_attempts_transaction_event=4)
        async with OcppClient(config) as client:
            await client.wait_online(5)
            assert await get(
                csms, item("OCPPCommCtrlr", "OfflineThreshold"), item("OCPPCommCtrlr", "QueueAllMessages"),
                item("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"), item("SecurityCtrlr", "Identity"),
                item("OCPPCommCtrlr", "MessageAttempts"),  # the instance is part of the name
                item("NoSuchCtrlr", "OfflineThreshold"), item("OCPPCommCtrlr", "NoSuchVariable"),
                item("OCPPCommCtrlr", "OfflineThreshold", attribute_type="MaxSet"),
                item("SecurityCtrlr", "BasicAuthPassword"),
            ) == [("Accepted", "45"), ("Accepted", "true"), ("Accepted", "4"), ("Accepted", STATION),
                  ("UnknownVariable", None), ("UnknownComponent", None), ("UnknownVariable", None),
                  ("NotSupportedAttributeType", None), ("Rejected", None)]


async def test_set_variables_checks_each_value_and_applies_the_valid_ones(journal_path):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            statuses = await set_(
                csms, item("OCPPCommCtrlr", "OfflineThreshold", value="90"),
                item("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent", value="0"),  # minimum 1
                item("OCPPCommCtrlr", "HeartbeatInterval", value="soon"),  # not an integer
                item("OCPPCommCtrlr", "QueueAllMessages", value="yes"),  # booleans are true/false
                item("OCPPCommCtrlr", "PublicKeyWithSignedMeterValue", value="OncePerTransaction"),
                item("OCPPCommCtrlr", "PublicKeyWithSignedMeterValue", value="Sometimes"),  # not in the list
                item("TxCtrlr", "TxStartPoint", value="Authorized,DataSigned"),
                item("TxCtrlr", "TxStartPoint", value="ParkingBayOccupancy"),  # no bay sensor here
                item("SecurityCtrlr", "Identity", value="OTHER"),  # ReadOnly
                item("OCPPCommCtrlr", "OfflineThreshold", value="5", attribute_type="Target"),
                item("FooCtrlr", "Bar", value="1"),
            )
            assert statuses == ["Accepted", "Rejected", "Rejected", "Rejected", "Accepted", "Rejected", "Accepted",
                                "Rejected", "Rejected", "NotSupportedAttributeType", "UnknownComponent"]
            assert (client.config.offline_threshold, client.config.public_key_with_signed_meter_value,
                    client.config.tx_start_points()) == (90, "OncePerTransaction", ("Authorized", "DataSigned"))
            assert client.config.message_attempts_transaction_event == 3 and client.config.station_id == STATION


async def test_set_values_survive_a_restart_and_win_over_the_file(journal_path):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, aligned_data_interval=300)) as client:
            await client.wait_online(5)
            assert await set_(csms, item("AlignedDataCtrlr", "Interval", value="900"),
                              item("OCPPCommCtrlr", "QueueAllMessages", value="true")) == ["Accepted", "Accepted"]
        async with OcppClient(fast_config(csms.url, journal_path, aligned_data_interval=300)) as restarted:
            assert restarted.config.aligned_data_interval == 900 and restarted.config.queue_all_messages
            await restarted.wait_online(5)
            assert await get(csms, item("AlignedDataCtrlr", "Interval"),
                             item("OCPPCommCtrlr", "QueueAllMessages")) == [("Accepted", "900"), ("Accepted", "true")]


async def test_a_new_message_attempt_interval_governs_the_waiting_retry(journal_path, meter):
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path, message_attempt_interval_transaction_event=3600.0)
        async with OcppClient(config) as client:
            await client.wait_online(5)
            csms.fail_next("TransactionEvent", 1)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            while not csms.record.call_errors:  # the first send failed: the retry waits 3600 s × 1
                await asyncio.sleep(0.01)
            assert await set_(csms, item("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent",
                                         value="0")) == ["Accepted"]
            await client.wait_idle(10)  # only the new interval lets the retry go now
    assert [e["eventType"] for e in csms.events(tx.transaction_id)] == ["Started"]


async def test_a_new_heartbeat_interval_reschedules_the_next_heartbeat(journal_path):
    async with LocalCsms(heartbeat_interval=3600) as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            assert await get(csms, item("OCPPCommCtrlr", "HeartbeatInterval")) == [("Accepted", "3600")]  # from Boot
            assert await set_(csms, item("OCPPCommCtrlr", "HeartbeatInterval", value="1")) == ["Accepted"]
            async with asyncio.timeout(10):
                while csms.record.heartbeats == 0:
                    await asyncio.sleep(0.02)


async def test_a_new_aligned_interval_reschedules_the_aligned_sampler(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, aligned_data_interval=86_400)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            sampler = asyncio.create_task(client.sample_aligned(tx, lambda: meter.at(60)))
            await client.wait_idle(5)  # Started delivered; the next boundary is the next midnight
            assert await set_(csms, item("AlignedDataCtrlr", "Interval", value="1")) == ["Accepted"]
            async with asyncio.timeout(10):
                while len(csms.events(tx.transaction_id)) < 2:
                    await asyncio.sleep(0.02)
            sampler.cancel()
    assert csms.events(tx.transaction_id)[1]["triggerReason"] == "MeterValueClock"


async def test_get_base_report_is_accepted_then_paged_notify_reports_list_the_variables(journal_path):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            for request_id, base in ((7, "FullInventory"), (8, "ConfigurationInventory")):
                result = await csms.call(STATION, call.GetBaseReport(request_id=request_id, report_base=base))
                assert result.status == "Accepted"
            summary = await csms.call(STATION, call.GetBaseReport(request_id=9, report_base="SummaryInventory"))
            assert summary.status == "NotSupported"
            async with asyncio.timeout(10):
                while not any(r["requestId"] == 8 and not r.get("tbc") for r in csms.record.reports):
                    await asyncio.sleep(0.02)
    for request_id, expected in ((7, READ_WRITE | WRITE_ONLY | READ_ONLY), (8, READ_WRITE | WRITE_ONLY)):
        pages = [r for r in csms.record.reports if r["requestId"] == request_id]
        assert [p["seqNo"] for p in pages] == list(range(len(pages))) and len(pages) > 1
        assert [p.get("tbc", False) for p in pages] == [True] * (len(pages) - 1) + [False]
        entries = [e for p in pages for e in p["reportData"]]
        names = [(e["component"]["name"], e["variable"]["name"], e["variable"].get("instance")) for e in entries]
        assert sorted(names, key=str) == sorted(expected, key=str)
        for entry, name in zip(entries, names):
            [attribute] = entry["variableAttribute"]
            mutability = ("ReadOnly" if name in READ_ONLY else "WriteOnly" if name in WRITE_ONLY else "ReadWrite")
            assert attribute["mutability"] == mutability
            assert ("value" in attribute) == (name not in WRITE_ONLY)  # a password is never reported
