"""Where the emulator serves: ``host:port`` as URLs and gRPC targets write it, and servers not yet started."""

from __future__ import annotations

from typing import TypeVar

from .errors import NotServing

__all__ = ["authority", "started"]

T = TypeVar("T")


def authority(host: str, port: int) -> str:
    """``host:port`` as a URL or a gRPC target takes it: ``127.0.0.1:8089``, an IPv6 host in brackets ``[::1]:8089``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def started(server: T | None, what: str) -> T:
    """``server`` once it is started; `NotServing` naming ``what`` before (an address is known only then)."""
    if server is None:
        raise NotServing(f"the {what} is not started: start the emulator (or use it as a context manager) first")
    return server
