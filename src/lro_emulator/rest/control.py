"""The control plane: the emulator's own actions as JSON in and out, for harnesses in any language.

The REST transport serves these under ``/_emulator/`` (`routes.CONTROL_ROUTES`); each is also a
Python call on `Emulator` (docs/reference/control-plane.md maps one to the other). Requests are checked against
``control.schema.json`` and ``scenario.schema.json`` before anything changes; answers are checked
too, and an answer that fails its schema is the emulator's bug (INTERNAL, and a problem that fails
the test).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..core.calls import Call
from ..core.clock import Pacing
from ..core.scenario import LoadedScenario, Scenario, ScenarioError
from ..wire.codes import Code
from ..wire.errors import StatusError
from ..wire.proto3_json import JSON, format_timestamp, parse_timestamp, to_timedelta
from ..wire.routes import ALL_ROUTES
from ..wire.validation import SchemaViolation
from .openapi import openapi_document

if TYPE_CHECKING:
    from datetime import datetime

    from ..core.state import EmulatorState
    from ..wire.profiles import Profile

__all__ = ["ControlPlane", "Controlled"]

_SCHEMA_OF = {route.endpoint: route for route in ALL_ROUTES}


class Controlled(Protocol):
    """What the control plane drives: `Emulator` is one."""

    @property
    def state(self) -> EmulatorState:
        """The current state (caught up with real time when paced)."""

    @property
    def pacing(self) -> Pacing | None:
        """How the clock moves by itself, if it does."""

    def reset(self, *, start: datetime | str | None = None, profile: str | Profile | None = None) -> None:
        """Fresh state."""

    def load_scenario(self, source: str | os.PathLike[str] | Mapping[str, Any] | Scenario) -> LoadedScenario:
        """Load a scenario, all or nothing."""

    def addresses(self) -> dict[str, str]:
        """Where the emulator serves: ``{"http": url, "grpc": target}`` as far as it does."""

    def report(self, call: Call) -> None:
        """Tell observers of a request answered; control-plane requests are never in the call log."""


class ControlPlane:
    """The control actions of one emulator. Each method takes the request's JSON and returns the answer's."""

    def __init__(self, target: Controlled, *, token: str | None = None) -> None:
        self._target = target
        self._token = token

    def admit(self, authorization: str | None) -> None:
        """UNAUTHENTICATED unless the request carries the control token, when the emulator has one.

        The Operations API has its own credentials (`Emulator.require_auth`); this token guards the control plane,
        which can read every call and reset, load or move everything.
        """
        if self._token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        # werkzeug reads header values as latin-1; the token is printable ASCII (see Emulator), so any other
        # character already differs.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("latin-1", "replace"),
                                                                 self._token.encode()):
            said = "no Authorization header" if authorization is None else "another credential"
            raise StatusError(Code.UNAUTHENTICATED,
                              f"the control plane needs Authorization: Bearer <its control token> (the token given "
                              f"as --control-token or Emulator(control_token=...)); the request sent {said}",
                              reason="CONTROL_TOKEN_REQUIRED")

    def status(self, query: Mapping[str, Any]) -> JSON:
        """``GET /_emulator/v1``: profile, methods, clock, counts and addresses."""
        state = self._target.state
        pacing = self._target.pacing
        clock: JSON = {"mode": "virtual" if pacing is None else pacing.mode}
        if pacing is not None and pacing.speed is not None:
            clock["speed"] = pacing.speed
        document: JSON = {
            "profile": state.profile.name,
            "rpcs": sorted(state.profile.rpcs),
            "time": format_timestamp(state.clock.now()),
            "clock": clock,
            "operations": len(state.store),
            "calls": len(state.calls),
            **self._target.addresses(),
        }
        return self._answer("control_status", document)

    def openapi(self, root_url: str, query: Mapping[str, Any]) -> JSON:
        """``GET /_emulator/openapi.json``: the OpenAPI document of the emulated API and of this control plane."""
        return openapi_document(self._target.state.schemas, server_url=root_url.rstrip("/"))

    def create_operation(self, body: JSON) -> JSON:
        """``POST /_emulator/v1/operations``: one operation with its timeline; the Operation as served now."""
        loaded = self._load({"operations": [body]}, "the operation", strip="/operations/0")
        return self._answer("control_create", loaded.operations[0].snapshot())

    def load_scenario(self, body: JSON | bytes | str) -> JSON:
        """``POST /_emulator/v1/scenario:load``: a whole scenario (data, or YAML or JSON text), all or nothing."""
        loaded = self._load(body, "the scenario")
        document: JSON = {
            "operations": [operation.name for operation in loaded.operations],
            "starts": [starter.rpc for starter in loaded.starters],
        }
        return self._answer("control_load", document)

    def clock(self, query: Mapping[str, Any]) -> JSON:
        """``GET /_emulator/v1/clock``."""
        return self._answer("control_clock", {"time": format_timestamp(self._target.state.clock.now())})

    def advance(self, body: JSON) -> JSON:
        """``POST /_emulator/v1/clock:advance`` ``{"duration": "90s"}``."""
        self._request("control_advance", body)
        clock = self._target.state.clock
        try:
            clock.advance(to_timedelta(body["duration"], what="duration"))
        except ValueError as error:
            raise StatusError.bad_request(str(error), field="duration") from None
        return self.clock({})

    def set_time(self, body: JSON) -> JSON:
        """``POST /_emulator/v1/clock:set`` ``{"time": "2030-01-01T01:00:00Z"}``."""
        self._request("control_set", body)
        clock = self._target.state.clock
        try:
            when = parse_timestamp(body["time"])
        except ValueError as error:  # the pattern passes a date that does not exist, such as February 30th
            raise StatusError.bad_request(str(error), field="time") from None
        try:
            clock.set(when)
        except ValueError as error:
            raise StatusError(Code.FAILED_PRECONDITION, str(error), reason="CLOCK_MOVES_FORWARD") from None
        return self.clock({})

    def calls(self, query: Mapping[str, Any]) -> JSON:
        """``GET /_emulator/v1/calls?since=N``: the call log from index N (default 0) on."""
        since = query.get("since", 0)
        if since < 0:
            raise StatusError.bad_request(f"since must be 0 or more, got {since}", field="since")
        log = self._target.state.calls
        calls, dropped = list(log), log.dropped  # indexes count every call since the reset, dropped ones too
        document: JSON = {"next": dropped + len(calls)}
        if dropped:
            document["dropped"] = dropped
        kept = calls[max(since - dropped, 0):]
        if kept:
            document["calls"] = [_call_json(call) for call in kept]
        return self._answer("control_calls", document)

    def reset(self, body: JSON) -> JSON:
        """``POST /_emulator/v1:reset`` ``{"profile": ..., "start": ...}`` (both optional)."""
        self._request("control_reset", body)
        try:
            self._target.reset(start=body.get("start"), profile=body.get("profile"))
        except ValueError as error:
            raise StatusError.bad_request(str(error), field="start") from None
        return self.status({})

    def report(self, call: Call) -> None:
        """Pass a control-plane request on to the emulator's observers (it is not a call of the client)."""
        self._target.report(call)

    # -- helpers -------------------------------------------------------------------------------------

    def _load(self, document: JSON | bytes | str, what: str, *, strip: str = "") -> LoadedScenario:
        try:
            if isinstance(document, (bytes, str)):
                scenario = Scenario.from_text(document, source=what)
            else:
                scenario = Scenario.from_document(document, source=what)
            return self._target.load_scenario(scenario)
        except ScenarioError as error:
            violations = [
                {"field": _relative(problem.pointer, strip) or "body",
                 "description": (f"line {problem.line}: " if problem.line else "") + problem.message}
                for problem in error.problems
            ]
            first = error.problems[0]
            line = f"line {first.line}: " if first.line else ""
            message = f"{what} was not loaded: {line}{_relative(first.pointer, strip) or '/'}: {first.message}"
            if len(error.problems) > 1:
                message += f" (and {len(error.problems) - 1} more fault(s); see the details)"
            raise StatusError(
                Code.INVALID_ARGUMENT, message, reason="INVALID_SCENARIO",
                details=[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}],
            ) from None

    def _request(self, endpoint: str, body: JSON) -> None:
        schema = _SCHEMA_OF[endpoint].request
        assert schema is not None
        try:
            self._target.state.schemas.validate(schema, body)
        except SchemaViolation as violation:
            raise StatusError.bad_request(violation.message, field=violation.pointer.lstrip("/") or "body") from None

    def _answer(self, endpoint: str, document: JSON) -> JSON:
        schema = _SCHEMA_OF[endpoint].response
        assert schema is not None
        state = self._target.state
        try:
            state.schemas.validate(schema, document)
        except SchemaViolation as violation:
            state.problems.append(violation)
            raise StatusError(Code.INTERNAL, f"the emulator produced an answer that violates its schema: {violation}",
                           reason="RESPONSE_SCHEMA_VIOLATION") from None
        return document


def _relative(pointer: str, prefix: str) -> str:
    """``pointer`` inside the part of the document the request sent (create_operation sends one operation)."""
    return pointer[len(prefix):] if prefix and pointer.startswith(prefix) else pointer


#: What the control plane never shows of a call: anyone who can read the log must not learn the credentials.
_SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "proxy-authorization", "cookie"})
_SECRET_PARAMETERS = frozenset({"key", "access_token", "oauth_token"})
_REDACTED = "(redacted)"


def _call_json(call: Call) -> JSON:
    document: JSON = {
        "transport": call.transport,
        "method": call.method,
        "path": call.path,
        "status": call.status,
        "code": call.code,
        "time": format_timestamp(call.time),
        "headers": {key: _REDACTED if key in _SECRET_HEADERS else value for key, value in call.headers.items()},
        "query": {key: _REDACTED if key in _SECRET_PARAMETERS else value for key, value in call.query.items()},
    }
    if call.rpc is not None:
        document["rpc"] = call.rpc
    if call.name is not None:
        document["name"] = call.name
    if call.body is not None:
        document["body"] = call.body
    if call.fault is not None:
        document["fault"] = call.fault.describe()
        document["validated"] = call.validated
    return document
