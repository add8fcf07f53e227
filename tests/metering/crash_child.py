"""Child process for test_crash: writes signed readings and sessions forever, printing each acknowledgement.

An acknowledgement line is printed only after the call returned, i.e. after the journal commit.
"""
import random
import sys
import time

from metering import ChipEmulator, EmulatorConfig, LoadProfile, Meter, MeterConfig, SimulatedClock


def main(journal_path: str, key_path: str, seed: int) -> None:
    rng = random.Random(seed)
    clock = SimulatedClock(wall_start=time.time())
    emulator = ChipEmulator(EmulatorConfig(fidelity="analytic"), LoadProfile.constant(i_rms=16.0),
                            clock=clock.monotonic)
    meter = Meter(MeterConfig(journal_path=journal_path, key_path=key_path), emulator=emulator, clock=clock)
    for sealed in meter.recovered:
        print(f"recovered {sealed.seq} {sealed.session_id}", flush=True)
    print("ready", flush=True)
    n = 0
    while True:
        session = f"S{seed}-{n}"
        r = meter.begin_session(session)
        print(f"ack {r.seq} {r.kind} {session} {r.import_wh}", flush=True)
        for _ in range(rng.randint(1, 4)):
            clock.advance(5.0)
            meter.poll()
            r = meter.reading(session)
            print(f"ack {r.seq} {r.kind} {session} {r.import_wh}", flush=True)
        if rng.random() < 0.6:
            r = meter.seal_session(session, "local")
            print(f"ack {r.seq} {r.kind} {session} {r.import_wh}", flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
