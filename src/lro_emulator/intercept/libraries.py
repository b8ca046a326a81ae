"""The client libraries' own entry points, redirected while an interception is active.

Each function here patches one library through ``unittest.mock.patch.object`` on an `contextlib.ExitStack`, so
that leaving the stack puts the genuine attribute back exactly (and removes one the library did not have). A
library that is not installed is skipped: nothing can call it.

- requests: ``Session.get_adapter`` hands out an adapter that calls the REST app in-process for matching URLs
  (google-auth's ``AuthorizedSession``, api-core's REST transports and Earth Engine's client all send through it),
  and ``Session.merge_environment_settings`` skips the proxy and CA settings, which no in-process call uses;
- httplib2: ``Http.request`` answers matching URLs in-process (googleapiclient, ``google_auth_httplib2``);
- aiohttp: ``ClientSession._request``, the one method every request method of a session calls, sends matching URLs
  to the emulator's loopback address instead (building aiohttp's response objects without a connection is not
  something aiohttp supports);
- grpcio: ``grpc.secure_channel`` and ``grpc.aio.secure_channel`` open an insecure channel to the emulator's gRPC
  port for matching targets (api-core's ``grpc_helpers`` and ``grpc_helpers_async`` open every channel so);
- google-auth: ``google.auth.default`` returns `EmulatorCredentials` and the configured project;
- the resolver: ``socket.getaddrinfo`` refuses to look up an intercepted host, so that a client reaching one
  through anything else (``urllib.request``, ``http.client``, urllib3 or httpx used directly) fails at once
  instead of sending the test's traffic to Google.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import socket
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from ..wire.errors import ScriptError
from .hosts import HostMatcher, grpc_host
from .inprocess import WsgiApp, body_bytes, serve

__all__ = ["Redirect", "patch_libraries"]


class Redirect:
    """Where intercepted traffic goes: the REST app (in-process), the REST URL, the gRPC target, the project.

    The replacements redirect only while it is ``active``: one left installed after its interception ended (a
    test's own monkeypatch of the same function, undone after ours, puts it back) behaves as the genuine function.
    """

    def __init__(self, app: WsgiApp, url: Callable[[], str], grpc_target: Callable[[], str], hosts: HostMatcher,
                 project: str) -> None:
        self.app = app
        self.url = url
        self.grpc_target = grpc_target
        self.hosts = hosts
        self.project = project
        self.active = False

    def takes_url(self, url: str) -> bool:
        """Whether a request to ``url`` is redirected now."""
        return self.active and self.hosts.url(url)

    def takes_host(self, host: str | None) -> bool:
        """Whether traffic to ``host`` is redirected now."""
        return self.active and self.hosts.host(host)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def patch_libraries(stack: contextlib.ExitStack, redirect: Redirect) -> list[str]:
    """Patch every installed client library on ``stack``; returns what was patched, as ``module.attribute``."""
    patched: list[str] = []
    for patcher in (_requests, _httplib2, _aiohttp, _grpc, _google_auth, _resolver):
        patched.extend(patcher(stack, redirect))
    return patched


#: The mark on every replacement: the libraries' own attributes say whether an interception is in force, so two
#: cannot stack their patches (leaving them out of order would restore the wrong functions).
_MARK = "_lro_emulator_interception"


def _patch(
    stack: contextlib.ExitStack, owner: Any, attribute: str, new: Any, label: str, redirect: Redirect
) -> str:
    __tracebackhide__ = True
    marked = getattr(getattr(owner, attribute, None), _MARK, None)
    if isinstance(marked, Redirect) and marked.active:
        raise ScriptError(f"another interception is already active in this process ({label} is patched): the "
                          "patches are the process's, so one emulator intercepts at a time; leave it first")
    setattr(new, _MARK, redirect)
    from unittest import mock  # here, not at the top: it costs 40 ms to import, and most emulators never intercept

    stack.enter_context(mock.patch.object(owner, attribute, new))
    return label


def _requests(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    if _module("requests") is None:
        return []
    requests: Any = importlib.import_module("requests")
    adapters = importlib.import_module("requests.adapters")
    structures = importlib.import_module("requests.structures")
    urllib3 = importlib.import_module("urllib3")
    utils = importlib.import_module("requests.utils")
    genuine = requests.Session.get_adapter

    class InProcessAdapter(adapters.BaseAdapter):  # type: ignore[misc, name-defined]
        """Answers a request by calling the emulator's REST app. The response's ``raw`` is a urllib3 response, as
        from requests' own adapter; the rest is filled in directly (``HTTPAdapter.build_response`` also extracts
        cookies, which cost more than the emulator's handling of the request, and the emulator sets none)."""

        def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
                 cert: Any = None, proxies: Any = None) -> Any:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            try:
                answer = serve(redirect.app, request.method, request.url, request.headers, body_bytes(request.body),
                               read_timeout)
            except ConnectionResetError as error:
                raise requests.exceptions.ConnectionError(error, request=request) from None
            if _past(read_timeout, answer.started):  # the client's own timer fired first (a paced wait or delay)
                raise requests.exceptions.ReadTimeout(f"read timeout={read_timeout}", request=request)
            response = requests.Response()
            response.status_code = answer.status
            response.reason = answer.reason
            response.headers = structures.CaseInsensitiveDict(answer.headers)
            response.encoding = utils.get_encoding_from_headers(response.headers)
            response.raw = urllib3.HTTPResponse(
                body=io.BytesIO(answer.body), headers=answer.headers, status=answer.status, reason=answer.reason,
                preload_content=False, decode_content=False, request_method=request.method, request_url=request.url)
            response.url = request.url
            response.request = request
            response.connection = self
            return response

        def close(self) -> None:
            """Nothing to close: no connection was opened."""

    adapter = InProcessAdapter()
    stack.callback(adapter.close)

    def get_adapter(session: Any, url: str) -> Any:
        if redirect.takes_url(url):
            return adapter
        return genuine(session, url)

    genuine_settings = requests.Session.merge_environment_settings

    def merge_environment_settings(session: Any, url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        # An in-process call goes through no proxy and no TLS: the environment's proxy and CA settings do not
        # apply, and reading them (two scans of os.environ) was a quarter of an in-process poll's time.
        if redirect.takes_url(url):
            return {"proxies": {}, "stream": session.stream if stream is None else stream, "verify": False,
                    "cert": None}
        settings: dict[str, Any] = genuine_settings(session, url, proxies, stream, verify, cert)
        return settings

    return [_patch(stack, requests.Session, "get_adapter", get_adapter, "requests.Session.get_adapter", redirect),
            _patch(stack, requests.Session, "merge_environment_settings", merge_environment_settings,
                   "requests.Session.merge_environment_settings", redirect)]


def _httplib2(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    httplib2 = _module("httplib2")
    if httplib2 is None:
        return []
    genuine = httplib2.Http.request

    def request(http: Any, uri: str, method: str = "GET", body: Any = None, headers: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        if not redirect.takes_url(uri):
            return genuine(http, uri, method, body, headers, *args, **kwargs)
        uri = httplib2.iri2uri(uri)  # as the genuine method does first: a URL with non-ASCII characters is encoded
        answer = serve(redirect.app, method, uri, dict(headers or {}), body_bytes(body), http.timeout)
        if _past(http.timeout, answer.started):
            raise TimeoutError(f"timed out after {http.timeout} s")
        info = {name.lower(): value for name, value in answer.headers}
        info["status"] = str(answer.status)
        response = httplib2.Response(info)
        response.reason = answer.reason
        return response, answer.body

    return [_patch(stack, httplib2.Http, "request", request, "httplib2.Http.request", redirect)]


def _aiohttp(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    aiohttp = _module("aiohttp")
    if aiohttp is None:
        return []
    yarl = importlib.import_module("yarl")  # aiohttp's URL type
    genuine = aiohttp.ClientSession._request

    def _request(session: Any, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
        # What the session will reach: a relative URL joins its base_url first.
        build = getattr(session, "_build_url", None)
        target = build(str_or_url) if build is not None else yarl.URL(str(str_or_url))
        if redirect.takes_url(str(target)):
            str_or_url = yarl.URL(redirect.url()).with_path(target.raw_path, encoded=True) \
                .with_query(target.raw_query_string)
            kwargs.pop("ssl", None)  # a TLS setting for the real host; the emulator speaks plain HTTP on loopback
            headers = kwargs.get("headers")
            if headers is not None:  # a Host naming Google's host would be refused by a loopback server as foreign
                items = headers.items() if hasattr(headers, "items") else headers
                kwargs["headers"] = [(name, value) for name, value in items if str(name).lower() != "host"]
            # The session's base_url would be joined again to the absolute loopback URL: aiohttp refuses that.
            if build is not None and getattr(session, "_base_url", None) is not None:
                return _without_base(session, genuine, method, str_or_url, *args, **kwargs)
        return genuine(session, method, str_or_url, *args, **kwargs)

    return [_patch(stack, aiohttp.ClientSession, "_request", _request, "aiohttp.ClientSession._request", redirect)]


def _grpc(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    grpc = _module("grpc")
    if grpc is None:
        return []
    aio = importlib.import_module("grpc.aio")
    genuine, genuine_aio = grpc.secure_channel, aio.secure_channel

    def secure_channel(target: str, credentials: Any, options: Any = None, compression: Any = None) -> Any:
        if not redirect.takes_host(grpc_host(target)):
            return genuine(target, credentials, options, compression)
        return grpc.insecure_channel(redirect.grpc_target(), options, compression)

    def aio_secure_channel(target: str, credentials: Any, options: Any = None, compression: Any = None,
                           interceptors: Any = None) -> Any:
        if not redirect.takes_host(grpc_host(target)):
            return genuine_aio(target, credentials, options, compression, interceptors)
        return aio.insecure_channel(redirect.grpc_target(), options, compression, interceptors)

    return [_patch(stack, grpc, "secure_channel", secure_channel, "grpc.secure_channel", redirect),
            _patch(stack, aio, "secure_channel", aio_secure_channel, "grpc.aio.secure_channel", redirect)]


async def _without_base(session: Any, genuine: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
    base, session._base_url = session._base_url, None
    try:
        return await genuine(session, method, url, *args, **kwargs)
    finally:
        session._base_url = base


def _resolver(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    """A lookup of an intercepted host's address fails: a library not redirected here must not reach Google."""
    genuine = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if isinstance(name, str) and redirect.takes_host(name):
            raise socket.gaierror(socket.EAI_NONAME, f"lro-emulator intercepts {name}, and this client reaches it "
                                  "through a library interception does not redirect (requests, httplib2, aiohttp, "
                                  "grpcio's secure channels are); it is refused rather than sent to Google")
        return genuine(host, *args, **kwargs)

    return [_patch(stack, socket, "getaddrinfo", getaddrinfo, "socket.getaddrinfo", redirect)]


def _past(timeout: float | None, started: float) -> bool:
    """Whether ``timeout`` real seconds have passed since ``started`` (``time.monotonic()``)."""
    return timeout is not None and time.monotonic() - started >= timeout


def _google_auth(stack: contextlib.ExitStack, redirect: Redirect) -> Iterable[str]:
    auth = _module("google.auth")
    if auth is None:
        return []
    from .credentials import emulator_credentials_class

    credentials_class = emulator_credentials_class()
    genuine = auth.default

    def default(scopes: Any = None, request: Any = None, quota_project_id: str | None = None,
                default_scopes: Any = None) -> tuple[Any, Any]:
        if not redirect.active:
            return genuine(scopes, request, quota_project_id, default_scopes)  # type: ignore[no-any-return]
        return credentials_class(quota_project_id or redirect.project), redirect.project

    return [_patch(stack, auth, "default", default, "google.auth.default", redirect)]
