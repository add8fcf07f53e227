"""ISO 15118-20 PKI: certificate profiles, provisioning, chain validation, OCSP, contract key delivery."""
