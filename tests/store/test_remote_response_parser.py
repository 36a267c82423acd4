"""The remote store's response parser (:class:`~boostkg.store.http_connection.Connection`): the same
events whatever pieces the bytes arrive in, and a clear error for what is not HTTP/1.1 framing."""

from __future__ import annotations

import random

import pytest

from boostkg.store.http_connection import Connection, ResponseHead


class _Transport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


class _Recorder:
    def __init__(self) -> None:
        self.heads: list[ResponseHead] = []
        self.body = b""
        self.ended = 0
        self.errors: list[str] = []

    def on_head(self, head: ResponseHead) -> None:
        self.heads.append(head)

    def on_data(self, piece: bytes) -> None:
        assert piece, "no empty pieces"
        self.body += piece

    def on_end(self) -> None:
        self.ended += 1

    def on_error(self, error: ConnectionError) -> None:
        self.errors.append(str(error))


def _feed(response: bytes, cuts: list[int], eof: bool = False) -> tuple[Connection, _Transport, _Recorder]:
    connection = Connection()
    transport = _Transport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    recorder = _Recorder()
    connection.send(b"GET /q HTTP/1.1\r\nHost: x\r\n\r\n", recorder)
    at = 0
    for cut in [*sorted(cuts), len(response)]:
        if cut > at:
            connection.data_received(response[at:cut])
            at = cut
    if eof:
        connection.eof_received()
    return connection, transport, recorder


BODY = b'{"head":{"vars":["o"]},"results":{"bindings":[]}}' * 7
CHUNKED = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
    + b"".join(b"%x;ext=1\r\n%b\r\n" % (len(part), part) for part in (BODY[:100], BODY[100:101], BODY[101:]))
    + b"0\r\nX-Trailer: yes\r\n\r\n"
)
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%b" % (len(BODY), BODY)
UNTIL_CLOSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\n" + BODY


@pytest.mark.parametrize(
    ("response", "eof", "keep_alive"),
    [(CHUNKED, False, True), (LENGTH, False, True), (UNTIL_CLOSE, True, False)],
)
def test_any_split_of_a_response_gives_its_head_body_and_end_once(
    response: bytes, eof: bool, keep_alive: bool
) -> None:
    rng = random.Random(11)
    splits = [[], list(range(1, len(response)))]  # whole, and byte by byte
    splits += [rng.sample(range(1, len(response)), rng.randint(1, 40)) for _ in range(200)]
    for cuts in splits:
        connection, transport, recorder = _feed(response, cuts, eof)
        assert [h.status for h in recorder.heads] == [200]
        assert recorder.heads[0].keep_alive is keep_alive
        assert recorder.body == BODY
        assert recorder.ended == 1
        assert recorder.errors == []
        assert connection.usable() is keep_alive
        assert not transport.closed  # (after the server's end of file, asyncio closes it)


def test_an_empty_body_ends_at_its_head() -> None:
    connection, _, recorder = _feed(b"HTTP/1.1 204 No Content\r\n\r\n", [])
    assert [h.status for h in recorder.heads] == [204]
    assert recorder.ended == 1
    assert connection.usable()


def test_bytes_beyond_the_response_make_the_connection_unusable() -> None:
    connection, transport, recorder = _feed(LENGTH + b"HTTP/1.1 200 OK\r\n", [])
    assert recorder.ended == 1
    assert not connection.usable()
    assert transport.closed


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
            "does not end where its size says",
        ),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20_000, "longer than"),
    ],
)
def test_what_is_not_http_framing_is_an_error_and_the_connection_is_closed(
    response: bytes, message: str
) -> None:
    connection, transport, recorder = _feed(response, [])
    assert len(recorder.errors) == 1
    assert message in recorder.errors[0]
    assert recorder.ended == 0
    assert transport.closed
    assert not connection.usable()


@pytest.mark.parametrize("cut", [10, len(LENGTH) - 5])
def test_the_server_closing_early_is_an_error_naming_where(cut: int) -> None:
    connection = Connection()
    connection.connection_made(_Transport())  # type: ignore[arg-type]
    recorder = _Recorder()
    connection.send(b"GET /q HTTP/1.1\r\n\r\n", recorder)
    connection.data_received(LENGTH[:cut])
    connection.eof_received()
    connection.connection_lost(None)
    assert len(recorder.errors) == 1  # reported once, not again when the connection is lost
    where = "before answering" if cut == 10 else "in the middle of the body"
    assert where in recorder.errors[0]
    assert not connection.usable()
