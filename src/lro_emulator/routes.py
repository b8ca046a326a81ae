"""The one route table of the REST surface (wire-contract section 3), as plain data.

Every transport or generated document (werkzeug rules, later discovery and OpenAPI) is built from
this table. Placeholders name a converter: ``version`` is any API version segment, ``operation`` an
operation name (``**/operations/**``), ``collection`` the parent of a list.
"""

from __future__ import annotations

import dataclasses

__all__ = ["CONVERTER_PATTERNS", "ROUTES", "STANDARD_QUERY_PARAMETERS", "Route"]


@dataclasses.dataclass(frozen=True)
class Route:
    """One HTTP binding of an Operations RPC."""

    rpc: str
    method: str
    rule: str  # werkzeug rule syntax: /<converter:argument>
    endpoint: str

    @property
    def template(self) -> str:
        """The rule in HTTP-rule syntax, as the REST reference writes it (``/{version}/{name=**}``)."""
        text = self.rule
        for converter, pattern in (("version", "{version}"), ("operation", "{name=**/operations/**}"),
                                   ("collection", "{name=**}")):
            text = text.replace(f"<{converter}:{_ARG[converter]}>", pattern)
        return text


_ARG = {"version": "version", "operation": "name", "collection": "parent"}

#: Regular expressions of the placeholders (no capturing groups; no colon, which starts a custom verb).
CONVERTER_PATTERNS = {
    "version": r"v\d+[a-z0-9]*",
    "operation": r"(?:[^/:\s]+/)*operations(?:/[^/:\s]+)+",
    "collection": r"[^/:\s]+(?:/[^/:\s]+)*",
}

ROUTES = (
    Route("GetOperation", "GET", "/<version:version>/<operation:name>", "get"),
    Route("ListOperations", "GET", "/<version:version>/<collection:parent>/operations", "list"),
    Route("ListOperations", "GET", "/<version:version>/operations", "list_global"),
    Route("CancelOperation", "POST", "/<version:version>/<operation:name>:cancel", "cancel"),
    Route("DeleteOperation", "DELETE", "/<version:version>/<operation:name>", "delete"),
    Route("WaitOperation", "POST", "/<version:version>/<operation:name>:wait", "wait"),
)

#: System parameters Google clients add to any request; the server ignores them.
STANDARD_QUERY_PARAMETERS = frozenset({
    "$.xgafv", "$alt", "access_token", "alt", "callback", "fields", "key", "oauth_token", "prettyPrint",
    "quotaUser", "uploadType", "upload_protocol", "userIp",
})
