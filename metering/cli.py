"""`meter-tool`: read live values from the metrology chip and calibrate it.

With no --device/--serial the tool talks to the built-in chip emulator (same frames as the chip), which runs in
simulated time, so both commands work without hardware.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from metering.calibration import Calibration, calibrate, load_calibration, save_calibration
from metering.clock import SimulatedClock, chrony_sync_state
from metering.conditioning import Conditioner
from metering.driver import Ade9000Driver
from metering.emulator import ChipEmulator, EmulatorConfig, LoadProfile, PtyEmulatorServer
from metering.errors import MeteringError
from metering.meter import MeterConfig
from metering.transport import EmulatorTransport, SpiTransport, UartTransport

DEFAULT_CALIBRATION = "meter-calibration.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meter-tool",
        description="Read and calibrate the ADE9000-class metrology chip. Without --device or --serial the "
                    "built-in chip emulator is used (--emulator is the default), so no hardware is needed.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--read", action="store_true", help="print live values (V, I, P per phase, energy)")
    action.add_argument("--serve-emulator", action="store_true",
                        help="serve the chip emulator (real time) on a pty; prints the port for --serial")
    action.add_argument("--calibrate", action="store_true",
                        help="compute gains, current offsets and phase compensation against the injected "
                             "reference (PF 1, zero current, PF 0.5) and store them")
    link = parser.add_mutually_exclusive_group()
    link.add_argument("--device", help="SPI device, e.g. /dev/spidev0.0 (needs the 'spi' extra)")
    link.add_argument("--serial", help="serial port of a UART-attached meter, e.g. /dev/ttyUSB0")
    link.add_argument("--emulator", action="store_true", help="use the built-in chip emulator (default)")
    parser.add_argument("--config", help="MeterConfig JSON file (front-end scaling, conditioning, calibration path)")
    parser.add_argument("--baud", type=int, default=115_200, help="serial baud rate (default 115200)")
    parser.add_argument("--calibration", help=f"calibration file (default: the config's calibration_path, else "
                                              f"{DEFAULT_CALIBRATION})")
    parser.add_argument("--v-ref", type=float, default=230.0, help="reference voltage, V rms (default 230)")
    parser.add_argument("--i-ref", type=float, default=32.0, help="reference current, A rms (default 32)")
    parser.add_argument("--lock", action="store_true", help="lock the new calibration against overwriting")
    parser.add_argument("--unlock", action="store_true", help="allow replacing a locked calibration")
    parser.add_argument("--window", type=float, default=1.0, help="seconds per --read sample (default 1)")
    parser.add_argument("--count", type=int, default=1, help="number of --read samples (default 1)")
    parser.add_argument("--load-a", type=float, default=16.0, help="emulator load current, A (default 16)")
    parser.add_argument("--export", action="store_true", help="emulator load discharges (V2G export)")
    parser.add_argument("--json", action="store_true", help="one JSON object per sample / result")
    return parser


class _Link:
    """The transport plus how time passes on it (simulated for the emulator, real for hardware)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.emulator = None
        if args.device:
            self.transport = SpiTransport.from_path(args.device)
        elif args.serial:
            self.transport = UartTransport(args.serial, baudrate=args.baud)
        else:
            self.clock = SimulatedClock()
            self.emulator = ChipEmulator(EmulatorConfig(), LoadProfile.constant(i_rms=args.load_a, export=args.export),
                                         clock=self.clock.monotonic)
            self.transport = EmulatorTransport(self.emulator)
            self.monotonic, self.sleep = self.clock.monotonic, self.clock.sleep
            return
        self.monotonic, self.sleep = time.monotonic, time.sleep

    def apply_reference(self, v_rms: float, i_rms: float, power_factor: float) -> None:
        if self.emulator is not None:
            self.emulator.set_profile(LoadProfile.constant(v_rms=v_rms, i_rms=i_rms, power_factor=power_factor))
            return
        print(f"meter-tool: apply {v_rms:g} V / {i_rms:g} A at PF {power_factor:g} (inductive) to all phases, "
              "then press Enter", file=sys.stderr)
        sys.stdin.readline()


def _read(args: argparse.Namespace, link: _Link, config: MeterConfig) -> int:
    path = Path(args.calibration)
    calibration = load_calibration(path) if path.exists() else None
    driver = Ade9000Driver(link.transport, config.scaling, calibration, monotonic=link.monotonic, sleep=link.sleep)
    crc = driver.start()
    conditioner = Conditioner(config.conditioning)
    sync = chrony_sync_state()
    conditioner.apply(driver.poll())
    for _ in range(args.count):
        link.sleep(args.window)
        sample = conditioner.apply(driver.poll())
        energy = sum(p.energy_wh for p in sample.phases)
        result = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "clock": sync.name.lower(),
            "source": "emulator" if link.emulator else (args.device or args.serial),
            "calibrated": calibration is not None, "config_crc": f"0x{crc:04X}",
            "temperature_c": round(sample.temperature_c, 2),
            "phases": [{"phase": f"L{p + 1}", "v_rms": round(s.v_rms, 3), "i_rms": round(s.i_rms, 4),
                        "power_w": round(s.power_w, 2)} for p, s in enumerate(sample.phases)],
            "window_s": round(sample.elapsed_s, 3),
            "import_wh": round(max(energy, 0.0), 6), "export_wh": round(max(-energy, 0.0), 6),
            "diagnostics": [d.message for d in conditioner.diagnose(sample)],
        }
        if args.json:
            print(json.dumps(result))
            continue
        print(f"{result['timestamp']}  clock {result['clock']}  {result['source']}  "
              f"{'calibrated' if calibration else 'UNCALIBRATED'}  config CRC {result['config_crc']}  "
              f"{result['temperature_c']:.1f} °C")
        for phase in result["phases"]:
            print(f"  {phase['phase']}: {phase['v_rms']:8.2f} V {phase['i_rms']:8.3f} A {phase['power_w']:10.1f} W")
        print(f"  window {result['window_s']:.3f} s: import {result['import_wh']:.4f} Wh, "
              f"export {result['export_wh']:.4f} Wh")
        for message in result["diagnostics"]:
            print(f"  DIAGNOSTIC: {message}")
    return 0


def _calibrate(args: argparse.Namespace, link: _Link, config: MeterConfig) -> int:
    path = Path(args.calibration)
    if path.exists() and not args.unlock and load_calibration(path).locked:
        # Refuse before touching the chip; save_calibration() enforces the same rule.
        save_calibration(Calibration.identity(), path)
    driver = Ade9000Driver(link.transport, config.scaling, monotonic=link.monotonic, sleep=link.sleep)
    result = calibrate(driver, args.v_ref, args.i_ref, link.apply_reference, link.sleep, lock=args.lock)
    save_calibration(result, path, unlock=args.unlock)
    summary = {"calibration": str(path), "v_ref": args.v_ref, "i_ref": args.i_ref, "locked": result.locked,
               "config_crc": f"0x{result.config_crc:04X}",
               "phases": [{"v_gain": p.v_gain, "i_gain": p.i_gain, "i_rms_offset": p.i_rms_offset,
                           "phase_cal": p.phase_cal} for p in result.phases]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"calibration written to {path} (config CRC {summary['config_crc']}"
              f"{', locked' if result.locked else ''})")
        for p, phase in enumerate(summary["phases"]):
            print(f"  L{p + 1}: VGAIN {phase['v_gain']:#010x} IGAIN {phase['i_gain']:#010x} "
                  f"IRMSOS {phase['i_rms_offset']} PHCAL {phase['phase_cal']:#010x}")
    return 0


def _serve_emulator(args: argparse.Namespace) -> int:
    emulator = ChipEmulator(EmulatorConfig(), LoadProfile.constant(i_rms=args.load_a, export=args.export))
    with PtyEmulatorServer(emulator) as server:
        print(json.dumps({"port": server.port}) if args.json else f"chip emulator serving on {server.port}",
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.serve_emulator:
        return _serve_emulator(args)
    try:
        config = MeterConfig.from_file(args.config) if args.config else MeterConfig()
        args.calibration = args.calibration or config.calibration_path or DEFAULT_CALIBRATION
        link = _Link(args)
        try:
            return _read(args, link, config) if args.read else _calibrate(args, link, config)
        finally:
            link.transport.close()
    except MeteringError as exc:
        print(f"meter-tool: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except (OSError, ImportError) as exc:
        print(f"meter-tool: cannot open the meter or a file: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a config file with unknown keys or wrong values
        print(f"meter-tool: bad configuration: {exc}", file=sys.stderr)
        return 2
