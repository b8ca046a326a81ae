"""The real Operations clients the contract covers, behind one small async interface.

google-api-core has four: REST and gRPC, each sync and async. Their calls differ only in spelling
(``await`` or not, pagers that are async iterators or not) and in a few documented ways, which
are stated here once (`expected_error`, `future_error`) so that every scenario is written once and
runs against all four. Sync clients are called directly from the async test: they block the loop,
which they never need.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import grpc
from google.api_core import exceptions, operation, operation_async, operations_v1
from google.longrunning import operations_pb2

from lro_emulator import Code, Emulator

#: Every client kind, as ``{transport}`` or ``{transport}-async``.
KINDS = ("rest", "grpc", "rest-async", "grpc-async")
SYNC_KINDS = ("rest", "grpc")
REST_KINDS = ("rest", "rest-async")


@dataclasses.dataclass
class OperationsClientUnderTest:
    """One real client of one kind, with its futures, closed by `close`."""

    kind: str
    client: Any
    closers: list[Callable[[], Any]]

    @property
    def transport(self) -> str:
        """``"http"`` or ``"grpc"``, as the emulator's call log names it."""
        return "http" if self.kind.startswith("rest") else "grpc"

    @property
    def is_async(self) -> bool:
        """Whether the client's calls are coroutines."""
        return self.kind.endswith("-async")

    async def _call(self, value: Any) -> Any:
        return await value if self.is_async else value

    async def get(self, name: str) -> operations_pb2.Operation:
        """GetOperation."""
        return await self._call(self.client.get_operation(name))

    async def pages(self, parent: str, filter_: str = "", page_size: int | None = None) -> list[list[str]]:
        """ListOperations, every page, as the names on each."""
        kwargs = {} if page_size is None else {"page_size": page_size}
        pager = await self._call(self.client.list_operations(parent, filter_, **kwargs))
        if self.is_async:
            return [_names(page) async for page in pager.pages]
        return [_names(page) for page in pager.pages]

    async def names(self, parent: str, filter_: str = "") -> list[str]:
        """ListOperations, every matching name in order."""
        return [name for page in await self.pages(parent, filter_) for name in page]

    async def cancel(self, name: str) -> None:
        """CancelOperation."""
        await self._call(self.client.cancel_operation(name))

    async def delete(self, name: str) -> None:
        """DeleteOperation."""
        await self._call(self.client.delete_operation(name))

    async def future(self, name: str, result_type: Any, metadata_type: Any = None) -> Future:
        """The Operation future of ``from_gapic``, over this client."""
        kwargs = {} if metadata_type is None else {"metadata_type": metadata_type}
        module = operation_async if self.is_async else operation
        inner = module.from_gapic(await self.get(name), self.client, result_type, **kwargs)
        return Future(inner, self.is_async)

    def expected_error(self, code: Code) -> type[exceptions.GoogleAPICallError]:
        """The exception a failed *call* raises: over REST its class comes from the HTTP status alone."""
        if self.transport == "http":
            return type(exceptions.from_http_status(code.http_status, ""))
        return exceptions.exception_class_for_grpc_status(grpc.StatusCode[code.name])

    def future_error(self, code: Code) -> type[exceptions.GoogleAPICallError]:
        """The exception a future of a failed *operation* raises: sync futures map the code, async ones do not."""
        if self.is_async:
            return exceptions.GoogleAPICallError
        return exceptions.exception_class_for_grpc_status(grpc.StatusCode[code.name])

    async def close(self) -> None:
        """Close channels and sessions."""
        for closer in reversed(self.closers):
            result = closer()
            if hasattr(result, "__await__"):
                await result


def _names(page: Any) -> list[str]:
    # REST pagers yield ListOperationsResponse pages; gRPC page iterators yield pages of Operations.
    return [op.name for op in getattr(page, "operations", page)]


@dataclasses.dataclass
class Future:
    """A sync or async google-api-core Operation future, awaited the same way."""

    inner: Any
    is_async: bool

    async def result(self, timeout: float) -> Any:
        """The response, or the operation's error raised."""
        value = self.inner.result(timeout=timeout)
        return await value if self.is_async else value

    async def cancel(self) -> bool:
        """Ask for cancellation (a GET, then a cancel if not done)."""
        value = self.inner.cancel()
        return bool(await value if self.is_async else value)

    async def cancelled(self) -> bool:
        """Whether the operation ended cancelled (another GET)."""
        value = self.inner.cancelled()
        return bool(await value if self.is_async else value)

    @property
    def metadata(self) -> Any:
        """The latest metadata, unpacked."""
        return self.inner.metadata


async def open_client(kind: str, emulator: Emulator) -> OperationsClientUnderTest:
    """A real client of ``kind`` pointed at ``emulator`` over loopback."""
    if kind == "rest":
        from google.api_core.operations_v1.transports.rest import OperationsRestTransport
        from google.auth.credentials import AnonymousCredentials

        # The scheme must be inside host: google-api-core's REST transport ignores url_scheme.
        transport = OperationsRestTransport(host=emulator.url, credentials=AnonymousCredentials())
        return OperationsClientUnderTest(kind, operations_v1.AbstractOperationsClient(transport=transport),
                                         [transport._session.close])
    if kind == "rest-async":
        from google.api_core.operations_v1.transports.rest_asyncio import AsyncOperationsRestTransport
        from google.auth.aio.credentials import AnonymousCredentials as AsyncAnonymousCredentials

        async_transport = AsyncOperationsRestTransport(host=emulator.url, credentials=AsyncAnonymousCredentials())
        client = operations_v1.AsyncOperationsRestClient(transport=async_transport)
        return OperationsClientUnderTest(kind, client, [async_transport._session.close])
    if kind == "grpc":
        channel = grpc.insecure_channel(emulator.grpc_target)
        return OperationsClientUnderTest(kind, operations_v1.OperationsClient(channel), [channel.close])
    if kind == "grpc-async":
        aio_channel = grpc.aio.insecure_channel(emulator.grpc_target)
        return OperationsClientUnderTest(kind, operations_v1.OperationsAsyncClient(aio_channel),
                                         [aio_channel.close])
    raise ValueError(f"unknown client kind {kind!r}")
