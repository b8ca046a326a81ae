"""Requests from elsewhere than this machine's own clients, refused while the server listens on loopback only.

A server on 127.0.0.1 is not out of reach of the web: a page the developer has open may post to it (a form or a
``text/plain`` body needs no CORS preflight), load it as an image or a script (a GET that counts as a poll), and a
page whose name its owner points at 127.0.0.1 (DNS rebinding) talks to it as its own origin. Browsers say where
such a request comes from: ``Origin`` on every POST and CORS request, ``Sec-Fetch-Site: cross-site`` on every
request from another site (current browsers, a no-cors GET included), and the page's name as ``Host``. Clients of
a Google API send none of the first two, and the ``Host`` they send is the address they were given. So, on
loopback, a request whose ``Origin`` is a page elsewhere, that a browser marks cross-site, or whose ``Host`` is not
a loopback name (``localhost``, 127.0.0.0/8, ``[::1]``) at the served port, is refused before anything runs. A
server bound beyond loopback is meant to be reached by other names, and checks none of these (the command line
warns that its control plane is then reachable).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..wire.addresses import is_loopback
from ..wire.codes import Code
from ..wire.errors import StatusError
from .reading import shown

__all__ = ["foreign_request"]

#: A Host the served documents can echo: a name or an address, and a port written as the server's is (no leading
#: zeros, no path, no user).
_HOST = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[1-9][0-9]{0,4}))?")
#: How much of a refused header a message repeats: enough to recognise it, not a page of the client's text.
_SHOWN = 200


def foreign_request(environ: dict[str, Any]) -> StatusError | None:
    """PERMISSION_DENIED for a request a web page elsewhere sent, or None for one of this machine's clients."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not _local_origin(origin):
        return StatusError(
            Code.PERMISSION_DENIED,
            f"requests with Origin {shown(origin, _SHOWN)} are refused: the emulator serves this machine's clients "
            "only, and a web page elsewhere must not drive it; pages served from localhost are welcome",
            reason="FOREIGN_ORIGIN",
        )
    if environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower() == "cross-site":  # localhost:3000 is same-site
        return StatusError(
            Code.PERMISSION_DENIED,
            "a request a browser marks Sec-Fetch-Site: cross-site is refused: the emulator serves this machine's "
            "clients only, and a web page elsewhere must not drive it; pages served from localhost are welcome",
            reason="FOREIGN_ORIGIN",
        )
    host = environ.get("HTTP_HOST")
    # Only a request that came through a socket (werkzeug's test client's requests never leave the process).
    served = "werkzeug.socket" in environ
    if served and host is not None and not _served_host(host, environ.get("SERVER_PORT")):
        return StatusError(
            Code.PERMISSION_DENIED,
            f"requests with Host {shown(host, _SHOWN)} are refused: the emulator listens on loopback only, so a "
            "request for another name is a web page's (DNS rebinding); reach it as 127.0.0.1 or localhost at its port, "
            "or serve it with --host set to the address other machines use",
            reason="FOREIGN_HOST",
        )
    return None


def _local_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.hostname is not None and is_loopback(parts.hostname)
    except ValueError:  # a port that is not a number, brackets that do not close
        return False


def _served_host(host: str, served_port: str | None) -> bool:
    found = _HOST.fullmatch(host)
    if found is None or not is_loopback(found["name"]):
        return False
    # No port: the client believes it reached port 80, which a page's name cannot make it believe of another port.
    return found["port"] is None or served_port is None or found["port"] == served_port
