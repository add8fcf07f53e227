"""NMK/NID derivation against the open-plc-utils defaults (facts/slac.md §5.2 test vectors)."""
import hashlib

from slac.keys import nid_from_nmk, nmk_from_password


def test_homeplugav_password_gives_the_open_plc_utils_nmk_and_nid():
    nmk = nmk_from_password("HomePlugAV")
    assert nmk.hex().upper() == "50D3E4933F855B7040784DF815AA8DB7"
    assert nid_from_nmk(nmk).hex().upper() == "B0F2E695666B03"


def test_homeplugav0123_password_gives_the_qualcomm_evse_nmk_and_nid():
    nmk = nmk_from_password("HomePlugAV0123")
    assert nmk.hex().upper() == "B59319D7E8157BA001B018669CCEE30D"
    assert nid_from_nmk(nmk).hex().upper() == "026BCBA5354E08"


def test_nid_has_54_bits_with_security_level_zero():
    nmk = bytes(range(16))
    digest = nmk
    for _ in range(5):
        digest = hashlib.sha256(digest).digest()
    nid = nid_from_nmk(nmk)
    assert nid[:6] == digest[:6] and nid[6] == digest[6] >> 4 and nid[6] < 0x10
