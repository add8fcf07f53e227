"""Lay out one of our compat (P-256) PKIs the way Josev 0.31.2 reads it (PKI_PATH/iso15118_2/{certs,
private_keys}), so both stacks share one trust setup: same V2G root, same OEM root."""
from __future__ import annotations

import shutil
from pathlib import Path

PASSWORD = "josev-interop"
# Josev file name -> our certs/<role> file (extension kept)
_CERTS = {
    "seccLeafCert": "secc", "cpoSubCA2Cert": "cpo_sub_ca2", "cpoSubCA1Cert": "cpo_sub_ca1",
    "v2gRootCACert": "v2g_root", "oemLeafCert": "oem_prov", "oemSubCA2Cert": "oem_sub_ca2",
    "oemSubCA1Cert": "oem_sub_ca1", "oemRootCACert": "oem_root", "contractLeafCert": "contract",
    "moSubCA2Cert": "mo_sub_ca2", "moSubCA1Cert": "mo_sub_ca1", "moRootCACert": "mo_root",
}
_KEYS = {"seccLeaf.key": "secc", "oemLeaf.key": "oem_prov", "contractLeaf.key": "contract"}
_PASSWORDS = ("seccLeafPassword.txt", "oemLeafPassword.txt", "contractLeafPassword.txt")


def josev_layout(pki, target: Path) -> Path:
    """`pki` must be created with key_password=PASSWORD.encode(); returns the PKI_PATH for Josev."""
    certs = target / "iso15118_2" / "certs"
    keys = target / "iso15118_2" / "private_keys"
    certs.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    for name, role in _CERTS.items():
        for ext in ("pem", "der"):
            shutil.copy(pki.directory / "certs" / f"{role}.{ext}", certs / f"{name}.{ext}")
    shutil.copy(pki.chain("secc"), certs / "cpoCertChain.pem")
    shutil.copy(pki.chain("oem_prov"), certs / "oemCertChain.pem")
    for name, role in _KEYS.items():
        shutil.copy(pki.key(role), keys / name)
    for name in _PASSWORDS:
        (keys / name).write_text(PASSWORD)
    return target
