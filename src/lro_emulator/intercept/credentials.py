"""The credentials ``google.auth.default()`` returns while an interception is active."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["emulator_credentials_class"]


@functools.cache
def emulator_credentials_class() -> type[Any]:
    """`EmulatorCredentials`, defined on first use: google-auth is the user's dependency, not the emulator's."""
    from google.auth.credentials import AnonymousCredentials

    class EmulatorCredentials(AnonymousCredentials):
        """Anonymous credentials (no ``Authorization`` header) that carry a project and refresh without a network.

        Code under test reads the project from them as from application default credentials
        (``credentials.quota_project_id``, as Earth Engine does), and may refresh them to check they work:
        anonymous credentials proper refuse to refresh, which a machine without credentials should not make fail.
        """

        def __init__(self, quota_project_id: str | None = None) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self._quota_project_id = quota_project_id

        def refresh(self, request: Any) -> None:
            """Nothing to fetch: the emulator asks for no token unless a test requires one."""

        def with_quota_project(self, quota_project_id: str | None) -> EmulatorCredentials:
            """The same credentials for another project."""
            return EmulatorCredentials(quota_project_id)

        def __repr__(self) -> str:
            return f"<EmulatorCredentials project={self._quota_project_id!r}>"

    return EmulatorCredentials
