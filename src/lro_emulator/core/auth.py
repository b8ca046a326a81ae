"""Optional authentication: bearer tokens and API keys, as Google's front end checks them.

Off unless asked for (``emu.require_auth(...)`` or the marker's ``auth=``). A call with no
credentials, or with ones the emulator does not know, is UNAUTHENTICATED (what makes google-auth
refresh a token); known credentials listed as forbidden are PERMISSION_DENIED.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from ..wire.codes import Code
from ..wire.errors import ScriptError, StatusError

__all__ = ["AuthPolicy"]


@dataclasses.dataclass(frozen=True)
class AuthPolicy:
    """Which credentials a call must carry: one of ``tokens`` (``Authorization: Bearer``) or ``api_keys``.

    ``forbidden`` credentials (tokens or keys) are valid ones that lack permission.
    """

    tokens: frozenset[str] = frozenset()
    api_keys: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        token: str | Iterable[str] | None = None,
        api_key: str | Iterable[str] | None = None,
        forbidden: str | Iterable[str] = (),
    ) -> AuthPolicy:
        """A policy from one credential or several of each kind; `ScriptError` for anything else."""
        __tracebackhide__ = True
        tokens, keys, denied = (_strings(label, value) for label, value in
                                (("token", token), ("api_key", api_key), ("forbidden", forbidden)))
        if not tokens and not keys:
            raise ScriptError("require_auth() needs token= or api_key= (or both): the credentials calls must carry")
        return cls(tokens, keys, denied)

    def check(self, rpc: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
        """Raise UNAUTHENTICATED or PERMISSION_DENIED unless the call (lower-case ``headers``) may go on."""
        authorization = headers.get("authorization")
        key = headers.get("x-goog-api-key", query.get("key"))
        credential: str | None = None
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise self._unauthenticated(f"Request had invalid authentication credentials: the Authorization "
                                            f"header must be 'Bearer <token>', got {_shown(authorization)}.",
                                            reason="ACCESS_TOKEN_TYPE_UNSUPPORTED")
            credential = token.strip()
            if credential not in self.tokens and credential not in self.forbidden:
                raise self._unauthenticated(f"Request had invalid authentication credentials: the bearer token "
                                            f"{_shown(credential)} is expired, revoked or was never issued.",
                                            reason="ACCESS_TOKEN_INVALID")
        elif key is not None:
            credential = key
            if key not in self.api_keys and key not in self.forbidden:
                raise self._unauthenticated(f"API key not valid: {_shown(key)}. Please pass a valid API key.",
                                            reason="API_KEY_INVALID")
        else:
            kinds = " or ".join(kind for kind, known in (("an 'Authorization: Bearer <token>' header", self.tokens),
                                                        ("an API key (x-goog-api-key header or key= query "
                                                         "parameter)", self.api_keys)) if known)
            raise self._unauthenticated(f"Request is missing required authentication credential: {rpc} needs "
                                        f"{kinds}.", reason="CREDENTIALS_MISSING")
        if credential in self.forbidden:
            raise StatusError(Code.PERMISSION_DENIED, f"the caller does not have permission to call {rpc}",
                           reason="IAM_PERMISSION_DENIED", metadata={"permission": rpc})

    @staticmethod
    def _unauthenticated(message: str, *, reason: str) -> StatusError:
        return StatusError(Code.UNAUTHENTICATED, message, reason=reason)


def _strings(label: str, value: str | Iterable[str] | None) -> frozenset[str]:
    __tracebackhide__ = True
    if value is None:
        return frozenset()
    items: list[object] = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    if not all(isinstance(item, str) and item.strip() and item == item.strip() for item in items):
        raise ScriptError(f"require_auth({label}=) takes non-empty strings without surrounding spaces, got {value!r}")
    return frozenset(str(item) for item in items)


def _shown(secret: str) -> str:
    """A credential as an error message may show it: enough to recognise, never the whole of a long one."""
    return repr(secret if len(secret) <= 12 else secret[:6] + "…")
