"""A werkzeug server on a background thread (the part of the REST transport that owns a socket).

The request handler is written against werkzeug's `werkzeug.serving.WSGIRequestHandler` as it is in
werkzeug 3.0 and 3.1 (checked: 3.0.0, 3.1.0, 3.1.9), and pyproject.toml bounds werkzeug to ``<3.2`` for that
reason. ``make_server(request_handler=...)`` is werkzeug's public way in, but what the handler overrides
or calls is not documented API: ``run_wsgi`` (every ``do_*`` method reaches it through the handler's
``__getattr__``), ``make_environ`` (which marks a chunked body with ``wsgi.input_terminated``),
``connection_dropped`` (werkzeug's ``handle`` calls it for a connection error) and ``log``.
``send_error`` and ``finish`` are the standard library's (`http.server.BaseHTTPRequestHandler`,
`socketserver.StreamRequestHandler`), which werkzeug leaves alone. A new werkzeug minor version can change
any of the former; tests/test_server.py names each one with its signature and its owner, so an upgrade
that moves one fails there first. To lift the bound: read the new ``werkzeug/serving.py``, run that test
file, tests/test_bad_requests.py and tests/test_faults.py against it, and move the bound and this list.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import traceback
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from ..wire.addresses import authority, started
from ..wire.codes import Code
from ..wire.errors import StatusError

__all__ = ["HttpServer"]


#: A request body the application left unread is read and discarded, if it declared at most this size,
#: so that the connection can carry the next request; a larger one closes the connection instead.
_DRAIN_LIMIT = 16 << 20


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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request `http.server` could not read (a line or header over its limits, a bad request line),
        or (``code`` 500) an answer the emulator failed to produce.

        It would answer an HTML page; clients of a Google API read JSON, so the answer is an AIP-193
        INVALID_ARGUMENT that says which limit the request broke, or an INTERNAL.
        """
        self.close_connection = True
        text = message or f"HTTP {code}"
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            # The client's mistake, not ours; and http.server, having refused the version, would answer in
            # HTTP/0.9 (a body with no status line), which no client of that version reads.
            self.request_version = "HTTP/1.1"
            code = HTTPStatus.BAD_REQUEST
        if code >= 500:
            error = StatusError(Code.INTERNAL, text, reason="EMULATOR_FAILURE")
        else:
            if code in (414, 431):
                text += "; the server reads request and header lines of at most 65536 bytes, and at most 100 headers"
            error = StatusError(Code.INVALID_ARGUMENT, f"the HTTP request could not be read: {text}",
                             reason="UNREADABLE_HTTP_REQUEST")
        body = json.dumps(error.envelope(), separators=(",", ":")).encode()
        with contextlib.suppress(OSError):
            self.send_response(error.code.http_status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def run_wsgi(self) -> None:
        # (http.server already answered any "Expect: 100-continue" while parsing the request.)
        self.environ = environ = self.make_environ()
        declared = environ.get("CONTENT_LENGTH", "")
        if declared and not (declared.isascii() and declared.isdigit()):
            # Without a length, where this body ends and the next request starts is anyone's guess.
            self.send_error(400, f"Content-Length must be a decimal number of bytes, got {declared!r}")
            return
        body = self._limit_body(environ)
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
                try:
                    body.exhaust()
                except (ClientDisconnected, OSError):  # the client sent less than it declared, and left
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


class HttpServer:
    """Serves a WSGI app on ``host:port`` (port 0: a free one) from a daemon thread, with keep-alive."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return int(started(self._server, "HTTP server").server_port)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{authority(self._host, self.port)}"

    def start(self) -> None:
        """Bind and start serving; idempotent."""
        if self._server is not None:
            return
        self._server = make_server(self._host, self._port, self._app, threaded=True, request_handler=_QuietHandler)
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
