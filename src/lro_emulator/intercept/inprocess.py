"""Calling the REST app in the client's own thread: a request in, an answer out, no socket between.

The environ is built here rather than by werkzeug's ``EnvironBuilder``: that builder costs about 54 us a request,
more than the emulator's own handling of a poll, and an in-process call exists to be cheap. What the app reads of
it is what a WSGI server gives (PEP 3333), plus ``RAW_URI`` so that an encoded slash in a name stays encoded.
"""

from __future__ import annotations

import dataclasses
import io
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from ..core.pipeline import CLIENT_DEADLINE_KEY

__all__ = ["Answer", "body_bytes", "serve"]

#: A WSGI application: ``app(environ, start_response)`` returning the body's chunks.
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclasses.dataclass
class Answer:
    """What the app answered: status, reason phrase, headers in order, and the whole body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    #: When the request was made (``time.monotonic()``), to tell whether the client's timeout has passed.
    started: float = 0.0


def serve(
    app: WsgiApp, method: str, url: str, headers: Mapping[Any, Any], body: bytes | None, timeout: float | None = None
) -> Answer:
    """Answer one request with ``app``, as a server on the URL's host would.

    ``timeout`` is the client's own, in real seconds: past it the app sees the client gone, and a paced wait or
    delay ends as it does over a socket when the client hangs up. A fault that drops the connection surfaces as
    the app's `ConnectionResetError`, for the adapter to turn into its client library's own connection error.
    """
    started = time.monotonic()
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    host = parts.hostname or ""
    port = str(parts.port) if parts.port is not None else _DEFAULT_PORTS.get(scheme, "80")
    # A server reads bytes: characters beyond ASCII arrive as their UTF-8 bytes, each one a latin-1 character.
    raw_path = _wire(parts.path or "/")
    query = _wire(parts.query)
    content = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # The WSGI "encoding dance": the decoded path's bytes as latin-1 characters.
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": raw_path + (f"?{query}" if query else ""),
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(content),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if timeout is not None:
        environ[CLIENT_DEADLINE_KEY] = started + timeout
    named_host = False
    for name, value in headers.items():
        key = _text(name).upper().replace("-", "_")
        text = _text(value)
        if key == "TRANSFER_ENCODING":  # the body is here whole, its length known: it is not chunked any more
            continue
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = text
            continue
        if key == "HOST":
            named_host = True
        key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if not named_host:  # the URL's host and port, never its user:password@
        environ["HTTP_HOST"] = parts.netloc.rpartition("@")[2]
    if content or "CONTENT_LENGTH" in environ or method.upper() in ("POST", "PUT", "PATCH"):
        environ["CONTENT_LENGTH"] = str(len(content))
    head: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        head[:] = [status, response_headers]
        return written.append

    chunks = app(environ, start_response)
    try:
        written.extend(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    code, _, reason = head[0].partition(" ")
    return Answer(int(code), reason, list(head[1]), b"".join(written), started)


def _text(value: object) -> str:
    """A header name or value as WSGI holds it: bytes as latin-1 characters, anything else as its text."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _wire(text: str) -> str:
    """``text`` as a server reads it off the wire (WSGI's latin-1 characters for the bytes); ASCII is unchanged."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("latin-1")


def body_bytes(body: object) -> bytes | None:
    """A client library's request body as bytes: bytes, text (UTF-8), a file, or an iterable of chunks."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    read = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return b"".join(chunk.encode() if isinstance(chunk, str) else bytes(chunk) for chunk in body)  # type: ignore[attr-defined]
