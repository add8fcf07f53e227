"""Metering: metrology chip driver and emulator, calibration, registers, signed readings, journal."""
