"""Where the emulator serves: ``host:port`` as URLs and gRPC targets write it, and servers not yet started."""

from __future__ import annotations

import ipaddress
from typing import TypeVar

from .errors import NotServing

__all__ = ["authority", "is_loopback", "local_address", "started"]

#: The addresses that bind every interface; a client on the machine reaches them at the loopback address.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}

T = TypeVar("T")


def authority(host: str, port: int) -> str:
    """``host:port`` as a URL or a gRPC target takes it: ``127.0.0.1:8089``, an IPv6 host in brackets ``[::1]:8089``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost``, 127.0.0.0/8 or ``::1``.

    An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) is not one, on every Python: 3.13's ``is_loopback`` says it
    is, earlier versions' do not.
    """
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    return address.is_loopback and not mapped


def local_address(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host``: the loopback address for a wildcard."""
    return _WILDCARDS.get(host, host)


def started(server: T | None, what: str) -> T:
    """``server`` once it is started; `NotServing` naming ``what`` before (an address is known only then)."""
    if server is None:
        raise NotServing(f"the {what} is not started: start the emulator (or use it as a context manager) first")
    return server
