"""Shared test helpers for the metering tests."""
from metering import EmulatorConfig


def ideal_front_end(**overrides) -> EmulatorConfig:
    """An emulator without gain or phase errors (noise stays on unless overridden)."""
    return EmulatorConfig(**{"v_gain_error": (0, 0, 0), "i_gain_error": (0, 0, 0), "i_phase_error_deg": (0, 0, 0),
                             **overrides})
