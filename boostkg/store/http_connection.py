"""One HTTP/1.1 connection to a server, for the remote store's query pool
(:mod:`boostkg.store.remote_queries`): a request written whole, its response parsed as it arrives
(status line and headers, then a body framed by ``Content-Length``, chunked, or running until the
server closes) and reported piece by piece to the request's :class:`ResponseReader`, from the
event loop's callbacks; reusable once a response was read to its end."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

HEAD_LIMIT = 64 * 1024
"""Longest response head (and chunk-size or trailer line) accepted from the server."""


@dataclass(slots=True, frozen=True)
class ResponseHead:
    """A response's status line and headers (names lower-cased), and how its body is framed."""

    status: int
    headers: dict[str, str]
    length: int | None
    """``Content-Length``; ``None`` when the body is chunked or runs until the server closes."""
    chunked: bool
    keep_alive: bool


class ResponseReader(Protocol):
    """What an :class:`Connection` reports a response to."""

    def on_head(self, head: ResponseHead) -> None: ...
    def on_data(self, piece: bytes) -> None: ...
    def on_end(self) -> None: ...
    def on_error(self, error: ConnectionError) -> None: ...


# where an Connection is in the response it reads
_IDLE, _HEAD, _LENGTH, _SIZE, _CHUNK, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE = range(8)


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection to the server: a request written whole, its response parsed as it
    arrives and reported to the request's reader; reusable once a response was read to its end."""

    __slots__ = ("_buffer", "_left", "_reader", "_state", "lost", "paused", "reused", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reused = False
        self.lost = False
        self.paused = False
        self._reader: ResponseReader | None = None
        self._buffer = b""
        self._state = _IDLE
        self._left = 0
        """Body bytes still to come: of the ``Content-Length``, or of the current chunk."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def usable(self) -> bool:
        """Whether it is idle and the server has not closed it."""
        transport = self.transport
        return self._state == _IDLE and not self.lost and transport is not None and not transport.is_closing()

    def close(self) -> None:
        self._reader = None
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes, reader: ResponseReader) -> None:
        """Write ``request`` (head and body); its response goes to ``reader``."""
        assert self.transport is not None
        self._reader = reader
        self._state = _HEAD
        self._buffer = b""
        self.transport.write(request)

    def pause(self) -> None:
        if not self.paused and self.transport is not None and not self.transport.is_closing():
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.transport.is_closing():
            self.paused = False
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._reader is None:  # nothing asked: the connection is out of step, never reuse it
            self.close()
            return
        self._buffer = self._buffer + data if self._buffer else data
        try:
            self._parse()
        except ConnectionError as exc:
            self._broken(exc)

    def eof_received(self) -> bool:
        self.lost = True  # the server closed its side: never reused (asyncio closes ours)
        if self._state == _UNTIL_CLOSE:
            self._complete()
        elif self._reader is not None:
            self._broken(
                ConnectionError(
                    "the server closed the connection before answering"
                    if self._state == _HEAD
                    else "the server closed the connection in the middle of the body"
                )
            )
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._reader is not None:
            self._broken(ConnectionError(f"the connection to the server was lost ({exc or 'closed'})"))

    def _broken(self, error: ConnectionError) -> None:
        reader, self._reader = self._reader, None
        self._state = _IDLE
        self.lost = True
        if self.transport is not None:
            self.transport.close()
        if reader is not None:
            reader.on_error(error)

    def _complete(self) -> None:
        reader, self._reader = self._reader, None
        self._state = _IDLE
        if self._buffer:  # bytes beyond the response: out of step, never reuse it
            self.lost = True
            if self.transport is not None:
                self.transport.close()
        if reader is not None:
            reader.on_end()

    def _parse(self) -> None:
        """Report what the buffer holds to the reader, as far as it goes.

        Raises:
            ConnectionError: the server answered something else than HTTP/1.x.
        """
        reader = self._reader
        while reader is not None and reader is self._reader:
            state, buffer = self._state, self._buffer
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        raise ConnectionError(f"the response head is longer than {HEAD_LIMIT:,} bytes")
                    return
                head = head_of(buffer[: end + 4])
                self._buffer = buffer[end + 4 :]
                if head.status < 200:  # 1xx: the response's own head follows
                    continue
                if head.chunked:
                    self._state = _SIZE
                elif head.length is not None:
                    self._state, self._left = _LENGTH, head.length
                else:
                    self._state = _UNTIL_CLOSE
                reader.on_head(head)
                if self._state == _LENGTH and self._left == 0 and reader is self._reader:
                    self._complete()
            elif state in (_LENGTH, _CHUNK):
                if not buffer:
                    return
                piece = buffer[: self._left] if len(buffer) > self._left else buffer
                self._buffer = buffer[len(piece) :]
                self._left -= len(piece)
                if self._left == 0:
                    self._state = _CHUNK_END if state == _CHUNK else _IDLE
                reader.on_data(piece)
                if state == _LENGTH and self._left == 0 and reader is self._reader:
                    self._complete()
            elif state == _SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        raise ConnectionError("a chunk-size line is too long")
                    return
                try:
                    size = int(buffer[:end].split(b";", 1)[0], 16)
                except ValueError as exc:
                    raise ConnectionError(f"malformed chunk size {buffer[:40]!r}") from exc
                self._buffer = buffer[end + 2 :]
                self._state, self._left = (_TRAILERS, 0) if size == 0 else (_CHUNK, size)
            elif state == _CHUNK_END:
                if len(buffer) < 2:
                    return
                if buffer[:2] != b"\r\n":
                    raise ConnectionError("a chunk does not end where its size says")
                self._buffer = buffer[2:]
                self._state = _SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        raise ConnectionError("a trailer line is too long")
                    return
                self._buffer = buffer[end + 2 :]
                if end == 0:
                    self._complete()
            elif state == _UNTIL_CLOSE:
                if buffer:
                    self._buffer = b""
                    reader.on_data(buffer)
                return
            else:
                return


_HEADS: dict[bytes, ResponseHead] = {}
_HEADS_MAX = 64


def head_of(raw: bytes) -> ResponseHead:
    """:func:`parse_head`, remembered for the last few distinct heads: a server sends the same
    few heads again and again (Oxigraph's differ by their ``Date``, once a second).

    Raises:
        ConnectionError: not an HTTP/1.x response head.
    """
    head = _HEADS.get(raw)
    if head is None:
        head = parse_head(raw)
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
        _HEADS[raw] = head
    return head


def parse_head(raw: bytes) -> ResponseHead:
    """The response head ``raw`` (ending with its blank line).

    Raises:
        ConnectionError: not an HTTP/1.x response head.
    """
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ConnectionError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = headers.get("connection", "").lower()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length_text = headers.get("content-length")
    length = int(length_text) if length_text is not None and length_text.isdigit() else None
    status = int(code)
    if status in (204, 304):
        length = 0
    return ResponseHead(
        status=status,
        headers=headers,
        length=None if chunked else length,
        chunked=chunked,
        keep_alive=version != "HTTP/1.0" and "close" not in connection and (chunked or length is not None),
    )
