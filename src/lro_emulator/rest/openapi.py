"""The OpenAPI 3.1 document of everything the emulator serves over REST, built from the route table.

One source of truth: the paths come from `routes.ALL_ROUTES` (the Operations API, the service
extras and the control plane), the schemas are the package's JSON Schemas, embedded as components
with their cross-file references rewritten to component references.
"""

from __future__ import annotations

import re
from typing import Any

from ..wire.codes import Code
from ..wire.proto3_json import JSON
from ..wire.routes import ALL_ROUTES, CONTROL_ROUTES, CONVERTER_PATTERNS, ROUTES, Route
from ..wire.validation import Schemas

__all__ = ["openapi_document"]

_COMPONENTS = "#/components/schemas/"
_SUFFIX = ".schema.json"
_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
_QUERY_SCHEMAS: dict[str, JSON] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "count": {"type": "integer", "format": "int32", "minimum": 0},
    "boolean": {"type": "boolean"},
    "duration": {"$ref": _COMPONENTS + "duration"},
}


def openapi_document(schemas: Schemas, *, server_url: str | None = None) -> JSON:
    """The OpenAPI 3.1 document; ``server_url`` (the emulator's address) becomes its one server."""
    paths: dict[str, JSON] = {}
    for route in ALL_ROUTES:
        path, parameters = _path(route)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, parameters)
    document: JSON = {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "lro-emulator",
            "summary": "Google's long-running Operations API, emulated on a virtual clock, and its control plane.",
            "version": "v1",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {"schemas": {name: _component(schemas, name) for name in schemas.names}},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _tag(route: Route) -> str:
    if route in ROUTES:
        return "Operations"
    return "Control plane" if route in CONTROL_ROUTES else "Service"


def _path(route: Route) -> tuple[str, list[JSON]]:
    """``/<version:version>/<operation:name>`` as ``/{version}/{name}``, with its path parameters."""
    parameters: list[JSON] = []

    def placeholder(found: re.Match[str]) -> str:
        converter, name = found.group(1), found.group(2)
        schema: JSON = {"type": "string"}
        if converter in CONVERTER_PATTERNS:
            schema["pattern"] = f"^{CONVERTER_PATTERNS[converter]}$"
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _ARGUMENT.sub(placeholder, route.rule), parameters


def _operation(route: Route, parameters: list[JSON]) -> JSON:
    query = [{"name": name, "in": "query", "required": False, "schema": _QUERY_SCHEMAS[kind]}
             for name, kind in route.query]
    answer = {"$ref": _reference(route.response)} if route.response else {"type": "object"}
    operation: JSON = {
        "operationId": route.endpoint,
        "summary": route.summary or route.rpc,
        "tags": [_tag(route)],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
            **{str(status): _error_response(status) for status in _error_statuses(route)},
        },
    }
    if parameters or query:
        operation["parameters"] = parameters + query
    if route.request:
        content: JSON = {"application/json": {"schema": {"$ref": _reference(route.request)}}}
        if route.endpoint == "control_load":
            content["application/yaml"] = {"schema": {"$ref": _reference(route.request)}}
        # Clients send cancel and wait with no body at all; an empty body means {}.
        operation["requestBody"] = {"required": route.rpc in ("CreateOperation", "LoadScenario", "AdvanceClock",
                                                              "SetClock"),
                                    "content": content}
    return operation


def _error_statuses(route: Route) -> list[int]:
    """The HTTP statuses ``route`` may answer an error with.

    The control plane answers bad requests (400: INVALID_ARGUMENT, FAILED_PRECONDITION), a missing control
    token (401), a web page's request on loopback (403), wrong methods (404, as Google's frontends do), its own
    failures (500) and, like every route, a connection past the server's cap while all are busy (503). The
    emulated API may answer any google.rpc code: a scripted fault chooses it.
    """
    if route in CONTROL_ROUTES:
        return [400, 401, 403, 404, 500, 503]
    return sorted({code.http_status for code in Code if code is not Code.OK})


def _error_response(status: int) -> JSON:
    codes = ", ".join(code.name for code in Code if code.http_status == status and code is not Code.OK)
    return {
        "description": f"An AIP-193 error envelope: {codes}",
        "content": {"application/json": {"schema": {"$ref": _COMPONENTS + "error-envelope"}}},
    }


def _reference(name: str) -> str:
    """``control#/$defs/clock`` as ``#/components/schemas/control/$defs/clock``."""
    base, _, fragment = name.partition("#")
    return _COMPONENTS + base + fragment


def _component(schemas: Schemas, name: str) -> JSON:
    document = schemas.document(name)
    document.pop("$schema", None)
    document.pop("$id", None)
    rewritten: JSON = _rewrite(document, name)
    return rewritten


def _rewrite(node: Any, name: str) -> Any:
    """Every ``$ref`` as a reference into the components (``status.schema.json`` -> the status component)."""
    if isinstance(node, dict):
        result = {key: _rewrite(value, name) for key, value in node.items()}
        reference = node.get("$ref")
        if isinstance(reference, str):
            target, _, fragment = reference.partition("#")
            base = target.removesuffix(_SUFFIX) if target else name
            result["$ref"] = _COMPONENTS + base + fragment
        return result
    if isinstance(node, list):
        return [_rewrite(item, name) for item in node]
    return node
