"""Proxy settings in the environment, bypassed for the emulator's own addresses while a test runs.

requests (and so google-auth's sessions and google-api-core's REST transports), httplib2 and grpcio read
``HTTP_PROXY``/``HTTPS_PROXY`` (grpcio also ``grpc_proxy``) from the environment, and send even a request for
127.0.0.1 through the proxy unless ``NO_PROXY`` (grpcio: ``no_grpc_proxy``, else ``no_proxy``) names it. On a CI
machine behind a corporate proxy, every call of the client under test would then fail with a proxy error before it
reached the emulator.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

__all__ = ["bypassing_proxies"]

#: The variables that list hosts to reach directly. ``no_grpc_proxy`` is extended only where it is set: where it is
#: not, grpcio reads ``no_proxy``.
_LISTS = ("NO_PROXY", "no_proxy")
_GRPC_LIST = "no_grpc_proxy"


@contextlib.contextmanager
def bypassing_proxies(hosts: Iterable[str]) -> Iterator[None]:
    """While inside, ``hosts`` are reached directly, whatever proxy the environment names; then every variable is
    as it was (absent ones absent again).

    Each list keeps what it held and gains the hosts it lacked, comma-separated as every reader of it expects.
    """
    wanted = list(dict.fromkeys(hosts))
    names = [*_LISTS, *([_GRPC_LIST] if _GRPC_LIST in os.environ else [])]
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in names:
            held = [entry.strip() for entry in (saved[name] or "").split(",") if entry.strip()]
            os.environ[name] = ",".join(held + [host for host in wanted if host not in held])
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
