"""A werkzeug server on a background thread (the part of the REST transport that owns a socket)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["HttpServer"]


class _QuietHandler(WSGIRequestHandler):
    """The emulator keeps its own call log; werkzeug's per-request log lines would only be noise.

    It also lets the application drop a connection: a `ConnectionError` it raises is what werkzeug
    takes for a client that went away, and the handler then closes the socket, aborting it (a TCP
    RST) when the error's ``reset`` attribute is true.
    """

    _reset = False

    def log(self, type: str, message: str, *args: Any) -> None:
        pass

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
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind and start serving; idempotent."""
        if self._server is not None:
            return
        self._server = make_server(self._host, self._port, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
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
