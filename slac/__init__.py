"""SLAC (ISO 15118-3) over HomePlug Green PHY: frames, EVSE/PEV machines, virtual PLC modem, link quality."""
