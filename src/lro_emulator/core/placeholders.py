"""Placeholders in a scenario start's template: ``{request.serviceId}``, ``{parent}``, ``{name}``.

A start plays the same template on every operation it creates; a placeholder in any of its strings puts in what
this call asked for: ``{request.PATH}`` a field of the request message's proto3 JSON (dotted, with ``[N]`` for a
list item), ``{parent}`` the collection the operation was created in, ``{name}`` the new operation's name. ``{{``
and ``}}`` are literal braces. A field absent from a request renders as the empty string; a string, as it is;
any other value, as JSON. There are no expressions and no code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..wire.proto3_json import camel_case, escape_pointer

__all__ = ["placeholder_problems", "render"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = re.compile(rf"request((?:\.{_IDENT}|\[\d+\])+)")
_STEP = re.compile(rf"\.({_IDENT})|\[(\d+)\]")
#: Placeholders per template, and the largest list index: bounds on what one call's rendering costs.
_MAX_PLACEHOLDERS = 1000
_MAX_INDEX = 10_000
_HINT = "use {request.FIELD}, {parent} or {name}, and {{ or }} for a brace"


def placeholder_problems(template: Any, request_type: Any = None) -> list[tuple[str, str]]:
    """Faults of the placeholders in ``template``'s strings, as (JSON pointer, message).

    With ``request_type`` (a protobuf message descriptor or class), each ``{request.PATH}`` must name a field of it.
    """
    descriptor = getattr(request_type, "DESCRIPTOR", request_type)
    problems = []
    count = 0
    for pointer, text in _strings(template, ""):
        for match in _TOKEN.finditer(text):
            token = match.group(0)
            if token in ("{{", "}}"):
                continue
            if token in ("{", "}"):
                problems.append((pointer, f"a lone {token!r} in {text!r}; {_HINT}"))
                continue
            count += 1
            inner = match.group(1).strip()
            if inner in ("parent", "name"):
                continue
            found = _PATH.fullmatch(inner)
            if found is None:
                problems.append((pointer, f"{token} is not a placeholder; {_HINT}"))
            elif descriptor is not None:
                problem = _field_problem(descriptor, found.group(1))
                if problem:
                    problems.append((pointer, f"{token}: {problem}"))
    if count > _MAX_PLACEHOLDERS:
        problems.append(("", f"the template holds {count} placeholders; at most {_MAX_PLACEHOLDERS}"))
    return problems


def render(template: Any, message: Mapping[str, Any], *, parent: str, name: str) -> Any:
    """``template`` with the placeholders of its strings filled in from one call (after `placeholder_problems`)."""
    if isinstance(template, str):
        return _TOKEN.sub(lambda match: _value(match, message, parent, name), template)
    if isinstance(template, Mapping):
        return {key: render(value, message, parent=parent, name=name) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, message, parent=parent, name=name) for item in template]
    return template


def _value(match: re.Match[str], message: Mapping[str, Any], parent: str, name: str) -> str:
    token = match.group(0)
    if token in ("{{", "}}"):
        return token[0]
    inner = (match.group(1) or "").strip()
    if inner == "parent":
        return parent
    if inner == "name":
        return name
    found = _PATH.fullmatch(inner)
    if found is None:
        return token  # refused when the scenario loaded
    value: Any = message
    for field, index in _STEP.findall(found.group(1)):
        if field:  # a field (written either way) or, in a map or a Struct, a key as it is
            if not isinstance(value, Mapping):
                value = None
            else:
                value = value[field] if field in value else value.get(camel_case(field))
        else:
            position = int(index)
            value = value[position] if isinstance(value, list) and position < len(value) else None
        if value is None:
            return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


#: Well-known types whose proto3 JSON is any JSON value: a path may go on inside them, unchecked.
_FREE = frozenset({"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
                   "google.protobuf.Any"})
#: Well-known types whose proto3 JSON is a string, a number or a boolean: nothing is inside them.
_SCALAR = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask",
                     *(f"google.protobuf.{kind}Value" for kind in ("Double", "Float", "Int64", "UInt64", "Int32",
                                                                   "UInt32", "Bool", "String", "Bytes"))})


def _field_problem(descriptor: Any, path: str) -> str | None:
    """Why ``path`` (``.service.containers[0].image``) names no field of the message, or None.

    It follows proto3 JSON: a map field takes a key (``.labels.env``), a Struct or an Any holds any path.
    """
    current: Any = descriptor  # the message the next step names a field of; None: a scalar
    repeated = False
    map_value: Any = None  # after a map field: the descriptor of its value field, until the key is named
    spelled = "request"
    for field, index in _STEP.findall(path):
        if index:
            if not repeated:
                return f"{spelled} is not a list, so [{index}] names nothing"
            if int(index) > _MAX_INDEX:
                return f"[{index}] is past the largest index a placeholder may use ({_MAX_INDEX})"
            repeated = False
            spelled += f"[{index}]"
            continue
        if map_value is not None:  # the key of a map
            spelled += f".{field}"
            current, map_value = map_value.message_type, None
            continue
        if repeated:
            return f"{spelled} is a list, so .{field} names nothing; name an item: {spelled}[0]"
        if current is None:
            return f"{spelled} is not a message, so .{field} names nothing"
        if current.full_name in _FREE:
            return None
        if current.full_name in _SCALAR:
            return f"{spelled} is a {current.full_name}, a single value in JSON, so .{field} names nothing"
        fields = {f.json_name: f for f in current.fields}
        fields.update({f.name: f for f in current.fields})
        found = fields.get(field)
        if found is None:
            known = ", ".join(sorted(f.json_name for f in current.fields)[:20])
            return f"{current.full_name} has no field {field!r} (it has {known})"
        spelled += f".{field}"
        if found.message_type is not None and found.message_type.GetOptions().map_entry:
            map_value, current, repeated = found.message_type.fields_by_name["value"], None, False
            continue
        repeated = _is_repeated(found)
        current = found.message_type
    return None


def _is_repeated(field: Any) -> bool:
    is_repeated = getattr(field, "is_repeated", None)  # protobuf 6.31 and later; `label` is gone in 7
    if is_repeated is not None:
        return bool(is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _strings(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{pointer}/{escape_pointer(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{pointer}/{index}")
