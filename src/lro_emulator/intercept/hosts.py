"""Which hosts an interception answers for: globs over host names, compared without case."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from ..core.globs import Glob
from ..wire.errors import ScriptError

__all__ = ["DEFAULT_HOSTS", "HostMatcher", "grpc_host"]

#: Google's APIs (Vertex AI, Workflows, Earth Engine's ``earthengine.googleapis.com`` and its high-volume
#: endpoint, regional endpoints such as ``us-central1-aiplatform.googleapis.com``) all live under one domain.
DEFAULT_HOSTS = ("*.googleapis.com",)

#: Host names are at most 253 characters (RFC 1035); a glob is at most one of them with its wildcards.
_MAX_GLOB = 253


class HostMatcher:
    """A set of host globs (``*`` matches any run of characters, dots included): `host` reads a host name, `url`
    a URL's."""

    def __init__(self, globs: Iterable[str] | None = None) -> None:
        patterns = list(DEFAULT_HOSTS if globs is None else globs)
        if isinstance(globs, str):
            raise ScriptError(f"hosts= takes a list of host globs, e.g. [{globs!r}], not a single string")
        for glob in patterns:
            if not isinstance(glob, str) or not glob or len(glob) > _MAX_GLOB or "/" in glob or ":" in glob:
                raise ScriptError(f"a host glob is a host name with * wildcards, e.g. '*.googleapis.com' "
                                  f"(no scheme, port or path), not {glob!r}")
        if not patterns:
            raise ScriptError("hosts= needs at least one host glob, e.g. ['*.googleapis.com']")
        self.globs = tuple(glob.lower() for glob in patterns)
        self._compiled = tuple(Glob.of(glob) for glob in self.globs)
        self._seen: dict[str, bool] = {}

    def host(self, host: str | None) -> bool:
        """Whether ``host`` (a bare host name) is one the interception answers for."""
        if not host:
            return False
        host = host.lower().rstrip(".")
        known = self._seen.get(host)
        if known is None:
            known = any(glob.fullmatch(host) for glob in self._compiled)
            if len(self._seen) < 1024:  # a client reaches few hosts; a bound keeps a crawler's from growing it
                self._seen[host] = known
        return known

    def url(self, url: str) -> bool:
        """Whether ``url`` (``https://host[:port]/...``) goes to a host the interception answers for."""
        try:
            return self.host(urlsplit(url).hostname)
        except ValueError:  # not a URL a client could send: left to the client library to refuse
            return False


#: The gRPC name schemes whose target is a host name: DNS, a name passed as it is, and Google's DirectPath
#: (``google-c2p:///host``, what api-core asks for with ``attempt_direct_path``).
_NAMED_SCHEMES = ("dns:", "passthrough:", "google-c2p:")


def grpc_host(target: str) -> str | None:
    """The host of a gRPC target (``host:port``, ``dns:///host:port``, ``dns://authority/host``), if it names one."""
    scheme = next((scheme for scheme in _NAMED_SCHEMES if target.startswith(scheme)), None)
    if scheme is not None:
        target = target[len(scheme):].lstrip("/")
        if "/" in target:  # dns://authority/host: the host is the last part
            target = target.rsplit("/", 1)[1]
    elif "://" in target or target.startswith(("unix:", "ipv4:", "ipv6:")):
        return None
    if target.startswith("["):
        return target[1:].partition("]")[0]
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target
