"""Control pilot read from sysfs files (Linux IIO ADC channels and a PWM capture), polled periodically.

Front ends that sample the pilot's plateaus with two ADC channels expose each as an integer file
(`/sys/bus/iio/devices/iio:deviceN/in_voltageK_raw`); volts = raw × scale_v + offset_v, where scale and
offset fold in the ADC LSB and the resistor divider. The duty file holds either one integer (per mille)
or two integers "period duty" as the Linux PWM `capture` attribute writes them (nanoseconds).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from supervision.errors import PilotFrameCorrupt
from supervision.pilot import PilotMeasurement


@dataclass(frozen=True)
class AdcChannel:
    path: Path
    scale_v: float
    offset_v: float = 0.0

    def volts(self) -> float:
        return _integers(self.path, 1)[0] * self.scale_v + self.offset_v


def _integers(path: Path, count: int | None) -> list[int]:
    text = path.read_text(encoding="ascii", errors="replace").split()
    try:
        values = [int(word) for word in text]
    except ValueError as exc:
        raise PilotFrameCorrupt(f"{path}: not integers: {text!r}") from exc
    if not values or (count is not None and len(values) != count):
        raise PilotFrameCorrupt(f"{path}: expected {count or 'one or two'} integers, got {text!r}")
    return values


class SysfsControlPilot:
    def __init__(self, high: AdcChannel, low: AdcChannel, duty_path: str | Path, period_s: float = 0.010) -> None:
        self.high, self.low, self.duty_path, self.period_s = high, low, Path(duty_path), period_s

    def read(self) -> PilotMeasurement:
        duty = _integers(self.duty_path, None)
        if len(duty) == 1:
            duty_percent = duty[0] / 10.0
        elif len(duty) == 2 and duty[0] > 0:
            duty_percent = 100.0 * duty[1] / duty[0]
        else:
            raise PilotFrameCorrupt(f"{self.duty_path}: unusable duty {duty!r}")
        if not 0.0 <= duty_percent <= 100.0:
            raise PilotFrameCorrupt(f"{self.duty_path}: duty {duty_percent} % outside 0..100")
        return PilotMeasurement(self.high.volts(), self.low.volts(), duty_percent)

    async def measurements(self) -> AsyncIterator[PilotMeasurement]:
        """A measurement every period; unreadable samples are skipped (the silence timeout catches a dead ADC)."""
        while True:
            try:
                yield self.read()
            except (PilotFrameCorrupt, OSError):
                pass
            await asyncio.sleep(self.period_s)
