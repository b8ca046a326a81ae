"""Reading REST requests: the path as Google's templates see it, headers, query parameters and JSON bodies.

Every reader refuses what a real frontend refuses, with an AIP-193 error naming the field; the app
calls them from its handlers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request

from ..core.scenario import YAML_MEDIA_TYPES
from ..core.state import EmulatorState
from ..wire.errors import StatusError
from ..wire.proto3_json import JSON, camel_case
from ..wire.routes import STANDARD_QUERY_PARAMETERS
from ..wire.validation import SchemaViolation

__all__ = ["BODY_KEY", "body_bytes", "control_body", "headers_of", "json_object", "path_keeping_encoded_slashes",
           "read_body", "read_query", "shown"]

_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
# Where a request's parsed JSON body is kept for the call log (the WSGI environ is per request).
BODY_KEY = "lro_emulator.body"


def path_keeping_encoded_slashes(environ: Mapping[str, Any]) -> str | None:
    """The request's path with every ``%2F`` kept as the text ``%2F``, if it has one; otherwise None.

    WSGI servers decode the path, which would turn ``projects%2Fp`` into two segments. Google's path
    templates do not: an encoded slash is part of the segment it is in, so a name holding one is
    simply another name (and, as the real service answers, not found).
    """
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    path = raw.partition("?")[0]
    if "%2f" not in path.lower():
        return None
    parts = urlsplit(path)
    if parts.scheme or not path.startswith("/"):  # absolute form: http://host/path
        path = parts.path
    kept = _ENCODED_SLASH.sub(lambda found: "%25" + found.group(0)[1:], path)
    # The WSGI "encoding dance": PATH_INFO holds the UTF-8 bytes as latin-1 characters.
    return unquote(kept).encode().decode("latin-1")


def headers_of(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers with lower-case names, read straight from the environ (as werkzeug's
    `EnvironHeaders` would give them, at a fraction of its cost on every poll)."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
               if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error message, its control characters escaped, and clipped if long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def body_bytes(request: Request) -> bytes:
    """The request body, whatever its framing: past the request's ``max_content_length``, `RequestEntityTooLarge`.

    werkzeug refuses a Content-Length over the limit before reading anything, but reads a body of unknown length
    (chunked) only up to the limit and stops there as if it had ended: the rest would be dropped without a word,
    and a body cut to its first MiB read as another request. One byte past the limit tells the two apart.
    """
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(raw) >= limit and request.content_length is None:
        try:
            more = request.input_stream.read(1)
        except (OSError, ValueError):  # what werkzeug's own reads make of a broken chunked framing
            raise ClientDisconnected() from None
        if more:
            raise RequestEntityTooLarge()
    return raw


def control_body(request: Request, *, text_ok: bool = False) -> Any:
    """A control-plane request body: a JSON object, or where ``text_ok`` the YAML or JSON text itself.

    The request must say it sends JSON (or YAML where ``text_ok``), even with no body: the content types a web
    page may post anywhere without asking (a form, ``text/plain``) are refused, so a page cannot drive the emulator.
    Text is left to the scenario reader, which reports faults with their lines.
    """
    raw = body_bytes(request)
    if text_ok and request.mimetype in YAML_MEDIA_TYPES:
        return raw
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        accepted = "application/json" + (" or application/yaml" if text_ok else "")
        if request.mimetype:
            raise StatusError.bad_request(f"the request body must be {accepted}, got {request.mimetype!r}",
                                          field="body")
        raise StatusError.bad_request(f"the request body must be {accepted}, even an empty one (with curl: --json "
                                      "'{}'); the request gave no Content-Type", field="body")
    if not raw.strip():
        return {}
    return json_object(request, raw)


def json_object(request: Request, raw: bytes) -> JSON:
    """A body that must be a JSON object; it is kept for the call log even when it is not one."""
    try:
        document = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        # The interpreter's advice on raising its digit limit is advice for the emulator, not for the client.
        reason = str(error).partition("; use sys.set_int_max_str_digits()")[0]
        raise StatusError.bad_request(f"Invalid JSON payload received. {reason}", field="body") from None
    except RecursionError:
        raise StatusError.bad_request("Invalid JSON payload received. It is nested too deeply.", field="body") from None
    request.environ[BODY_KEY] = document
    if not isinstance(document, dict):
        raise StatusError.bad_request(
            f"Invalid JSON payload received. Expected an object, got {_JSON_KINDS[type(document)]}", field="body"
        )
    return document


#: What a JSON value that is not an object is, in JSON's words.
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def read_query(request: Request, allowed: Mapping[str, type]) -> dict[str, Any]:
    """The request's query parameters, with snake_case accepted, types checked and unknown ones refused."""
    values: dict[str, Any] = {}
    if not request.environ.get("QUERY_STRING"):
        return values  # a poll has none: spare parsing an empty query
    for key in request.args:
        if key in STANDARD_QUERY_PARAMETERS:
            continue
        field = camel_case(key)
        if field not in allowed:
            expected = ", ".join(allowed) or "no parameters besides the standard ones"
            raise StatusError.bad_request(f"unknown query parameter {key!r}; this method accepts {expected}",
                                       field=key)
        raw = request.args.getlist(key)
        if field in values or len(raw) > 1:
            raise StatusError.bad_request(f"query parameter {field!r} was given more than once", field=field)
        values[field] = _convert(field, raw[0], allowed[field])
    return values


def _convert(field: str, raw: str, kind: type) -> Any:
    if kind is int:
        # int() would also take "1_0", " 7" and non-ASCII digits; the wire format is plain decimal.
        if re.fullmatch(r"-?[0-9]+", raw) is None:
            raise StatusError.bad_request(f"{field} must be an integer, got {raw!r}", field=field)
        number = int(raw)
        if not -(2**31) <= number < 2**31:
            raise StatusError.bad_request(f"{field} is out of range for an int32: {raw}", field=field)
        return number
    if kind is bool:
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise StatusError.bad_request(f"{field} must be true or false, got {raw!r}", field=field)
    return raw


def read_body(state: EmulatorState, request: Request, schema: str | None, name: str | None) -> JSON:
    """The JSON body (empty means ``{}``), keys in camelCase, checked against its request schema if any."""
    raw = body_bytes(request)
    if not raw.strip():
        return {}
    if request.mimetype not in ("", "application/json") and not request.mimetype.endswith("+json"):
        raise StatusError.bad_request(
            f"the request body must be JSON (Content-Type: application/json), got {request.mimetype!r}",
            field="body",
        )
    document = json_object(request, raw)
    # proto3 JSON: null means the field is unset.
    camel = {camel_case(key): value for key, value in document.items() if value is not None}
    if schema is None:
        return camel
    try:
        state.schemas.validate(schema, camel)
    except SchemaViolation as violation:
        message = violation.message
        if violation.rule.startswith("additionalProperties"):
            # Name an unknown key as the client spelt it, not as it reads in camelCase.
            for key in document:
                message = message.replace(repr(camel_case(key)), repr(key))
        raise StatusError.bad_request(f"Invalid JSON payload received. {message}",
                                   field=violation.pointer.lstrip("/") or "body") from None
    if camel.get("name", name) != name:
        raise StatusError.bad_request(f"the body names {camel['name']!r} but the path names {name!r}", field="name")
    return camel


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")
