"""Per-context OpenSSL settings that `ssl.SSLContext` does not expose, via ctypes.

Why this way: the -20 profile needs TLS 1.3 cipher suites, named groups, signature algorithms, OCSP stapling,
`certificate_authorities` and an extra chain check, all per context so that a strict and a compat context can
live in one process (OPENSSL_CONF is process-wide, facts §10), and the result must stay an `ssl.SSLContext`
because asyncio only accepts that. pyOpenSSL contexts cannot be handed to asyncio. So we call into the very
libssl that Python's `_ssl` module uses:

* Symbols are looked up through a handle on the `_ssl` extension itself: dlsym() on that handle searches the
  extension and its dependencies, i.e. exactly the libssl/libcrypto `_ssl` was linked with (no second copy of
  OpenSSL, whose SSL_CTX layout could differ). The version reported there must equal ssl.OPENSSL_VERSION_NUMBER.
* CPython's `PySSLContext` (Modules/_ssl.c, 3.10-3.13) starts with PyObject_HEAD followed by `SSL_CTX *ctx`.
  We read the pointer at offset `object.__basicsize__` and, before using it, prove it is the right one: the
  context's options and verify mode as Python reports them must equal what SSL_CTX_get_options /
  SSL_CTX_get_verify_mode return for that pointer, also after toggling an option from Python.

Callbacks are ctypes CFUNCTYPE objects; the caller must keep the returned objects alive as long as the context
(`iso15118.transport.tls.V2GContext` does). OpenSSL calls them with the GIL released by `_ssl`; ctypes takes
the GIL for the duration of the call.
"""
from __future__ import annotations

import ctypes
import functools
import ssl
import sys
from collections.abc import Callable, Sequence

import _ssl

_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB = 63
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE = 65
_SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP = 70
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP = 71
_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CTRL_SET_SIGALGS_LIST = 98
_SSL_CTRL_SET_CLIENT_SIGALGS_LIST = 102
_TLSEXT_STATUSTYPE_OCSP = 1
_SSL_TLSEXT_ERR_OK = 0
_SSL_TLSEXT_ERR_NOACK = 3
_X509_V_ERR_APPLICATION_VERIFICATION = 50
_SSL_CB_WRITE = 0x08
_SSL_CB_ALERT = 0x4000
#: TLS 1.3 alerts (RFC 8446 §6) that OpenSSL 3.0's SSL_alert_desc_string_long calls "unknown"
_TLS13_ALERTS = {109: "missing extension", 115: "unknown PSK identity", 116: "certificate required",
                 120: "no application protocol"}

_SUPPORTED_PYTHON = ((3, 10), (3, 13))

_vp = ctypes.c_void_p
STATUS_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, _vp, _vp)  # int (*)(SSL *, void *arg)
CERT_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, _vp, _vp)  # int (*)(X509_STORE_CTX *, void *arg)
INFO_CALLBACK = ctypes.CFUNCTYPE(None, _vp, ctypes.c_int, ctypes.c_int)  # void (*)(const SSL *, int, int)


class OpenSSLBindingError(RuntimeError):
    """The binding cannot be used safely on this interpreter or an OpenSSL call failed."""

    code = "ERR_TLS_BINDING"


_SIGNATURES: dict[str, tuple[type | None, list]] = {
    "OpenSSL_version_num": (ctypes.c_ulong, []),
    "SSL_CTX_get_options": (ctypes.c_uint64, [_vp]),
    "SSL_CTX_get_verify_mode": (ctypes.c_int, [_vp]),
    "SSL_CTX_ctrl": (ctypes.c_long, [_vp, ctypes.c_int, ctypes.c_long, _vp]),
    "SSL_CTX_callback_ctrl": (ctypes.c_long, [_vp, ctypes.c_int, _vp]),
    "SSL_CTX_set_ciphersuites": (ctypes.c_int, [_vp, ctypes.c_char_p]),
    "SSL_CTX_set_cert_verify_callback": (None, [_vp, _vp, _vp]),
    "SSL_CTX_set_client_CA_list": (None, [_vp, _vp]),
    "SSL_CTX_set0_CA_list": (None, [_vp, _vp]),
    "SSL_load_client_CA_file": (_vp, [ctypes.c_char_p]),
    "SSL_add_file_cert_subjects_to_stack": (ctypes.c_int, [_vp, ctypes.c_char_p]),
    "SSL_ctrl": (ctypes.c_long, [_vp, ctypes.c_int, ctypes.c_long, _vp]),
    "SSL_get0_verified_chain": (_vp, [_vp]),
    "X509_verify_cert": (ctypes.c_int, [_vp]),
    "X509_STORE_CTX_get0_chain": (_vp, [_vp]),
    "X509_STORE_CTX_set_error": (None, [_vp, ctypes.c_int]),
    "OPENSSL_sk_num": (ctypes.c_int, [_vp]),
    "OPENSSL_sk_value": (_vp, [_vp, ctypes.c_int]),
    "i2d_X509": (ctypes.c_int, [_vp, _vp]),
    "CRYPTO_malloc": (_vp, [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int]),
    "ERR_clear_error": (None, []),
    "SSL_CTX_set_info_callback": (None, [_vp, _vp]),
    "SSL_CTX_get_info_callback": (_vp, [_vp]),
    "SSL_alert_desc_string_long": (ctypes.c_char_p, [ctypes.c_int]),
    "SSL_alert_type_string_long": (ctypes.c_char_p, [ctypes.c_int]),
    "SSL_get_verify_result": (ctypes.c_long, [_vp]),
    "X509_verify_cert_error_string": (ctypes.c_char_p, [ctypes.c_long]),
}


@functools.cache
def _lib() -> ctypes.CDLL:
    if sys.implementation.name != "cpython" or not (
            _SUPPORTED_PYTHON[0] <= sys.version_info[:2] <= _SUPPORTED_PYTHON[1]):
        raise OpenSSLBindingError(f"PySSLContext layout only verified for CPython "
                                  f"{_SUPPORTED_PYTHON[0]}..{_SUPPORTED_PYTHON[1]}, not {sys.version}")
    lib = ctypes.CDLL(_ssl.__file__)
    try:
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
    except AttributeError as exc:
        raise OpenSSLBindingError(f"libssl used by _ssl lacks {exc}") from exc
    if lib.OpenSSL_version_num() != ssl.OPENSSL_VERSION_NUMBER:
        raise OpenSSLBindingError("the OpenSSL reached through _ssl is not the one ssl reports")
    return lib


def ssl_ctx_pointer(context: ssl.SSLContext) -> int:
    """Address of the SSL_CTX inside `context`, checked against what Python reports about it.

    The check briefly toggles OP_NO_TICKET, so call it while configuring a context, before it is shared.
    """
    if not isinstance(context, _ssl._SSLContext):
        raise OpenSSLBindingError(f"not an ssl.SSLContext: {type(context)!r}")
    lib = _lib()
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer:
        raise OpenSSLBindingError("PySSLContext holds no SSL_CTX")
    original = context.options
    try:
        for options in (original, original ^ ssl.OP_NO_TICKET):
            context.options = options
            if lib.SSL_CTX_get_options(pointer) != int(context.options):
                raise OpenSSLBindingError("SSL_CTX pointer does not match the context's options")
    finally:
        context.options = original
    if lib.SSL_CTX_get_verify_mode(pointer) & 0x3 != {ssl.CERT_NONE: 0, ssl.CERT_OPTIONAL: 1,
                                                      ssl.CERT_REQUIRED: 3}[context.verify_mode]:
        raise OpenSSLBindingError("SSL_CTX pointer does not match the context's verify mode")
    return pointer


def _check(ok: bool, what: str) -> None:
    if not ok:
        _lib().ERR_clear_error()
        raise OpenSSLBindingError(f"OpenSSL rejected {what}")


def set_groups(context: ssl.SSLContext, groups: Sequence[str]) -> None:
    value = ":".join(groups).encode()
    _check(_lib().SSL_CTX_ctrl(ssl_ctx_pointer(context), _SSL_CTRL_SET_GROUPS_LIST, 0, value) == 1,
           f"groups {groups}")


def set_signature_algorithms(context: ssl.SSLContext, sigalgs: Sequence[str]) -> None:
    """Both what we accept from the peer and what we request in CertificateRequest."""
    value = ":".join(sigalgs).encode()
    pointer = ssl_ctx_pointer(context)
    for command in (_SSL_CTRL_SET_SIGALGS_LIST, _SSL_CTRL_SET_CLIENT_SIGALGS_LIST):
        _check(_lib().SSL_CTX_ctrl(pointer, command, 0, value) == 1, f"signature algorithms {sigalgs}")


def set_tls13_ciphersuites(context: ssl.SSLContext, suites: Sequence[str]) -> None:
    _check(_lib().SSL_CTX_set_ciphersuites(ssl_ctx_pointer(context), ":".join(suites).encode()) == 1,
           f"cipher suites {suites}")


def set_certificate_authorities(context: ssl.SSLContext, ca_files: Sequence[str], *, server: bool) -> None:
    """Fill the `certificate_authorities` extension from the subjects of the given root files.

    Server: sent in CertificateRequest [V2G20-2401]; client: sent in ClientHello [V2G20-1006].
    """
    lib = _lib()
    names = lib.SSL_load_client_CA_file(ca_files[0].encode())
    _check(bool(names), f"CA names from {ca_files[0]}")
    for ca_file in ca_files[1:]:
        _check(lib.SSL_add_file_cert_subjects_to_stack(names, ca_file.encode()) == 1, f"CA names from {ca_file}")
    setter = lib.SSL_CTX_set_client_CA_list if server else lib.SSL_CTX_set0_CA_list
    setter(ssl_ctx_pointer(context), names)  # takes ownership of the stack


def _der_chain(stack: int) -> list[bytes]:
    lib = _lib()
    ders = []
    for index in range(lib.OPENSSL_sk_num(stack)):
        x509 = lib.OPENSSL_sk_value(stack, index)
        size = lib.i2d_X509(x509, None)
        buffer = ctypes.create_string_buffer(size)
        cursor = ctypes.c_void_p(ctypes.addressof(buffer))
        lib.i2d_X509(x509, ctypes.byref(cursor))
        ders.append(buffer.raw)
    return ders


def install_chain_check(context: ssl.SSLContext, check: Callable[[list[bytes]], bool]) -> object:
    """After OpenSSL's own X509_verify_cert succeeds, call `check(chain)` (DER, leaf first, root last).

    `check` returning False (or raising) fails verification with X509_V_ERR_APPLICATION_VERIFICATION, which
    aborts the handshake [V2G20-2443]. Returns the callback object to keep alive.
    """
    lib = _lib()

    def callback(store_ctx, _arg):
        result = lib.X509_verify_cert(store_ctx)
        if result != 1:
            return result
        try:
            accepted = check(_der_chain(lib.X509_STORE_CTX_get0_chain(store_ctx)))
        except Exception:  # noqa: BLE001 - an exception must never escape into OpenSSL
            accepted = False
        if not accepted:
            lib.X509_STORE_CTX_set_error(store_ctx, _X509_V_ERR_APPLICATION_VERIFICATION)
            return 0
        return 1

    c_callback = CERT_VERIFY_CALLBACK(callback)
    lib.SSL_CTX_set_cert_verify_callback(ssl_ctx_pointer(context), ctypes.cast(c_callback, _vp), None)
    return c_callback


def install_ocsp_stapling(context: ssl.SSLContext, response: Callable[[], bytes | None]) -> object:
    """Server: answer a client's status_request with `response()` (DER OCSPResponse); none → no staple."""
    lib = _lib()

    def callback(ssl_pointer, _arg):
        try:
            der = response()
        except Exception:  # noqa: BLE001
            der = None
        if not der:
            return _SSL_TLSEXT_ERR_NOACK
        memory = lib.CRYPTO_malloc(len(der), b"v2g-ocsp", 0)  # OpenSSL frees it with the connection
        if not memory:
            return _SSL_TLSEXT_ERR_NOACK
        ctypes.memmove(memory, der, len(der))
        lib.SSL_ctrl(ssl_pointer, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, len(der), memory)
        return _SSL_TLSEXT_ERR_OK

    c_callback = STATUS_CALLBACK(callback)
    _check(lib.SSL_CTX_callback_ctrl(ssl_ctx_pointer(context), _SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                                     ctypes.cast(c_callback, _vp)) == 1, "OCSP status callback")
    return c_callback


def install_ocsp_request(context: ssl.SSLContext, check: Callable[[bytes | None, list[bytes]], bool]) -> object:
    """Client: send status_request [V2G20-2372] and call `check(staple_or_None, verified_chain_der)`.

    `check` returning False (or raising) aborts the handshake.
    """
    lib = _lib()

    def callback(ssl_pointer, _arg):
        try:
            data = ctypes.c_void_p()
            size = lib.SSL_ctrl(ssl_pointer, _SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, ctypes.byref(data))
            staple = ctypes.string_at(data.value, size) if data.value and size > 0 else None
            chain = lib.SSL_get0_verified_chain(ssl_pointer)
            return 1 if check(staple, _der_chain(chain) if chain else []) else 0
        except Exception:  # noqa: BLE001
            return 0

    c_callback = STATUS_CALLBACK(callback)
    pointer = ssl_ctx_pointer(context)
    _check(lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE, _TLSEXT_STATUSTYPE_OCSP, None) == 1,
           "status_request")
    _check(lib.SSL_CTX_callback_ctrl(pointer, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                                     ctypes.cast(c_callback, _vp)) == 1, "OCSP status callback")
    return c_callback


def install_alert_report(context: ssl.SSLContext,
                         report: Callable[[str, str, str, int, str | None], None]) -> object:
    """Call `report(direction, level, alert, alert_number, verify_error)` for every TLS alert sent or received.

    asyncio drops a failed handshake without logging it (unless in debug mode) and without flushing the alert
    OpenSSL queued, so this is how an SECC operator learns why an EV was refused. `verify_error` is OpenSSL's
    certificate verification result when it is not "ok".
    """
    lib = _lib()
    pointer = ssl_ctx_pointer(context)
    if lib.SSL_CTX_get_info_callback(pointer):
        raise OpenSSLBindingError("the context already has an info callback")

    def callback(ssl_pointer, where, value):
        if not where & _SSL_CB_ALERT:
            return
        try:
            result = lib.SSL_get_verify_result(ssl_pointer)
            number = value & 0xFF
            report("sent" if where & _SSL_CB_WRITE else "received", lib.SSL_alert_type_string_long(value).decode(),
                   _TLS13_ALERTS.get(number) or lib.SSL_alert_desc_string_long(value).decode(), number,
                   lib.X509_verify_cert_error_string(result).decode() if result else None)
        except Exception:  # noqa: BLE001 - nothing may escape into OpenSSL
            pass

    c_callback = INFO_CALLBACK(callback)
    lib.SSL_CTX_set_info_callback(pointer, ctypes.cast(c_callback, _vp))
    return c_callback
