"""The package's JSON Schemas in the schema dialect of Google API Discovery documents.

The discovery document describes the messages the emulator sends and accepts; it takes them from
``schemas/*.schema.json`` through `SchemaTranslator`, so the two descriptions cannot drift apart.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from ..wire.proto3_json import JSON, escape_pointer, pointer_tokens
from ..wire.validation import Schemas

__all__ = ["SchemaTranslator"]

_SUFFIX = ".schema.json"

# How discovery spells the proto3 JSON types whose JSON Schemas say what a value looks like in words
# it has no form for: an Any (rules chosen by its @type) is an open object, as every Google document
# spells it, with this very description; a Duration (a pattern) a string of Google's own format; a
# 64-bit integer (a string or a number) a decimal string. Other references are translated as written.
_ANY_OBJECT: JSON = {
    "additionalProperties": {"description": "Properties of the object. Contains field @type with type URL.",
                             "type": "any"},
    "type": "object",
}
_WELL_KNOWN: Mapping[str, JSON] = MappingProxyType({
    "any.schema.json": _ANY_OBJECT,
    "duration.schema.json": {"format": "google-duration", "type": "string"},
    "any.schema.json#/$defs/int64": {"format": "int64", "type": "string"},
    "any.schema.json#/$defs/uint64": {"format": "uint64", "type": "string"},
})

# Discovery formats of JSON Schema's bounded integers and formatted strings, as Google's documents
# give them for the proto3 types they stand for.
_INTEGER_FORMATS = {(-(2**31), 2**31 - 1): "int32", (0, 2**32 - 1): "uint32"}
_STRING_FORMATS = {"date-time": "google-datetime"}

# Keywords that only constrain values (or document the schema file itself): a discovery schema has no
# words for them, and clients check none, so the translation leaves them out. Any other keyword
# stops the translation, so that nothing a JSON Schema says is dropped unnoticed.
_CONSTRAINTS = frozenset({
    "$schema", "$id", "$comment", "$defs", "title", "examples", "required", "pattern", "minLength",
    "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minimum", "maximum",
    "allOf", "if", "then", "else", "not", "const", "unevaluatedProperties",
})


class SchemaTranslator:
    """The JSON Schemas of ``schemas`` in discovery's schema dialect.

    A JSON Schema titled with the name of one of ``messages`` is that message: a reference
    to it is a ``$ref`` to its kind, and `message` translates it. A reference to a well-known type
    is its discovery form (`_WELL_KNOWN`); a reference to anything else is translated in place,
    without its own description (the referring field's says what the value is there). ``type``,
    ``description``, ``properties``, ``items`` and ``additionalProperties`` carry over, with a
    discovery ``format`` for bounded integers and formatted strings; `_CONSTRAINTS` are left out;
    anything else is a ValueError naming where it is, rather than a fact silently lost.
    """

    def __init__(self, schemas: Schemas, messages: Collection[str]) -> None:
        self._schemas = schemas
        self._messages = messages
        self._files: dict[str, str] = {}  # kind -> file name, as references reveal them
        self._titles: dict[str, object] = {}

    def kind(self, name: str) -> str:
        """The kind of the message that the JSON Schema ``name`` (``"operation"``) describes."""
        kind = self._kind(name)
        if kind is None:
            raise ValueError(f"{name}{_SUFFIX} is titled {self._title(name)!r}, which is no message of the "
                             f"discovery document ({', '.join(self._messages)})")
        return kind

    def message(self, kind: str) -> JSON:
        """The discovery schema of the message ``kind`` (without its ``id``); its ``$ref`` values are kinds."""
        name = self._files.get(kind)
        if name is None:
            name = next((name for name in self._schemas.names if self._kind(name) == kind), None)
            if name is None:
                raise ValueError(f"no JSON Schema is titled {kind!r}, so the discovery document cannot describe it")
        schema = self._node(self._schemas.document(name), name, "", ())
        if schema.get("type") == "object":
            schema.setdefault("properties", {})  # Google's documents list a message's fields, even none
        return schema

    def _kind(self, name: str) -> str | None:
        title = self._title(name)
        if not isinstance(title, str) or title not in self._messages:
            return None
        self._files[title] = name
        return title

    def _title(self, name: str) -> object:
        if name not in self._titles:
            self._titles[name] = self._schemas.document(name).get("title")
        return self._titles[name]

    def _node(self, node: object, name: str, pointer: str, following: tuple[str, ...]) -> JSON:
        """``node``, found at ``name``.schema.json#``pointer``, in discovery's words.

        ``following`` are the references being translated in place, to refuse a schema that contains itself.
        """
        where = f"{name}{_SUFFIX}#{pointer}"
        if node is True or node == {}:
            return {"type": "any"}
        if not isinstance(node, dict):
            raise ValueError(f"{where}: discovery has no form for the schema {node!r}")
        result: JSON = {}
        reference = node.get("$ref")
        if isinstance(reference, str):
            result.update(self._reference(reference, name, where, following))
        for key, value in node.items():
            if key == "description":
                result["description"] = value
            elif key == "type":
                if "$ref" not in result:  # a discovery $ref stands for the whole value; its type is the message's
                    result.update(self._type(value, node, where))
            elif key == "properties":
                result["properties"] = {
                    field: self._node(schema, name, f"{pointer}/properties/{escape_pointer(field)}", following)
                    for field, schema in sorted(value.items())
                    if schema is not False  # a field the schema forbids is no field at all
                }
            elif key == "items":
                result["items"] = self._node(value, name, f"{pointer}/items", following)
            elif key == "additionalProperties":
                if isinstance(value, dict):
                    result["additionalProperties"] = self._node(value, name, f"{pointer}/additionalProperties",
                                                                following)
                # true or false: a discovery object is open, and closing it is a constraint
            elif key not in _CONSTRAINTS and key not in ("$ref", "format"):
                raise ValueError(f"{where}: discovery has no form for the keyword {key!r}; translate it in "
                                 "lro_emulator.rest.discovery_schemas, or list it among the constraints left out")
        if "type" not in result and "$ref" not in result:
            result["type"] = "any"
        return dict(sorted(result.items()))

    def _type(self, kind: object, node: JSON, where: str) -> JSON:
        if kind == "integer":
            bounds = (node.get("minimum"), node.get("maximum"))
            if bounds not in _INTEGER_FORMATS:
                raise ValueError(f"{where}: an integer needs the bounds of an int32 or a uint32 (minimum and "
                                 "maximum) to have a discovery format; a 64-bit one is any.schema.json#/$defs/int64")
            return {"format": _INTEGER_FORMATS[bounds], "type": "integer"}
        if kind == "number":
            return {"format": "double", "type": "number"}
        if kind == "string" and "format" in node:
            if node["format"] not in _STRING_FORMATS:
                raise ValueError(f"{where}: discovery has no form for the string format {node['format']!r}")
            return {"format": _STRING_FORMATS[node["format"]], "type": "string"}
        if kind in ("string", "boolean", "object", "array"):
            return {"type": kind}
        raise ValueError(f"{where}: discovery has no form for the type {kind!r}")

    def _reference(self, reference: str, name: str, where: str, following: tuple[str, ...]) -> JSON:
        base, _, fragment = reference.partition("#")
        target = (base or f"{name}{_SUFFIX}") + (f"#{fragment}" if fragment else "")
        if target in _WELL_KNOWN:
            return copy.deepcopy(_WELL_KNOWN[target])
        file = target.partition("#")[0].removesuffix(_SUFFIX)
        if file not in self._schemas.names:
            raise ValueError(f"{where}: the reference {reference!r} names no schema of the package")
        if not fragment:
            kind = self._kind(file)
            if kind is not None:
                return {"$ref": kind}
        if target in following:
            raise ValueError(f"{where}: {target} contains itself, which discovery can only say of a message")
        node: Any = self._schemas.document(file)
        for part in pointer_tokens(fragment):
            node = node[part]
        translated = self._node(node, file, fragment, (*following, target))
        translated.pop("description", None)  # the referring field's description says what it is there
        return translated
