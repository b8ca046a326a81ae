"""Calling the REST app in the client's own thread: a request in, an answer out, no socket between.

The environ is built here rather than by werkzeug's ``EnvironBuilder``: that builder costs about 54 us a request,
more than the emulator's own handling of a poll, and an in-process call exists to be cheap. What the app reads of
it is what a WSGI server gives (PEP 3333), plus ``RAW_URI`` so that an encoded slash in a name stays encoded.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

__all__ = ["Answer", "serve"]

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


def serve(app: WsgiApp, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Answer:
    """Answer one request with ``app``, as a server on the URL's host would.

    A fault that drops the connection surfaces as the app's `ConnectionResetError`, for the adapter to turn into
    its client library's own connection error.
    """
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    host = parts.hostname or ""
    port = str(parts.port) if parts.port is not None else _DEFAULT_PORTS.get(scheme, "80")
    raw_path = parts.path or "/"
    content = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # The WSGI "encoding dance": the decoded path's bytes as latin-1 characters.
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": parts.query,
        "RAW_URI": raw_path + (f"?{parts.query}" if parts.query else ""),
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
    named_host = False
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = str(value)
            continue
        if key == "HOST":
            named_host = True
        key = f"HTTP_{key}"
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if not named_host:
        environ["HTTP_HOST"] = parts.netloc
    if content or "CONTENT_LENGTH" in environ or method.upper() in ("POST", "PUT", "PATCH"):
        environ["CONTENT_LENGTH"] = str(len(content))
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, response_headers]
        return written.append

    chunks = app(environ, start_response)
    try:
        written.extend(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    code, _, reason = started[0].partition(" ")
    return Answer(int(code), reason, list(started[1]), b"".join(written))


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
