"""`v2g pki create|show|verify|ocsp|revoke|crl`: provision an ISO 15118-20 PKI and check certificates.

Exit status: 0 success / valid chain, 1 invalid chain or refused operation, 2 bad usage or unreadable input.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.errors import CertificateError
from certs.ocsp import write_secc_ocsp_responses
from certs.pki import PASSWORD_ENV, Pki, PkiConfig, create_pki
from certs.profiles import LEAVES, ROLES, Algorithm, Profile, algorithm_of_key
from certs.revocation import CRL_VALIDITY, REASONS, ca_roles, revoke, write_crl
from certs.verify import load_certificates, verify_chain


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="v2g pki", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    create = sub.add_parser("create", help="create (or re-issue) a complete -20 PKI in DIR",
                            description="Create the V2G/CPO, MO, OEM and CPS chains with -20 profiles. Layout: "
                            "certs/<role>.pem|.der, chains/<leaf>.pem, private/<role>.key (0600), ocsp/<role>.der, "
                            "crl/<ca>.der|.pem (empty CRLs, 7 days), pki.json. Existing keys are reused (certificates "
                            "re-issued) unless --force.")
    create.add_argument("directory", type=Path)
    create.add_argument("--config", type=Path, help="JSON file with PkiConfig fields (options below override it)")
    create.add_argument("--algorithm", choices=[a.value for a in Algorithm if a is not Algorithm.SECP256R1])
    create.add_argument("--profile", choices=[p.value for p in Profile],
                        help="compat = P-256/ECDSA-SHA256 as deployed -2 era stacks use")
    for name in ("evseid", "emaid", "evccid", "pcid", "organization", "country", "ocsp-url"):
        create.add_argument(f"--{name}")
    create.add_argument("--validity", action="append", default=[], metavar="ROLE=DAYS",
                        help=f"override a validity period; roles: {', '.join(ROLES)}")
    create.add_argument("--not-before", type=dt.datetime.fromisoformat, help="ISO 8601 start of validity")
    create.add_argument("--key-password", help=f"encrypt private keys (prefer the {PASSWORD_ENV} env variable: "
                        "command lines are visible to other users)")
    create.add_argument("--force", action="store_true", help="generate new keys, replacing existing ones")
    create.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="print the fields of a certificate file (PEM, possibly several, or DER)")
    show.add_argument("file", type=Path)
    show.add_argument("--json", action="store_true")

    verify = sub.add_parser("verify", help="validate a chain with the -20 rules; exit 0 only when valid")
    verify.add_argument("leaf", type=Path, help="leaf certificate (a PEM chain file: leaf first)")
    verify.add_argument("--root", type=Path, action="append", required=True, help="trusted root (repeatable)")
    verify.add_argument("--chain", type=Path, action="append", default=[], help="Sub-CA certificates")
    verify.add_argument("--role", action="append", choices=list(LEAVES),
                        help="the leaf's role (repeat to accept several); default: only CA and generic rules")
    verify.add_argument("--profile", choices=[p.value for p in Profile], default=Profile.ISO20.value)
    verify.add_argument("--at", type=dt.datetime.fromisoformat, help="validation time (ISO 8601, default now)")
    verify.add_argument("--json", action="store_true")

    ocsp = sub.add_parser("ocsp", help="re-issue the SECC chain's OCSP responses (valid 7 days)")
    ocsp.add_argument("directory", type=Path)
    ocsp.add_argument("--json", action="store_true")

    revoke_cmd = sub.add_parser("revoke", help="add a certificate to its issuer's CRL (crl/<ca>.der|.pem)",
                                description="Revoke a certificate of the PKI in DIR: the issuing CA's CRL is "
                                "re-signed with the certificate listed and the next cRLNumber.")
    revoke_cmd.add_argument("directory", type=Path)
    revoke_cmd.add_argument("certificate", help="a role of the PKI (e.g. vehicle) or a certificate file")
    revoke_cmd.add_argument("--reason", choices=REASONS)
    revoke_cmd.add_argument("--at", type=dt.datetime.fromisoformat, help="revocation time (ISO 8601, default now)")
    revoke_cmd.add_argument("--json", action="store_true")

    crl = sub.add_parser("crl", help="re-issue CRLs (entries kept, next cRLNumber); run at least weekly")
    crl.add_argument("directory", type=Path)
    crl.add_argument("--ca", action="append", choices=ca_roles(), help="CA role (repeatable; default: every CA)")
    crl.add_argument("--days", type=int, default=CRL_VALIDITY.days, help="nextUpdate, days from now")
    crl.add_argument("--json", action="store_true")
    return parser


def _password(args) -> bytes | None:
    value = args.key_password if getattr(args, "key_password", None) else os.environ.get(PASSWORD_ENV)
    return value.encode() if value else None


def _create(args) -> dict:
    config = PkiConfig.from_file(args.config) if args.config else PkiConfig()
    overrides = {"algorithm": args.algorithm, "profile": args.profile, "evseid": args.evseid,
                 "emaid": args.emaid, "evccid": args.evccid, "pcid": args.pcid, "organization": args.organization,
                 "country": args.country, "ocsp_url": args.ocsp_url, "not_before": args.not_before}
    for field, value in overrides.items():
        if value is not None:
            setattr(config, field, value)
    for item in args.validity:
        role, _, days = item.partition("=")
        if role not in ROLES or not days.isdigit():
            raise CertificateError("ERR_PKI_CONFIG", f"--validity {item!r}: expected ROLE=DAYS with a known role")
        config.validity_days[role] = int(days)
    config.key_password = _password(args) or config.key_password
    config.force = args.force
    config.__post_init__()
    pki = create_pki(args.directory, config)
    return {"directory": str(pki.directory), "profile": pki.profile.value, "algorithm": pki.algorithm.value,
            "certificates": {role: {"cert": str(pki.cert(role)), "der": str(pki.cert_der(role)),
                                    "key": str(pki.key(role)),
                                    **({"chain": str(pki.chain(role))} if role in LEAVES else {})}
                             for role in ROLES},
            "ocsp": {role: str(pki.ocsp_response(role)) for role in ("secc", "cpo_sub_ca2", "cpo_sub_ca1")},
            "crl": {ca: str(pki.crl(ca)) for ca in ca_roles()}}


def _describe(cert: x509.Certificate) -> dict:
    extensions = {}
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.BasicConstraints):
            text = f"CA:{value.ca}" + (f", pathlen:{value.path_length}" if value.path_length is not None else "")
        elif isinstance(value, x509.KeyUsage):
            bits = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                    "key_agreement", "key_cert_sign", "crl_sign")
            text = ", ".join(b for b in bits if getattr(value, b))
        elif isinstance(value, x509.ExtendedKeyUsage):
            text = ", ".join(oid._name for oid in value)
        elif isinstance(value, x509.SubjectKeyIdentifier):
            text = value.digest.hex().upper()
        elif isinstance(value, x509.AuthorityKeyIdentifier):
            text = (value.key_identifier or b"").hex().upper()
        elif isinstance(value, x509.AuthorityInformationAccess):
            text = ", ".join(f"{d.access_method._name}: {d.access_location.value}" for d in value)
        else:
            text = str(value)
        extensions[ext.oid._name] = {"critical": ext.critical, "value": text}
    family = algorithm_of_key(cert.public_key())
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "serial": f"{cert.serial_number:X}", "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "key_algorithm": family.value if family else type(cert.public_key()).__name__,
            "signature_algorithm": cert.signature_algorithm_oid._name,
            "sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper(),
            "extensions": extensions}


def _read_certs(path: Path) -> list[x509.Certificate]:
    return load_certificates(path.read_bytes())


def _verify(args) -> dict:
    leaf, *bundled = _read_certs(args.leaf)
    intermediates = bundled + [c for path in args.chain for c in _read_certs(path)]
    roots = [c for path in args.root for c in _read_certs(path)]
    path = verify_chain(leaf, intermediates, roots, role=args.role, now=_utc(args.at), profile=args.profile)
    return {"valid": True, "path": [c.subject.rfc4514_string() for c in path]}


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=value.tzinfo or dt.timezone.utc) if value else None


def _revoke(args) -> dict:
    pki = Pki.load(args.directory)
    target = args.certificate
    cert = pki.load_certificate(target) if target in ROLES else _read_certs(Path(target))[0]
    ca, path = revoke(pki, cert, reason=args.reason, at=_utc(args.at), password=_password(args))
    return {"revoked": cert.subject.rfc4514_string(), "serial": f"{cert.serial_number:X}", "ca": ca,
            "crl": str(path), "crl_pem": str(pki.crl(ca, pem=True))}


def _crl(args) -> dict:
    pki = Pki.load(args.directory)
    validity = dt.timedelta(days=args.days)
    return {ca: str(write_crl(pki, ca, password=_password(args), validity=validity)) for ca in args.ca or ca_roles()}


def _print(result: dict, as_json: bool, text: str) -> None:
    print(json.dumps(result, indent=2) if as_json else text)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "create":
            result = _create(args)
            _print(result, args.json, f"PKI ({result['profile']}, {result['algorithm']}) in {result['directory']}\n"
                   + "\n".join(f"  {role:<12} {paths['cert']}" for role, paths in result["certificates"].items()))
        elif args.command == "show":
            described = [_describe(c) for c in _read_certs(args.file)]
            _print({"certificates": described}, args.json, "\n\n".join(
                "\n".join(f"{k}: {v}" for k, v in d.items() if k != "extensions") + "\n" + "\n".join(
                    f"  {name}{' (critical)' if e['critical'] else ''}: {e['value']}"
                    for name, e in d["extensions"].items()) for d in described))
        elif args.command == "verify":
            result = _verify(args)
            _print(result, args.json, "OK: " + " -> ".join(result["path"]))
        elif args.command == "revoke":
            result = _revoke(args)
            _print(result, args.json, f"revoked {result['revoked']} (serial {result['serial']}): {result['crl']}")
        elif args.command == "crl":
            result = _crl(args)
            _print(result, args.json, "\n".join(f"{ca}: {path}" for ca, path in result.items()))
        else:
            responses = write_secc_ocsp_responses(Pki.load(args.directory), password=_password(args))
            result = {role: str(Pki.load(args.directory).ocsp_response(role)) for role in responses}
            _print(result, args.json, "\n".join(f"{role}: {path}" for role, path in result.items()))
        return 0
    except CertificateError as exc:
        usage_error = exc.code in ("ERR_PKI_LAYOUT", "ERR_PKI_CONFIG", "ERR_CERT_MALFORMED")
        if args.json:
            print(json.dumps({"valid": False, **exc.to_dict()} if args.command == "verify" else exc.to_dict()))
        else:
            rule = f" (rule {exc.rule})" if exc.rule else ""
            print(f"v2g pki {args.command}: {exc}{rule}", file=sys.stderr)
        return 2 if usage_error else 1
    except OSError as exc:
        print(json.dumps({"code": "ERR_PKI_IO", "message": str(exc)}) if args.json
              else f"v2g pki {args.command}: {exc}", file=sys.stderr if not args.json else sys.stdout)
        return 2
