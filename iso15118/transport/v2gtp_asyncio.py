"""asyncio adapter for V2GTP over a TCP or TLS stream (asyncio StreamReader/StreamWriter pair).

Each message goes out in ONE write of header + payload: some deployed peers do one read per message and break
when a header arrives in a segment of its own.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

from iso15118.transport._log import log_event
from iso15118.transport.v2gtp import V2gtpConfig, V2gtpError, V2gtpMessage, V2gtpReader, encode_message

_READ_SIZE = 65536
_log = logging.getLogger("iso15118.transport.v2gtp")


class V2gtpStream:
    """Messages in and out of one connection. Iterate with `async for`; iteration ends when the peer closes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 config: V2gtpConfig | None = None) -> None:
        self._reader = reader
        self._writer = writer
        self._frames = V2gtpReader(config)
        self.peer = writer.get_extra_info("peername")

    async def receive(self) -> V2gtpMessage | None:
        """The next message, or None when the peer closed cleanly between messages.

        Raises V2gtpError; after a non-fatal one (payload type not accepted here) the stream stays usable.
        """
        while True:
            try:
                message = self._frames.next_message()
            except V2gtpError as err:
                log_event(_log, logging.WARNING, "v2gtp_rejected", code=err.code, detail=err.detail,
                          fatal=err.fatal, peer=self.peer)
                raise
            if message is not None:
                return message
            data = await self._reader.read(_READ_SIZE)
            if not data:
                self._frames.end_of_stream()
                return None
            self._frames.feed(data)

    async def send(self, payload_type: int, payload: bytes) -> None:
        self._writer.write(encode_message(payload_type, payload))
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass  # the peer went first; nothing left to flush

    def __aiter__(self) -> V2gtpStream:
        return self

    async def __anext__(self) -> V2gtpMessage:
        message = await self.receive()
        if message is None:
            raise StopAsyncIteration
        return message


async def open_v2gtp_connection(host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                                config: V2gtpConfig | None = None, **kwargs: object) -> V2gtpStream:
    """Connect (plain TCP, or TLS with `ssl_context`) and wrap the connection; kwargs go to open_connection."""
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context, **kwargs)  # type: ignore[arg-type]
    return V2gtpStream(reader, writer, config)


async def start_v2gtp_server(handler: Callable[[V2gtpStream], Awaitable[None]], host: str, port: int, *,
                             ssl_context: ssl.SSLContext | None = None, config: V2gtpConfig | None = None,
                             **kwargs: object) -> asyncio.Server:
    """Listen and run `handler(stream)` per connection; the stream is closed when the handler returns."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = V2gtpStream(reader, writer, config)
        try:
            await handler(stream)
        finally:
            await stream.close()

    return await asyncio.start_server(on_connection, host, port, ssl=ssl_context, **kwargs)  # type: ignore[arg-type]
