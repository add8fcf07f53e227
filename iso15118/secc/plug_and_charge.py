"""The Station hooks Plug & Charge needs, built from a PKI directory made by `v2g pki create`."""
from __future__ import annotations

from iso15118.session.tls_contexts import key_password


def plug_and_charge_hooks(pki_dir: str | None) -> dict:
    """Keyword arguments for `Station`: contract verification against the PKI's MO root, MeteringConfirmation
    signature checks with the contract certificate, and an emulated CPS/eMSP for CertificateInstallation.
    Without a PKI: no hooks (EIM only)."""
    if not pki_dir:
        return {}
    from certs import Pki
    from iso15118.security.session_hooks import (CertificateInstallationService, ContractVerifier,
                                                 MeteringVerifier)
    pki = Pki.load(pki_dir)
    verifier = ContractVerifier([pki.load_certificate("mo_root")], pki.profile)
    password = key_password()
    service = CertificateInstallationService(
        [pki.load_certificate("oem_root")], pki.load_private_key("contract", password), pki.load_chain("contract"),
        pki.load_private_key("cps", password), pki.load_chain("cps"), pki.profile)
    return {"contract_verifier": verifier, "metering_verifier": MeteringVerifier(verifier.contract_certificate),
            "certificate_installation": service}
