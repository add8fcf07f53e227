"""Network keys: NMK generation, NID derivation (HomePlug AV §4.4.3.1; facts/slac.md §5.2)."""
from __future__ import annotations

import hashlib
import os

# Salt HomePlug AV uses to turn a network password into an NMK (open-plc-utils HPAVKeyNMK).
_NMK_SALT = bytes.fromhex("08856DAF7CF58186")
SECURITY_LEVEL_SIMPLE_CONNECT = 0b00


def new_nmk() -> bytes:
    """A fresh random 16-byte Network Membership Key: one per SLAC session (ISO 15118-3, EVSE side)."""
    return os.urandom(16)


def nmk_from_password(password: str) -> bytes:
    digest = hashlib.sha256(password.encode() + _NMK_SALT).digest()
    for _ in range(999):
        digest = hashlib.sha256(digest).digest()
    return digest[:16]


def nid_from_nmk(nmk: bytes, security_level: int = SECURITY_LEVEL_SIMPLE_CONNECT) -> bytes:
    """54-bit Network ID: SHA-256 applied 5 times; 6 bytes + the high nibble of the 7th, top 2 bits =
    security level."""
    digest = hashlib.sha256(nmk).digest()
    for _ in range(4):
        digest = hashlib.sha256(digest).digest()
    return digest[:6] + bytes([(security_level << 4) | (digest[6] >> 4)])
