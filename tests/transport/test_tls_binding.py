"""The ctypes binding behind the TLS profile: right library, right SSL_CTX, fails closed."""
import asyncio
import ctypes
import json
import ssl

import pytest

from iso15118.transport import _openssl
from iso15118.transport.tls import TlsConfig, client_context, server_context


def _libssl_path_of_ssl_module():
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libssl" in line.split()[-1]}
    assert len(paths) == 1, paths
    return paths.pop()


def test_binding_resolves_into_the_libssl_that__ssl_uses():
    mapped = ctypes.CDLL(_libssl_path_of_ssl_module())
    address = ctypes.cast(_openssl._lib().SSL_CTX_set_ciphersuites, ctypes.c_void_p).value
    assert address == ctypes.cast(mapped.SSL_CTX_set_ciphersuites, ctypes.c_void_p).value


def test_ssl_ctx_pointer_is_per_context_and_stable():
    first, second = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert _openssl.ssl_ctx_pointer(first) == _openssl.ssl_ctx_pointer(first)
    assert _openssl.ssl_ctx_pointer(first) != _openssl.ssl_ctx_pointer(second)


def test_pointer_check_compares_options_with_openssl():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pointer = _openssl.ssl_ctx_pointer(context)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    assert _openssl._lib().SSL_CTX_get_options(pointer) == int(context.options)


def test_objects_that_are_not_contexts_are_refused():
    with pytest.raises(_openssl.OpenSSLBindingError) as info:
        _openssl.ssl_ctx_pointer(object())
    assert info.value.code == "ERR_TLS_BINDING"


@pytest.mark.parametrize("setter, value", [(_openssl.set_groups, ["no-such-group"]),
                                           (_openssl.set_signature_algorithms, ["rsa_md5_bogus"]),
                                           (_openssl.set_tls13_ciphersuites, ["TLS_NOT_A_SUITE"])])
def test_invalid_names_raise_typed_errors(setter, value):
    with pytest.raises(_openssl.OpenSSLBindingError):
        setter(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), value)


def _configs(pki):
    server = TlsConfig(pki.chain("secc"), pki.key("secc"), [pki.cert("oem_root")],
                       ocsp_response=pki.ocsp_response("secc"))
    client = TlsConfig(pki.chain("vehicle"), pki.key("vehicle"), [pki.cert("v2g_root")], require_ocsp_staple=True)
    return server, client


async def _exchange(server_ctx, client_ctx, count=1):
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        for index in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
            writer.write(b"%d\n" % index)
            assert await reader.readline() == b"%d\n" % index
            writer.close()
    finally:
        server.close()


async def test_repeated_handshakes_run_every_callback_without_failing(pki):
    server, client = _configs(pki)
    await _exchange(server_context(server), client_context(client), count=40)


async def test_an_exception_inside_the_chain_check_fails_closed(pki):
    server, client = _configs(pki)
    context = server_context(server)
    context._callbacks.append(_openssl.install_chain_check(context, lambda chain: 1 / 0))
    # TLS 1.3: the client may finish before the server checks its certificate; then it reads EOF
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        await _exchange(context, client_context(client))


async def test_config_loads_from_a_json_file(pki, tmp_path):
    path = tmp_path / "secc-tls.json"
    path.write_text(json.dumps({"certificate_chain": str(pki.chain("secc")), "private_key": str(pki.key("secc")),
                                "trusted_roots": [str(pki.cert("oem_root"))], "profile": "iso20",
                                "ocsp_response": str(pki.ocsp_response("secc"))}))
    await _exchange(server_context(TlsConfig.from_file(path)), client_context(_configs(pki)[1]))


def test_a_config_without_trusted_roots_is_refused(pki):
    with pytest.raises(ValueError):
        TlsConfig(pki.chain("secc"), pki.key("secc"), [])
