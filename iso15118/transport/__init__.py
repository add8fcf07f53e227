"""Transport layer of the V2G stack: V2GTP framing, SDP discovery, TLS 1.3 contexts.

V2GTP (`v2gtp`, sans-I/O; `v2gtp_asyncio`, streams):
    PayloadType                  -20 payload types incl. side streams 0x8101-0x8104 and SDP 0x9000-0x9003
    V2gtpConfig                  max_payload_length (default 64 KiB), accepted_payload_types; .from_file(path)
    encode_message(type, body)   header + body as ONE bytes object (write it with a single write)
    V2gtpReader                  feed(bytes) / next_message() -> V2gtpMessage | None / end_of_stream()
    V2gtpStream                  asyncio: await receive() -> V2gtpMessage | None, await send(type, body),
                                 `async for message in stream`, await close(); plain TCP or TLS
    open_v2gtp_connection(host, port, ssl_context=None) -> V2gtpStream
    start_v2gtp_server(handler, host, port, ssl_context=None) -> asyncio.Server   (handler(stream) per connection)

SDP (`sdp`, sans-I/O cores; `sdp_asyncio`, UDP sockets):
    SdpServerConfig(interface, port)   interface "lo" = loopback mode (unicast ::1, no root, port 0 = any)
    start_sdp_server(config, tls_port=..., tcp_port=...) -> SdpServerEndpoint (.port, .address, .close())
    SdpClientConfig(interface, server_port, security, retry_interval=0.25, max_requests=50, client_port)
    discover_secc(config) -> SdpResponse(address, port, security, transport); a link-local address carries the
                                 interface's numeric scope id, so str(address) is a usable host
    SdpServer / SdpClient        the sans-I/O cores; SdpRequest / SdpResponse / decode_sdp the wire format
    Security (TLS 0x00, NO_TLS 0x10), TransportProtocol (TCP 0x00)

TLS 1.3 with the -20 profile (`tls`):
    TlsConfig(certificate_chain, private_key, trusted_roots, profile="iso20"|"compat", key_password,
              ocsp_response, require_ocsp_staple=False, keylog_file=None); .from_file(path)
    server_context(config) / client_context(config) -> V2GContext, an ssl.SSLContext for asyncio; the
                                 profile (groups, sigalgs, suites, OCSP staple) is per context

Errors: every malformed input raises a TransportError subclass (V2gtpError, SdpError) with a stable `code`
(V2GTP_INCORRECT_VERSION, V2GTP_UNKNOWN_PAYLOAD_TYPE, V2GTP_PAYLOAD_TOO_LONG, V2GTP_TRUNCATED,
V2GTP_TRAILING_DATA, SDP_INVALID_LENGTH, SDP_INVALID_SECURITY, SDP_INVALID_TRANSPORT, SDP_UNEXPECTED_MESSAGE,
SDP_NO_RESPONSE). V2gtpError.fatal tells whether the stream lost its framing (stop the session, close the
connection) or one well-framed message was skipped (ignore it, [V2G20-445]). SDP_NO_RESPONSE is the EVCC's
communication-setup timeout [V2G20-162].
"""
from iso15118.transport.errors import TransportError
from iso15118.transport.sdp import (SdpClient, SdpError, SdpRequest, SdpResponse, SdpServer, Security,
                                    TransportProtocol, decode_sdp)
from iso15118.transport.sdp_asyncio import (SdpClientConfig, SdpServerConfig, SdpServerEndpoint, discover_secc,
                                            start_sdp_server)
from iso15118.transport.v2gtp import (PayloadType, V2gtpConfig, V2gtpError, V2gtpMessage, V2gtpReader,
                                      encode_message)
from iso15118.transport.v2gtp_asyncio import V2gtpStream, open_v2gtp_connection, start_v2gtp_server
from iso15118.transport.tls import TlsConfig, V2GContext, client_context, server_context
