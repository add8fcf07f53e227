"""SpiTransport's full-duplex framing, with a spidev stand-in that clocks the emulator's MISO bytes.

CI has no SPI controller; the stand-in behaves like the wire: MISO is idle (0x00) while the command word is
shifted out, then carries the chip's answer while MOSI sends zeros.
"""
import sys
import types

import pytest

from metering import Ade9000Driver, ChipEmulator, LoadProfile, SimulatedClock, SpiTransport


class WireSpiDev:
    emulator = None

    def __init__(self):
        self.opened = None
        self.mode = 0
        self.max_speed_hz = 0

    def open(self, bus, device):
        self.opened = (bus, device)

    def xfer2(self, mosi):
        frame = bytes(mosi)
        command = frame[:2]
        if self.emulator.frame_length(command):  # a write: the whole frame is command + data, MISO stays idle
            self.emulator.handle_frame(frame)
            return [0] * len(frame)
        answer = self.emulator.handle_frame(command)
        assert frame[2:] == bytes(len(answer)), "MOSI must clock zeros while the chip answers"
        return [0, 0] + list(answer)

    def close(self):
        pass


@pytest.fixture
def spidev_on_wire(monkeypatch):
    module = types.ModuleType("spidev")
    module.SpiDev = WireSpiDev
    monkeypatch.setitem(sys.modules, "spidev", module)
    return WireSpiDev


def test_driver_over_spi_transport_starts_and_reads_energy(spidev_on_wire):
    clock = SimulatedClock()
    spidev_on_wire.emulator = ChipEmulator(profile=LoadProfile.constant(i_rms=16.0), clock=clock.monotonic)
    transport = SpiTransport.from_path("/dev/spidev1.2")
    assert transport._spi.opened == (1, 2) and transport._spi.mode == 3
    driver = Ade9000Driver(transport, monotonic=clock.monotonic, sleep=clock.sleep)
    driver.start()
    clock.advance(10.0)
    energy = sum(p.energy_wh for p in driver.poll().phases)
    assert energy == pytest.approx(3 * 230 * 16 * 10 / 3600, rel=0.05)  # uncalibrated front end: ±2 %
