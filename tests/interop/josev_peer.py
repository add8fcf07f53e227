"""Run Josev (PyPI `iso15118` 0.31.2, EcoG-io) as the peer of an interop test: its SECC or its EVCC with its own
simulator controller, configured the way its `.env` / EVCC JSON config would, on one network interface.

Runs with the Python of Josev's virtual environment, from a working directory that does not hold our
`iso15118/` package (the top-level names collide), e.g.

    josev/bin/python tests/interop/josev_peer.py secc -i IFACE --protocols ISO_15118_20_DC [--tls --pki DIR]
    josev/bin/python tests/interop/josev_peer.py evcc -i IFACE --service dc [--tls --pki DIR] [--loops N]

Josev's own log goes to stderr unchanged. stdout carries one JSON object per line for the test:
    {"event": "ready"}                                   the SECC's SDP/TCP servers are up
    {"event": "sent", "message": "DC_ChargeLoopReq"}     every message Josev sent (its "Sent X" log line)
    {"event": "session_end", "successful": bool, "reason": str, "state": str}   Josev ended its session
and the process exits after the first session ended: status 0 only when Josev called it successful.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile

# Josev's settings come from environment variables (or a .env in the working directory, which we never create).
SERVICES = {"dc": ("ISO_15118_20_DC", "DC"), "ac": ("ISO_15118_20_AC", "AC"),
            "dc_bpt": ("ISO_15118_20_DC", "DC_BPT"), "ac_bpt": ("ISO_15118_20_AC", "AC_BPT")}


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class _SentMessages(logging.Handler):
    """Josev logs `Sent <MessageName>` after each write (shared/comm_session.py, V2GCommunicationSession.send)."""

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("Sent "):
            emit("sent", message=text[5:].strip())


# V2GTP payload type -> the schema namespace Josev decodes it with (it picks the decoder by payload type).
_NAMESPACES = {0x8001: "urn:iso:15118:2:2010:AppProtocol", 0x8002: "urn:iso:std:iso:15118:-20:CommonMessages",
               0x8003: "urn:iso:std:iso:15118:-20:AC", 0x8004: "urn:iso:std:iso:15118:-20:DC"}


def _warm_up(codec, corpus: str | None, seconds: float) -> None:
    """EXIficient runs in a JVM started through py4j: the first decode/encode of each message type takes up to
    seconds, far beyond the 2 s (0.5 s in the charge loop) the -20 timeouts allow. A charger would boot long before
    an EV plugs in; here the codec round-trips a corpus of -20 streams (captured from another stack's session) for
    a few seconds before any peer connects."""
    import time

    if not corpus:
        return
    with open(corpus) as f:
        frames = [json.loads(line) for line in f]
    frames = [(bytes.fromhex(f["exi"]), _NAMESPACES[f["payload_type"]]) for f in frames
              if f["payload_type"] in _NAMESPACES]
    deadline = time.monotonic() + seconds
    while True:
        for exi, namespace in frames:
            try:
                codec.encode(codec.decode(exi, namespace), namespace)
            except Exception:  # a stream this EXIficient build refuses still warmed the grammar
                pass
        if time.monotonic() > deadline:
            return


# Josev starts EXIficient's JVM with py4j's defaults: G1 and tiered C2 compilation, whose background threads compete
# with the session on a 2-core machine (measured under load: decode+encode of a DC loop message p50 ~280 ms). The
# C1-only JIT and the serial collector bring that to ~70 ms: runtime tuning of the peer, not of its protocol.
_JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def _tune_jvm() -> None:
    from py4j.java_gateway import JavaGateway

    launch = JavaGateway.launch_gateway

    def launch_gateway(*args, javaopts=None, **kwargs):
        return launch(*args, javaopts=[*(javaopts or []), *_JVM_OPTIONS], **kwargs)

    JavaGateway.launch_gateway = staticmethod(launch_gateway)


def _configure_environment(args: argparse.Namespace) -> None:
    os.environ.update({
        "NETWORK_INTERFACE": args.interface,
        "LOG_LEVEL": args.log_level,
        "ENABLE_TLS_1_3": "true" if args.tls else "false",
        "PKI_PATH": os.path.abspath(args.pki) + "/" if args.pki else os.getcwd() + "/",
        "MESSAGE_LOG_JSON": "true",
        "MESSAGE_LOG_EXI": "true",
    })
    if args.role == "secc":
        os.environ.update({
            "PROTOCOLS": args.protocols,
            "AUTH_MODES": "EIM",
            "SECC_ENFORCE_TLS": "true" if args.tls else "false",
            "FREE_CHARGING_SERVICE": "false",
            "ALLOW_CERT_INSTALL_SERVICE": "false",
        })


def _logs_to_stderr() -> None:
    # Josev's logging.conf sends everything to stdout; our stdout is the JSON event stream.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is sys.stdout:
            handler.setStream(sys.stderr)
    root.addHandler(_SentMessages())


def _report_session_end(done: asyncio.Future) -> None:
    """Both Josev machines end a session in V2GCommunicationSession.stop(reason) (shared/comm_session.py)."""
    from iso15118.shared.comm_session import V2GCommunicationSession

    original_stop = V2GCommunicationSession.stop

    async def stop(self, reason: str):
        # Reported on entry: stop() then waits 5 s before closing TCP ([V2G20-1633] on the SECC side).
        successful = bool(getattr(self.comm_session, "stop_reason", None) and self.comm_session.stop_reason.successful)
        emit("session_end", successful=successful, reason=reason, state=str(self.current_state))
        await original_stop(self, reason)
        if not done.done():
            done.set_result(successful)

    V2GCommunicationSession.stop = stop


def _ideal_supply_controller():
    """Josev's SimEVSEController leaves `send_charging_command` to "the charger's power electronics" (a no-op) and
    reports 1 V / 1 A forever, so no EV can finish DC pre-charge against it. This subclass is the power electronics
    an EVSEControllerInterface integration provides: an ideal DC supply that follows the commanded voltage and
    current at once and switches off on `stop_charger`. Everything else is Josev's simulator."""
    from iso15118.secc.controller.simulator import SimEVSEController

    class IdealSupplyController(SimEVSEController):
        async def send_charging_command(self, ev_target_voltage, ev_target_current, is_precharge=False,
                                        is_session_bpt=False):
            if ev_target_voltage is None and ev_target_current is None:
                # Dynamic control mode: Josev passes no targets, the EVSE chooses the power within both limits.
                voltage = self.ev_data_context.present_voltage
                limits = (self.ev_data_context.session_limits.dc_limits.max_charge_power,
                          self.evse_data_context.session_limits.dc_limits.max_charge_power)
                power = min(limit for limit in limits if limit)
                self.evse_data_context.present_voltage = voltage
                self.evse_data_context.present_current = power / voltage if voltage else 0
                return
            if ev_target_voltage is not None:
                self.evse_data_context.present_voltage = ev_target_voltage
            if ev_target_current is not None:
                self.evse_data_context.present_current = ev_target_current

        async def stop_charger(self) -> None:
            self.evse_data_context.present_voltage = 0
            self.evse_data_context.present_current = 0

    return IdealSupplyController()


async def _run_secc(args: argparse.Namespace, done: asyncio.Future) -> None:
    from iso15118.secc import SECCHandler
    from iso15118.secc.controller.interface import ServiceStatus
    from iso15118.secc.secc_settings import Config
    from iso15118.shared.exificient_exi_codec import ExificientEXICodec

    _logs_to_stderr()
    config = Config()
    config.load_envs()
    controller = _ideal_supply_controller()
    await controller.set_status(ServiceStatus.STARTING)
    codec = ExificientEXICodec()
    _warm_up(codec, args.warm_up_corpus, args.warm_up)
    handler = SECCHandler(exi_codec=codec, evse_controller=controller, config=config)
    server = asyncio.create_task(handler.start(config.iface))
    while not (handler.udp_server and handler.udp_server.started):
        await asyncio.sleep(0.05)
    emit("ready")
    await asyncio.wait([server, done], return_when=asyncio.FIRST_COMPLETED)


def _battery_controller(evcc_config):
    """Josev's SimEVController reports a battery at 20 kV (`get_present_voltage`/`get_target_voltage`), above the
    1000 V EVMaximumVoltage it announces itself, so any SECC that checks limits refuses its pre-charge. The battery
    voltage is what an EVControllerInterface integration supplies: this subclass reports a 380 V pack, inside
    Josev's own DC limits (400 V maximum in its dynamic loop). Everything else is Josev's simulator."""
    from iso15118.evcc.controller.simulator import SimEVController
    from iso15118.shared.messages.iso15118_20.common_types import RationalNumber

    class BatteryController(SimEVController):
        async def get_present_voltage(self):
            return RationalNumber(exponent=0, value=380)

        async def get_target_voltage(self):
            return RationalNumber(exponent=0, value=380)

    return BatteryController(evcc_config)


async def _run_evcc(args: argparse.Namespace, done: asyncio.Future) -> None:
    from iso15118.evcc import Config, EVCCHandler
    from iso15118.evcc.evcc_config import load_from_file
    from iso15118.shared.exificient_exi_codec import ExificientEXICodec

    _logs_to_stderr()
    protocol, energy_service = SERVICES[args.service]
    ev_config = {"supportedProtocols": [protocol], "supportedEnergyServices": [energy_service],
                 "isCertInstallNeeded": False, "useTls": args.tls, "enforceTls": args.tls,
                 "chargeLoopCycle": args.loops, "sdpRetryCycles": 1}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(ev_config, f)
    config = Config()
    config.load_envs()
    evcc_config = await load_from_file(f.name)
    os.unlink(f.name)
    codec = ExificientEXICodec()
    _warm_up(codec, args.warm_up_corpus, args.warm_up)
    handler = EVCCHandler(evcc_config=evcc_config, iface=config.iface, exi_codec=codec,
                          ev_controller=_battery_controller(evcc_config))
    client = asyncio.create_task(handler.start())
    await asyncio.wait([client, done], return_when=asyncio.FIRST_COMPLETED)


async def main(args: argparse.Namespace) -> int:
    done: asyncio.Future = asyncio.get_running_loop().create_future()
    _tune_jvm()
    _report_session_end(done)
    await (_run_secc if args.role == "secc" else _run_evcc)(args, done)
    return 0 if done.done() and done.result() else 1


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=("secc", "evcc"))
    parser.add_argument("-i", "--interface", required=True)
    parser.add_argument("--tls", action="store_true", help="TLS 1.3 (ENABLE_TLS_1_3, enforced on both sides)")
    parser.add_argument("--pki", help="Josev PKI_PATH (holds iso15118_2/certs and iso15118_2/private_keys)")
    parser.add_argument("--protocols", default="ISO_15118_20_DC,ISO_15118_20_AC", help="SECC: PROTOCOLS")
    parser.add_argument("--service", choices=sorted(SERVICES), default="dc", help="EVCC: protocol + energy service")
    parser.add_argument("--loops", type=int, default=5, help="EVCC: chargeLoopCycle")
    parser.add_argument("--warm-up-corpus", help="JSON lines {payload_type, exi} to round-trip before starting")
    parser.add_argument("--warm-up", type=float, default=6.0, help="seconds of that warm-up (at least one pass)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    if os.geteuid() == 0:
        # EXIficient needs ~100-300 ms per message on a busy 2-core CI machine, close to the 0.5 s charge-loop
        # timeouts; a higher CPU priority (inherited by the JVM) keeps the peer's timing from depending on
        # whatever else the machine runs.
        os.nice(-10)
    _configure_environment(arguments)
    sys.exit(asyncio.run(main(arguments)))
