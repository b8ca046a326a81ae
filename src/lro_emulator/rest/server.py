"""A werkzeug server on a background thread (the part of the REST transport that owns a socket).

The request handler is written against werkzeug's `werkzeug.serving.WSGIRequestHandler` as it is in
werkzeug 3.0 and 3.1 (checked: 3.0.0, 3.1.0, 3.1.9), and pyproject.toml bounds werkzeug to ``<3.2`` for that
reason. The server is werkzeug's `werkzeug.serving.ThreadedWSGIServer`, built with its constructor
``(host, port, app, handler)`` as ``make_server`` builds it. What the handler overrides or calls is not
documented API: ``run_wsgi`` (every ``do_*`` method reaches it through the handler's ``__getattr__``),
``make_environ`` (which marks a chunked body with ``wsgi.input_terminated``), ``connection_dropped``
(werkzeug's ``handle`` calls it for a connection error) and ``log``. ``handle_one_request``, ``send_error``,
``parse_request`` (which ``handle_one_request`` calls) and ``handle_expect_100`` are the standard library's
(`http.server.BaseHTTPRequestHandler`), as are ``setup`` and ``finish`` (`socketserver.StreamRequestHandler`)
and the server's ``server_bind``, ``verify_request``, ``shutdown_request`` and ``close_request``
(`socketserver`), which werkzeug leaves alone. A new werkzeug minor version can change any of the former;
tests/test_server.py names each one with its signature and its owner, so an upgrade
that moves one fails there first. To lift the bound: read the new ``werkzeug/serving.py``, run that test
file, tests/test_bad_requests.py and tests/test_faults.py against it, and move the bound and this list.
"""
from __future__ import annotations

import contextlib
import email.parser
import io
import json
import re
import socket
import struct
import threading
import traceback
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from ..wire.addresses import authority, local_address, started
from ..wire.codes import Code
from ..wire.errors import LroEmulatorError, StatusError
from .app import MAX_BODY_BYTES
from .reading import shown

__all__ = ["IDLE_TIMEOUT", "MAX_CONNECTIONS", "HttpServer"]

#: The most connections a server holds open at once, unless it is told otherwise. Each is a thread and a file
#: descriptor. Client pools are far smaller (requests keeps 10 connections per host, aiohttp and httpx 100), so
#: a test suite does not come near it, while a client that leaks connections meets a 503 that says so instead
#: of exhausting the process. Where the process may open fewer than four times as many files (macOS allows 256
#: by default), the default is a quarter of that limit: a client in the same process spends a descriptor on its
#: own end of each connection, and the process needs descriptors for everything else.
MAX_CONNECTIONS = 256
#: Real seconds a keep-alive connection may wait for its next request, or a request for its next bytes, before
#: the server closes it. Twice the longest pause google-api-core makes between two calls by default (its retries
#: back off to 60 s, its polling to 20 s), so a polling client does not find its connection gone, while the
#: threads of connections a client abandoned come back within two minutes. An answer the emulator holds (a
#: WaitOperation, a ``hang`` fault) is not waiting for the client, and is never cut by it.
IDLE_TIMEOUT = 120.0

#: A body of at most this many bytes is read before the application runs (`_QuietHandler._read_ahead`): the
#: largest the application accepts.
_READ_AHEAD = MAX_BODY_BYTES
#: A Content-Length of more digits is refused before it is converted (Python converts at most 4,300 digits).
_MAX_LENGTH_DIGITS = 18
#: A request body the application left unread is read and discarded, if it declared at most this size, so that
#: the connection can carry the next request; a larger one closes the connection instead. It is also what a closing
#: connection discards of the bytes it was sent and never read (closing over unread bytes sends a reset, which can
#: destroy the answer before the client reads it).
_DRAIN_LIMIT = 16 << 20
#: `http.server`'s limits on what it reads before the application sees a request: the length of the request
#: line and of each header line, in bytes, and the number of header lines.
_MAX_LINE = 65536
_MAX_HEADERS = 100
#: RFC 9110 section 5.6.2: a method is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9112 section 2.3: ``HTTP/`` and a digit, a dot and a digit.
_HTTP_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler with HTTP/1.1 keep-alive, no log lines, and connections the app can drop.

    werkzeug's own handler closes every connection, because `http.server` cannot tell where a body
    the application did not read ends; it then waits up to 10 ms for stray bytes after each answer.
    Polling clients (requests, aiohttp, grpc-gateway style REST transports) reuse one connection for
    hundreds of polls, so that cost decides how fast an hour-long operation completes. Here the body is
    read through a `LimitedStream` of its Content-Length, whatever the application left of it is
    discarded after the answer, and the connection stays open when the client allows it.

    The emulator keeps its own call log, so werkzeug's per-request log lines would only be noise. A
    `ConnectionError` the application raises is what werkzeug takes for a client that went away; the
    handler then closes the socket, aborting it (a TCP RST) when the error's ``reset`` attribute is true.
    """

    protocol_version = "HTTP/1.1"
    # An answer leaves in two writes (head, body); with Nagle's algorithm the second waits for the
    # client's delayed ACK of the first, 40 ms on Linux, on every keep-alive request.
    disable_nagle_algorithm = True
    _reset = False

    def log(self, type: str, message: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Every read and write of the connection is bounded by this: a client that sends nothing (no next request,
        # or the rest of one) for that long is gone. An answer the application holds reads nothing meanwhile.
        self.connection.settimeout(getattr(self.server, "idle_timeout", None))

    def parse_request(self) -> bool:
        """Read the request line and the headers, as `http.server` does but with proper answers to bad ones.

        `http.server` answers a request line it cannot read without a status line (as HTTP/0.9), serves
        ``get`` as ``GET`` (werkzeug upper-cases the method), takes ``HTTP/1.10`` or a two-word line, and
        refuses 100 headers (it counts the blank line that ends them). Here a request line is ``METHOD
        target HTTP/1.x`` with a token for a method, and at most 100 header lines are read.
        """
        self.command = ""
        # Whatever the request line says, an error is answered with an HTTP/1.1 status line.
        self.request_version = "HTTP/1.1"
        self.close_connection = True
        raw: bytes = self.raw_requestline  # type: ignore[has-type]  # set by http.server before it calls this
        if raw in (b"\r\n", b"\n"):
            # RFC 9112 section 2.2: an empty line before the request line is ignored (a client may send one after
            # a body); one only, so that a stream of them cannot keep a thread.
            raw = self.raw_requestline = self.rfile.readline(_MAX_LINE + 1)
            if not raw:
                return False
        self.requestline = requestline = str(raw, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            self.send_error(400, "the request line is empty: it is a method, a target and an HTTP version, such as "
                                 "GET /v1/operations HTTP/1.1")
            return False
        if len(words) != 3:
            self.send_error(400, f"the request line {shown(requestline)} is not a method, a target and an HTTP "
                                 "version, such as GET /v1/operations HTTP/1.1")
            return False
        method, target, version = words
        numbers = _HTTP_VERSION.fullmatch(version)
        if numbers is None:
            self.send_error(400, f"the request line ends in {shown(version)}, which is not an HTTP version "
                                 "such as HTTP/1.1")
            return False
        if numbers[1] != "1":
            hint = ("; a gRPC client (HTTP/2) connects to the emulator's gRPC address (emu.grpc_target), "
                    "not to its REST one" if numbers[1] == "2" else "")
            self.send_error(505, f"{version} is not spoken here: this server speaks HTTP/1.1 and HTTP/1.0{hint}")
            return False
        if not _TOKEN.fullmatch(method):
            self.send_error(400, f"the method {shown(method)} is not an HTTP method (a token, RFC 9110)")
            return False
        if method != method.upper():
            self.send_error(501, f"the method {method!r} is not implemented here: HTTP methods are case-sensitive, "
                                 f"did you mean {method.upper()!r}?")
            return False
        self.command, self.path = method, target
        if self.path.startswith("//"):  # as http.server does (an open-redirect guard there): the same path, one "/"
            self.path = "/" + self.path.lstrip("/")
        lines: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431, "a header line is too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            if len(lines) == _MAX_HEADERS:
                self.send_error(431, f"it has more than {_MAX_HEADERS} header lines")
                return False
            name, colon, _ = line.partition(b":")
            if b"\r" in line.rstrip(b"\r\n") or b"\x00" in line:
                # A bare CR ends a line for some parsers (the one below among them) and not for others.
                self.send_error(400, f"the header line {shown(line.decode('iso-8859-1').rstrip())} holds a carriage "
                                     "return or a NUL; header values may not")
                return False
            if not colon or not _TOKEN.fullmatch(name.decode("iso-8859-1")):
                # RFC 9112 section 5: whitespace before the colon, or a line folded onto the one before, is
                # refused; read otherwise, a Content-Length a proxy did not see would split the stream differently.
                self.send_error(400, f"the header line {shown(line.decode('iso-8859-1').rstrip())} is not a "
                                     "name, a colon and a value (no whitespace before the colon, no folded lines)")
                return False
            lines.append(line)
        self.headers = email.parser.Parser(_class=self.MessageClass).parsestr(b"".join(lines).decode("iso-8859-1"))
        codings = self.headers.get_all("Transfer-Encoding") or []
        if codings and [coding.strip().lower() for coding in ",".join(codings).split(",")] != ["chunked"]:
            # Only chunked says where a body ends; with any other coding the next request's start would be a guess.
            self.send_error(400, f"Transfer-Encoding {shown(', '.join(codings))} is not read here: send a body "
                                 "with a Content-Length or with Transfer-Encoding: chunked alone")
            return False
        self.request_version = version
        self.close_connection = numbers[2] == "0"
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if numbers[2] != "0" and self.headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def handle_one_request(self) -> None:
        cast("_Server", self.server).waiting(self.connection)  # until its request line arrives (`parse_request`)
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request the handler could not read (a line or header over its limits, a bad request line, an HTTP
        version or a method it does not serve), or (``code`` 500) an answer the emulator failed to produce.

        `http.server` would answer an HTML page; clients of a Google API read JSON, so the answer is an
        AIP-193 envelope: INVALID_ARGUMENT that says which limit or rule the request broke, UNIMPLEMENTED
        for a version (505) or method (501) not served, or INTERNAL.
        """
        self.close_connection = True
        text = message or f"HTTP {code}"
        status = HTTPStatus(code) if code in (501, 505) else HTTPStatus(500) if code >= 500 else HTTPStatus(400)
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            error = StatusError(Code.UNIMPLEMENTED, text, reason="HTTP_VERSION_NOT_SUPPORTED")
        elif code == HTTPStatus.NOT_IMPLEMENTED:
            error = StatusError(Code.UNIMPLEMENTED, text, reason="METHOD_NOT_IMPLEMENTED")
        elif code >= 500:
            error = StatusError(Code.INTERNAL, text, reason="EMULATOR_FAILURE")
        else:
            if code in (414, 431):
                text += (f"; the server reads request and header lines of at most {_MAX_LINE} bytes, and at most "
                         f"{_MAX_HEADERS} headers")
            error = StatusError(Code.INVALID_ARGUMENT, f"the HTTP request could not be read: {text}",
                                reason="UNREADABLE_HTTP_REQUEST")
        head = [f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
        with contextlib.suppress(OSError):
            self.wfile.write(_error_answer(status, error, head, body=self.command != "HEAD"))

    def run_wsgi(self) -> None:
        # (http.server already answered any "Expect: 100-continue" while parsing the request.)
        try:
            self.environ = environ = self.make_environ()
        except ValueError as error:  # a target werkzeug cannot split, such as http://[x/
            self.send_error(400, f"the request target {shown(self.path)} cannot be read: {error}")
            return
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            # Even the same length twice (RFC 9112 lets a server take it): one request, one length.
            self.send_error(400, f"Content-Length is given {len(lengths)} times ({', '.join(map(shown, lengths))}); "
                                 "a request declares its length once")
            return
        declared = lengths[0].strip() if lengths else ""
        if lengths and not (declared.isascii() and declared.isdigit() and len(declared) <= _MAX_LENGTH_DIGITS):
            # Without a length, where this body ends and the next request starts is anyone's guess.
            self.send_error(400, f"Content-Length must be a decimal number of bytes (at most {_MAX_LENGTH_DIGITS} "
                                 f"digits), got {shown(declared)}")
            return
        environ["CONTENT_LENGTH"] = declared
        body = self._limit_body(environ)
        try:
            self._read_ahead(environ)
        except (ClientDisconnected, ConnectionError, TimeoutError):  # it sent less than it declared, and left
            self.close_connection = True
            return
        except (OSError, ValueError) as error:  # werkzeug's reading of a chunked body whose framing is broken
            self.send_error(400, f"the chunked request body could not be read: {error}")
            return
        if not cast("_Server", self.server).serving(self.connection):  # closed to make room meanwhile: not served
            self.close_connection = True
            return
        sent = False

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal sent
            if exc_info is not None and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            response[:] = [status, headers]
            return write

        def write(data: bytes) -> None:
            nonlocal sent
            if not sent:
                sent = True
                # Head and first chunk in one write: one segment, one wake-up of the client per answer.
                data = self._head(*response) + data
            if data:
                self.wfile.write(data)
            self.wfile.flush()

        response: list[Any] = []
        try:
            chunks: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                for chunk in chunks:
                    write(chunk)
                if not sent:
                    write(b"")
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError) as error:
            self.connection_dropped(error, environ)
            return
        except Exception:  # the emulator's app answers its own failures; this is a last resort, and a bug
            traceback.print_exc()
            self.close_connection = True
            if not sent:
                self.send_error(500, "the emulator failed while answering; see its standard error")
            return
        if body is not None and not self.close_connection:
            if body.limit > _DRAIN_LIMIT:
                self.close_connection = True
            else:
                # The rest of a body the application refused unread (over 1 MiB) is read, so that the client, still
                # sending it, reads its answer instead of a reset. Meanwhile the connection counts as waiting: one
                # sent a byte at a time makes room for others at the cap.
                cast("_Server", self.server).waiting(self.connection)
                try:
                    body.exhaust()
                except (ClientDisconnected, OSError):  # it sent less than it declared and left, or was closed
                    self.close_connection = True

    def _limit_body(self, environ: dict[str, Any]) -> LimitedStream | None:
        """Wrap the body in a stream of its declared length; a body of unknown length ends the connection."""
        if environ.get("wsgi.input_terminated"):  # chunked: its end is only known by reading it
            self.close_connection = True
            return None
        declared = environ.get("CONTENT_LENGTH", "")
        if not declared:
            return None
        body = LimitedStream(environ["wsgi.input"], int(declared))
        environ["wsgi.input"] = body
        environ["wsgi.input_terminated"] = True
        return body

    def _read_ahead(self, environ: dict[str, Any]) -> None:
        """Read a body of at most `_READ_AHEAD` bytes before the application runs, into memory.

        Until then the connection counts as waiting, not busy (`_Server.serving`): a client that sends its head or
        body a byte at a time makes room for others at the cap, and is closed by the idle timeout, instead of
        holding a slot the emulator is not working for. A larger body (which the application refuses unread) is
        left on the socket.
        """
        stream = environ["wsgi.input"]
        chunked = environ.get("wsgi.input_terminated") and not isinstance(stream, LimitedStream)
        if not chunked and not (isinstance(stream, LimitedStream) and stream.limit <= _READ_AHEAD):
            return
        data = bytearray()
        while len(data) < _READ_AHEAD + 1:  # one byte past the limit, so that a chunked body over it is refused
            chunk = stream.read(_READ_AHEAD + 1 - len(data))
            if not chunk:
                break
            data += chunk
        environ["wsgi.input"] = io.BytesIO(bytes(data))
        environ["wsgi.input_terminated"] = True

    def _head(self, status: str, headers: list[tuple[str, str]]) -> bytes:
        """The status line and headers `send_response` and `send_header` would write (no log line: the
        emulator keeps its own call log), with ``Connection: close`` when the connection ends here."""
        code, _, reason = status.partition(" ")
        lines = [f"{self.protocol_version} {code} {reason}", f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}"]
        names = set()
        for name, value in headers:
            lines.append(f"{name}: {value}")
            names.add(name.lower())
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True
        bodiless = self.command == "HEAD" or code.startswith("1") or code in ("204", "304")
        if "content-length" not in names and not bodiless:
            self.close_connection = True  # the body ends where the connection does
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        # Never wait for another request on a connection whose answer was dropped.
        self.close_connection = True
        self._reset = getattr(error, "reset", False) is True

    def finish(self) -> None:
        super().finish()
        if self._reset:
            # With a zero linger, closing sends RST instead of FIN; it must happen before the server's
            # own shutdown(SHUT_WR), which would send a FIN first.
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()


class _BindFailed(LroEmulatorError):
    """A failed bind, carried past werkzeug's handler of `OSError` (see `_Server.server_bind`)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, holding at most ``max_connections`` connections.

    At the cap, a new connection takes the place of the connection that has waited longest for its next request
    (which the server closes, as an idle timeout would: clients reopen a keep-alive connection the server closed);
    only when every connection is busy with a request is the new one refused, with a 503 from the accepting thread,
    so that it costs no thread of its own.
    """

    def __init__(self, host: str, port: int, app: Any, *, max_connections: int, idle_timeout: float | None) -> None:
        super().__init__(host, port, app, _QuietHandler)
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.connections: set[Any] = set()
        # The connections waiting for a request, longest first (dicts keep their order of insertion).
        self._idle: dict[Any, None] = {}
        self._lock = threading.Lock()

    def server_bind(self) -> None:
        # werkzeug answers a failed bind (a port in use) by printing it and exiting the process, which in a test
        # run ends the whole session; it is raised past werkzeug's handler instead, and `HttpServer` re-raises it.
        try:
            super().server_bind()
        except OSError as error:
            self.socket.close()
            raise _BindFailed(error) from None

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self._lock:
            if len(self.connections) >= self.max_connections and self._idle:
                evicted = next(iter(self._idle))
                del self._idle[evicted]
                self.connections.discard(evicted)
                with contextlib.suppress(OSError):  # its thread reads the end of the stream and finishes
                    evicted.shutdown(socket.SHUT_RDWR)
            if len(self.connections) < self.max_connections:
                self.connections.add(request)
                self._idle[request] = None
                return True
        error = StatusError(
            Code.UNAVAILABLE,
            f"the emulator's HTTP server already has {self.max_connections} connections open, each busy with a "
            "request, the most it holds at once (the limit is per server, whatever the client): wait for answers "
            "the emulator holds (WaitOperation, injected delays and hangs) or cancel them, and retry",
            reason="TOO_MANY_CONNECTIONS",
        )
        with contextlib.suppress(OSError):  # answered at once, without waiting for the request
            request.setblocking(False)
            request.send(_error_answer(HTTPStatus.SERVICE_UNAVAILABLE, error, [f"Date: {formatdate(usegmt=True)}"]))
        return False

    @property
    def waiting_count(self) -> int:
        """How many connections wait for a request."""
        with self._lock:
            return len(self._idle)

    def waiting(self, request: Any) -> None:
        """``request`` (a connection) waits for its next request: at the cap, a new connection may take its place."""
        with self._lock:
            if request in self.connections:
                self._idle.pop(request, None)
                self._idle[request] = None

    def serving(self, request: Any) -> bool:
        """``request`` has a request to serve; False if it was closed to make room (the request is not served)."""
        with self._lock:
            self._idle.pop(request, None)
            return request in self.connections

    def shutdown_request(self, request: Any) -> None:
        # The slot is free before the client can see the connection end.
        with self._lock:
            self.connections.discard(request)
            self._idle.pop(request, None)
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            # Closing a socket with bytes it never read sends a reset, which can destroy the answer before the
            # client reads it; what has arrived is discarded first.
            request.setblocking(False)
            for _ in range(_DRAIN_LIMIT // 65536):
                if not request.recv(65536):
                    break
        self.close_request(request)


def _error_answer(status: HTTPStatus, error: StatusError, head: list[str], *, body: bool = True) -> bytes:
    """An HTTP/1.1 answer that closes the connection, carrying ``error``'s AIP-193 envelope under ``status``."""
    envelope = error.envelope()
    envelope["error"]["code"] = status.value  # AIP-193: the HTTP status, which for a 505 no google.rpc.Code has
    payload = json.dumps(envelope, separators=(",", ":")).encode()
    lines = [f"HTTP/1.1 {status.value} {status.phrase}", *head, "Content-Type: application/json; charset=UTF-8",
             f"Content-Length: {len(payload)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (payload if body else b"")


def _default_max_connections() -> int:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no such limit here (Windows)
        return MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft // 4))


class HttpServer:
    """Serves a WSGI app on ``host:port`` (port 0: a free one) from a daemon thread, with keep-alive.

    It holds at most ``max_connections`` connections at once (default: `MAX_CONNECTIONS`, or a quarter of the
    process's open-file limit where that is lower) and answers one more with a 503 UNAVAILABLE; a connection
    that sends nothing for ``idle_timeout`` real seconds (default `IDLE_TIMEOUT`; None: never) is closed.
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, max_connections: int | None = None,
        idle_timeout: float | None = IDLE_TIMEOUT,
    ) -> None:
        if max_connections is not None and (isinstance(max_connections, bool) or not isinstance(max_connections, int)
                                            or max_connections < 1):
            raise ValueError(f"max_connections must be a whole number of at least 1, got {max_connections!r}")
        if idle_timeout is not None and not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be a positive number of seconds or None, got {idle_timeout!r}")
        self._app = app
        self._host = host
        self._port = port
        self._max_connections = max_connections if max_connections is not None else _default_max_connections()
        self._idle_timeout = idle_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._server is not None

    @property
    def max_connections(self) -> int:
        """The most connections the server holds open at once; one more is answered 503 and closed."""
        return self._max_connections

    @property
    def open_connections(self) -> int:
        """How many connections the server holds open now (0 when it is not running)."""
        server = self._server
        return 0 if server is None else len(server.connections)

    @property
    def waiting_connections(self) -> int:
        """How many of them wait for a request (or its rest): those a new connection at the cap may replace."""
        server = self._server
        return 0 if server is None else server.waiting_count

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return int(started(self._server, "HTTP server").server_port)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{authority(local_address(self._host), self.port)}"

    def start(self) -> None:
        """Bind and start serving; idempotent."""
        if self._server is not None:
            return
        try:
            self._server = _Server(self._host, self._port, self._app, max_connections=self._max_connections,
                                   idle_timeout=self._idle_timeout)
        except _BindFailed as failed:
            raise failed.error from None
        self._thread = threading.Thread(
            # stop() waits for the loop to notice: one poll interval, paid at the end of every test session.
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"lro-emulator-http-{self.port}", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
