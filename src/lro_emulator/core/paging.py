"""AIP-158 paging: page sizes and opaque page tokens bound to the list they came from."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import re
import secrets

from ..wire.errors import StatusError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "PageToken", "page_size"]

#: The page size when a client asks for 0 or none (the AIP-158 example's value).
DEFAULT_PAGE_SIZE = 50
#: Larger requests are coerced down to this, as AIP-158 prescribes.
MAX_PAGE_SIZE = 1000
_TOKEN_VERSION = 1
_TOKEN = re.compile(rf"{_TOKEN_VERSION}\.([0-9]{{1,18}})\.([A-Za-z0-9_-]{{12}})")
_MAX_TOKEN_LENGTH = 64


def page_size(requested: int | None) -> int:
    """The effective page size for a request; negative sizes are INVALID_ARGUMENT."""
    if requested is None or requested == 0:
        return DEFAULT_PAGE_SIZE
    if requested < 0:
        raise StatusError.bad_request(
            f"pageSize must not be negative (got {requested}); use 0 or omit it for the default of "
            f"{DEFAULT_PAGE_SIZE}",
            field="pageSize",
        )
    return min(requested, MAX_PAGE_SIZE)


class PageToken:
    """Cursors into the store's stable order, bound by a keyed MAC to the state, parent and filter that issued them.

    A token carries the position of the last operation returned, not an offset, so operations added or deleted
    between pages never make a page skip or repeat one. Each state (each reset) draws its own secret ``key``: a
    token from before a reset, or rebound by a client to another parent or filter, fails its MAC.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _binding(self, after: int, parent: str, filter_text: str) -> str:
        message = f"{after}\x00{parent}\x00{filter_text}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()

    def encode(self, after: int, *, parent: str, filter_text: str) -> str:
        """An opaque, URL-safe token resuming after position ``after``."""
        payload = f"{_TOKEN_VERSION}.{after}.{self._binding(after, parent, filter_text)}"
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def decode(self, token: str, *, parent: str, filter_text: str) -> int:
        """The position a token resumes after; INVALID_ARGUMENT if it is not one of ours or belongs elsewhere."""
        match = None
        if len(token) <= _MAX_TOKEN_LENGTH:
            with contextlib.suppress(binascii.Error, ValueError):  # not base64 or not ASCII: not one of ours
                match = _TOKEN.fullmatch(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii"))
        if match is None:
            raise StatusError.bad_request(
                f"pageToken {token!r} is not a token this service issued; pass the nextPageToken of the "
                "previous page unchanged, or omit it for the first page",
                field="pageToken",
                reason="INVALID_PAGE_TOKEN",
            )
        after, binding = match.groups()
        if not hmac.compare_digest(binding, self._binding(int(after), parent, filter_text)):
            raise StatusError.bad_request(
                "pageToken was issued for a different parent or filter, or before the emulator was last reset; "
                "repeat the same parent and filter on every page, or start again without a token",
                field="pageToken",
                reason="INVALID_PAGE_TOKEN",
            )
        return int(after)
