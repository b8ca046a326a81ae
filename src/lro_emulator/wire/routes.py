"""The one route table of the REST surface, as plain data: the paths real clients call (docs/reference/rest.md).

Every transport or generated document (werkzeug rules, later discovery and OpenAPI) is built from
this table. Placeholders name a converter: ``version`` is any API version segment, ``operation`` an
operation name (``**/operations/**``), ``collection`` the parent of a list.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = [
    "ALL_ROUTES",
    "CONTROL_PREFIX",
    "CONTROL_ROUTES",
    "CONVERTER_PATTERNS",
    "NAME_SEGMENT",
    "RESERVED_PREFIXES",
    "ROUTES",
    "SERVICE_ROUTES",
    "STANDARD_QUERY_PARAMETERS",
    "TEMPLATE_SEGMENT",
    "Route",
]


@dataclasses.dataclass(frozen=True)
class Route:
    """One HTTP binding of an Operations RPC."""

    rpc: str
    method: str
    rule: str  # werkzeug rule syntax: /<converter:argument>
    endpoint: str
    #: The JSON Schemas of the request body and the answer (a schema's name, or ``name#/$defs/part``).
    request: str | None = None
    response: str | None = None
    summary: str = ""
    #: The query parameters it takes besides Google's standard ones, in camelCase: (name, kind), the kind
    #: one of string, integer, count (an integer, never negative), boolean, duration.
    query: tuple[tuple[str, str], ...] = ()

    @property
    def template(self) -> str:
        """The rule in HTTP-rule syntax, as the REST reference writes it (``/{version}/{name=**}``)."""
        text = self.rule
        for converter, pattern in (("version", "{version}"), ("operation", "{name=**/operations/**}"),
                                   ("collection", "{name=**}")):
            text = text.replace(f"<{converter}:{_ARG[converter]}>", pattern)
        return re.sub(r"<(\w+)>", r"{\1}", text)  # one-segment arguments


_ARG = {"version": "version", "operation": "name", "collection": "parent"}

#: One segment of a name the emulator serves (an operation, a collection it lists), as a regular expression:
#: no slash; no colon, which starts a custom verb (``name:cancel``); no whitespace, which no real name holds,
#: so ``operations/op%201`` is NOT_FOUND. The route table and the profiles both spell segments with it.
NAME_SEGMENT = r"[^/:\s]+"
#: What ``*`` matches in the google.api.http path of a starting method a test declares: one segment, no slash
#: and no colon (the custom verb), but whitespace allowed. That path belongs to the test's own service, whose
#: resource names the emulator does not judge; the parent an operation is created under is checked apart.
TEMPLATE_SEGMENT = r"[^/:]+"

#: Regular expressions of the placeholders (no capturing groups; no colon, which starts a custom verb).
CONVERTER_PATTERNS = {
    # ui: Vertex AI's generated clients bind the Operations mixin under /ui/ first, and poll there.
    "version": r"(?:v\d+[a-z0-9]*|ui)",
    "operation": rf"(?:{NAME_SEGMENT}/)*operations(?:/{NAME_SEGMENT})+",
    "collection": rf"{NAME_SEGMENT}(?:/{NAME_SEGMENT})*",
}

_LIST_QUERY = (("filter", "string"), ("pageSize", "count"), ("pageToken", "string"),
               ("returnPartialSuccess", "boolean"))

ROUTES = (
    Route("GetOperation", "GET", "/<version:version>/<operation:name>", "get",
          response="operation", summary="The latest state of an operation; clients poll it."),
    Route("ListOperations", "GET", "/<version:version>/<collection:parent>/operations", "list",
          response="list-operations-response", summary="The operations of a collection that match a filter, paged.",
          query=_LIST_QUERY),
    Route("ListOperations", "GET", "/<version:version>/operations", "list_global",
          response="list-operations-response", summary="The global operations/* collection, paged.",
          query=(("name", "string"), *_LIST_QUERY)),
    Route("CancelOperation", "POST", "/<version:version>/<operation:name>:cancel", "cancel",
          request="cancel-operation-request", response="empty",
          summary="Ask for the operation to be cancelled: best effort, and it is not deleted."),
    Route("DeleteOperation", "DELETE", "/<version:version>/<operation:name>", "delete",
          response="empty", summary="Forget the operation (it is not cancelled)."),
    Route("WaitOperation", "POST", "/<version:version>/<operation:name>:wait", "wait",
          request="wait-operation-request", response="operation",
          summary="Return once the operation is done or the timeout passed (it may return early).",
          query=(("timeout", "duration"),)),
)

#: What a real service serves beside its Operations methods, so that discovery-based clients and
#: Earth Engine's ``ee.Initialize`` work: the discovery document (both of Google's paths to it) and
#: the one Earth Engine call ``ee.Initialize`` makes before any operation (listing the public algorithms).
SERVICE_ROUTES = (
    Route("GetDiscoveryDocument", "GET", "/$discovery/rest", "discovery",
          summary="The discovery document of the profile's operations resource.", query=(("version", "string"),)),
    Route("GetDiscoveryDocument", "GET", "/discovery/v1/apis/<api>/<version:version>/rest", "discovery_v1",
          summary="The discovery document, by API name and version."),
    Route("ListAlgorithms", "GET", "/<version:version>/projects/<project>/algorithms", "algorithms",
          summary="Earth Engine profile only: the algorithms ee.Initialize reads.",
          query=(("pageSize", "integer"), ("pageToken", "string"), ("view", "string"))),
)

#: The emulator's own control plane lives under this prefix. API versions are ``v`` and digits and
#: never start with an underscore, so no Operations route can reach it, and `on_start` refuses
#: HTTP rules under it.
CONTROL_PREFIX = "/_emulator"

CONTROL_ROUTES = (
    Route("GetEmulator", "GET", f"{CONTROL_PREFIX}/v1", "control_status", response="control#/$defs/emulator",
          summary="What the emulator serves and where its clock stands."),
    Route("GetOpenApi", "GET", f"{CONTROL_PREFIX}/openapi.json", "control_openapi",
          summary="This OpenAPI document: the emulated API and the control plane."),
    Route("CreateOperation", "POST", f"{CONTROL_PREFIX}/v1/operations", "control_create",
          request="scenario#/$defs/operation", response="operation",
          summary="Create an operation with its timeline (a scenario's operation); answers it as served now."),
    Route("LoadScenario", "POST", f"{CONTROL_PREFIX}/v1/scenario:load", "control_load",
          request="scenario", response="control#/$defs/loadScenarioResponse",
          summary="Load a scenario document (JSON, or YAML as application/yaml); all or nothing."),
    Route("GetClock", "GET", f"{CONTROL_PREFIX}/v1/clock", "control_clock", response="control#/$defs/clock",
          summary="The virtual clock's reading."),
    Route("AdvanceClock", "POST", f"{CONTROL_PREFIX}/v1/clock:advance", "control_advance",
          request="control#/$defs/advanceClockRequest", response="control#/$defs/clock",
          summary="Move the virtual clock forward."),
    Route("SetClock", "POST", f"{CONTROL_PREFIX}/v1/clock:set", "control_set",
          request="control#/$defs/setClockRequest", response="control#/$defs/clock",
          summary="Move the virtual clock to an instant (never backwards)."),
    Route("ListCalls", "GET", f"{CONTROL_PREFIX}/v1/calls", "control_calls",
          response="control#/$defs/listCallsResponse",
          summary="The call log from index `since` on, without the control plane's own calls.",
          query=(("since", "count"),)),
    Route("Reset", "POST", f"{CONTROL_PREFIX}/v1:reset", "control_reset",
          request="control#/$defs/resetRequest", response="control#/$defs/emulator",
          summary="Forget everything and restart the clock."),
)

#: Paths the emulator answers itself: a declared starting method may not bind a path under them.
RESERVED_PREFIXES = (CONTROL_PREFIX, "/$discovery", "/discovery/v1/")

#: Every HTTP route the emulator serves: the Operations API first, then the service extras and the control plane.
ALL_ROUTES = ROUTES + SERVICE_ROUTES + CONTROL_ROUTES

#: System parameters Google clients add to any request; the server ignores them.
STANDARD_QUERY_PARAMETERS = frozenset({
    "$.xgafv", "$alt", "access_token", "alt", "callback", "fields", "key", "oauth_token", "prettyPrint",
    "quotaUser", "uploadType", "upload_protocol", "userIp",
})
