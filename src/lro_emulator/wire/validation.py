"""The JSON Schemas of the wire contract, read once from the package data, and validation against them.

The schemas are the repository's top-level ``schemas/`` directory, shipped in the wheel as
``lro_emulator/schemas/``. They refer to each other with relative ``$ref``\\ s, resolved against
their ``$id`` inside one `referencing.Registry`: nothing is ever fetched over the network.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .errors import LroEmulatorError, did_you_mean
from .proto3_json import json_pointer

__all__ = ["SchemaViolation", "Schemas", "load_schemas"]

_SUFFIX = ".schema.json"
#: The 2020-12 ``$ref`` keyword as jsonschema implements it (resolution against the current base URI, then
#: descent). This is the public way to extend a keyword, as `jsonschema.validators.extend` documents it: take
#: the parent's callable from ``VALIDATORS`` and delegate to it (no private ``_validate_reference``).
_REF = Draft202012Validator.VALIDATORS["$ref"]

# These keywords' own messages only echo the instance ("{...} should not be valid under {}") or a regular
# expression nobody wants to read; where the schema puts a `description` beside one of them, that
# sentence says what the rule means, so it is reported instead.
_EXPLAINED_BY_DESCRIPTION = frozenset({"not", "anyOf", "oneOf"})
_PATTERN = "pattern"
#: The keywords that refuse keys a schema does not declare; their messages name the closest declared key.
_UNKNOWN_KEYS = frozenset({"additionalProperties", "unevaluatedProperties"})
#: How deep `Schemas._keys` follows references in place (the package's schemas need 2; a cycle stops there).
_KEYS_DEPTH = 8
#: How many valid (file reference, value) pairs a `Schemas` remembers before it starts over.
_REMEMBERED = 8192
_REMEMBERED_SIZE = 16384  # characters of JSON


class SchemaViolation(LroEmulatorError, ValueError):
    """A document that does not follow one of the package's schemas.

    ``pointer`` is the JSON pointer (RFC 6901) of the fault inside the validated document, ``""`` for
    the document itself; ``rule`` names the failing keyword and where it sits, e.g.
    ``"type at status.schema.json#/properties/code/type"``; ``schema`` is the schema's name
    (``"operation"``), ``message`` the explanation without the location.
    """

    def __init__(self, *, schema: str, title: str, pointer: str, rule: str, message: str) -> None:
        where = pointer or "the document root"
        base, hash_, fragment = schema.partition("#")
        super().__init__(f"{title} violates {base}{_SUFFIX}{hash_}{fragment} at {where}: {message}")
        self.schema = schema
        self.title = title
        self.pointer = pointer
        self.rule = rule
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructor takes keywords only, which pickle and copy do not pass.
        return _violation, (self.schema, self.title, self.pointer, self.rule, self.message)


def _violation(schema: str, title: str, pointer: str, rule: str, message: str) -> SchemaViolation:
    return SchemaViolation(schema=schema, title=title, pointer=pointer, rule=rule, message=message)


class Schemas:
    """All schemas of the package in one `referencing.Registry`, with one validator each.

    ``documents`` maps each schema's name (its file name without ``.schema.json``) to its contents,
    which must carry an absolute ``$id``. Every schema is checked against the 2020-12 metaschema
    (unless ``check`` is false) and its validator built here, once; validating never builds anything.
    ``source`` says where the documents were read from. Valid documents are remembered, so checking
    the same document again costs a dictionary lookup.
    """

    def __init__(
        self, documents: Mapping[str, Mapping[str, Any]], *, source: str = "<memory>", check: bool = True
    ) -> None:
        # A private copy: the registry and the validators hold these very objects.
        owned: dict[str, dict[str, Any]] = {name: copy.deepcopy(dict(doc)) for name, doc in documents.items()}
        for document in owned.values() if check else ():
            Draft202012Validator.check_schema(document)
        registry: Registry[Any] = Registry().with_resources(
            (document["$id"], DRAFT202012.create_resource(document)) for document in owned.values()
        )
        registry = registry.crawl()
        self.names: tuple[str, ...] = tuple(sorted(owned))
        self.source = source
        self._documents = owned
        self._registry = registry
        self._valid: dict[tuple[str, str], bool] = {}
        self._validator_class = validators.extend(Draft202012Validator, {"$ref": self._remembering_ref})
        self._validators = {name: self._validator_class(doc, registry=registry) for name, doc in owned.items()}
        # Errors carry the very subschema object that failed; this index turns it back into "file#pointer".
        self._locations: dict[int, str] = {}
        for name, document in owned.items():
            for node, parts in _walk(document, ()):
                self._locations.setdefault(id(node), f"{name}{_SUFFIX}#{json_pointer(*parts)}")

    @classmethod
    def load(cls) -> Schemas:
        """Read every ``*.schema.json`` shipped in the installed package's ``schemas`` directory.

        The shipped files are not checked against the metaschema here (the project's tests do that):
        the check costs a fifth of a second, once per process, which a suite pays before its first test.
        """
        root = resources.files("lro_emulator") / "schemas"
        documents = {
            entry.name.removesuffix(_SUFFIX): json.loads(entry.read_text(encoding="utf-8"))
            for entry in root.iterdir()
            if entry.name.endswith(_SUFFIX)
        }
        return cls(documents, source=str(root), check=False)

    def validate(self, name: str, document: object) -> None:
        """Raise `SchemaViolation` for the most relevant fault of ``document``, if it has any."""
        key = _memo_key(f"{name}{_SUFFIX}", document) if "#" not in name else None
        if key is not None and key in self._valid:
            return  # the same document passed before (see _remembering_ref)
        error = best_match(self._validator(name).iter_errors(document))
        if error is not None:
            raise self._violation(name, error)
        if key is not None:
            self._remember(key)

    def errors(self, name: str, document: object) -> list[SchemaViolation]:
        """Every fault of ``document``, ordered by where it sits in the document, each told once.

        A value that several schemas reach (a step's metadata is checked by every branch a step may
        take) would otherwise be reported once per schema, in the same words.
        """
        found = sorted(self._validator(name).iter_errors(document), key=_error_order)
        violations: dict[tuple[str, str], SchemaViolation] = {}
        for error in found:
            violation = self._violation(name, error)
            violations.setdefault((violation.pointer, violation.message), violation)
        return list(violations.values())

    def document(self, name: str) -> dict[str, Any]:
        """A copy of the schema called ``name``, as written."""
        self._validator(name)  # the KeyError that names the known schemas
        return copy.deepcopy(self._documents[name])

    def _validator(self, name: str) -> Any:
        """The validator of a schema by name, or of a part of one: ``"control#/$defs/advanceRequest"``."""
        found = self._validators.get(name)
        if found is not None:
            return found
        base, hash_, fragment = name.partition("#")
        if base not in self._validators:
            raise KeyError(f"no schema named {base!r}; the schemas are: {', '.join(self.names)}")
        if not hash_:
            raise KeyError(name)
        reference = {"$ref": f"{self._documents[base]['$id']}#{fragment}"}
        try:
            self._registry.resolver().lookup(reference["$ref"])
        except Exception:  # referencing's Unresolvable and its subclasses
            raise KeyError(f"{base}{_SUFFIX} has nothing at {fragment!r}") from None
        validator = self._validator_class(reference, registry=self._registry)
        self._validators[name] = validator  # built once, like the whole-schema validators
        return validator

    def _remembering_ref(self, validator: Any, ref: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        """The ``$ref`` keyword, remembering which values a whole schema file found valid.

        An ``Any`` payload costs a few hundred microseconds to check (its ``@type`` decides among the
        well-known types' JSON forms), and tests script the same payloads over and over. A reference to
        another file (``any.schema.json``) means the same schema wherever it appears, so a value it
        accepted once is accepted again without descending; a rejected value is checked every time, so
        its errors are always reported in full.

        The checking itself is jsonschema's own ``$ref`` keyword (`_REF`), so a relative reference resolves
        against the base URI of the schema it sits in, as it would without the memo.
        """
        key = _memo_key(ref, instance) if ref.endswith(_SUFFIX) else None
        if key is None:
            yield from _REF(validator, ref, instance, schema)
            return
        if key in self._valid:
            return
        errors = list(_REF(validator, ref, instance, schema))
        if errors:
            yield from errors
            return
        self._remember(key)

    def _remember(self, key: tuple[str, str]) -> None:
        if len(key[1]) > _REMEMBERED_SIZE:
            return  # a huge payload is rare; keeping it would cost more memory than checking it again
        if len(self._valid) >= _REMEMBERED:
            self._valid.clear()
        self._valid[key] = True

    def _suggestions(self, schema: Mapping[str, Any], instance: Mapping[str, Any], keyword: str, where: str) -> str:
        """" (did you mean 'response'?)" for the unexpected keys of ``instance`` close to a key ``schema`` knows.

        ``additionalProperties`` knows the ``properties`` beside it; ``unevaluatedProperties`` also those of the
        subschemas it sees through (``$ref``, ``allOf``, ``anyOf``, ``oneOf``), as jsonschema evaluates them.
        """
        document = self._documents.get(where.split(_SUFFIX, 1)[0].partition("#")[0])
        if document is None:  # not one of ours (see _violation): no suggestion rather than a wrong one
            return ""
        known = self._keys(schema, self._registry.resolver(base_uri=document["$id"]),
                           deep=keyword == "unevaluatedProperties")
        patterns = [re.compile(pattern) for pattern in schema.get("patternProperties", {})]
        unexpected = sorted(key for key in instance
                            if key not in known and not any(pattern.search(key) for pattern in patterns))
        return did_you_mean(unexpected, sorted(known))

    def _keys(self, schema: object, resolver: Any, *, deep: bool, depth: int = 0) -> set[str]:
        """The property names ``schema`` declares (and, ``deep``, those of the subschemas it applies in place)."""
        if not isinstance(schema, Mapping) or depth > _KEYS_DEPTH:
            return set()
        keys = {key for key in schema.get("properties", {}) if isinstance(key, str)}
        if not deep:
            return keys
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, []):
                keys |= self._keys(branch, resolver, deep=True, depth=depth + 1)
        reference = schema.get("$ref")
        if isinstance(reference, str):
            try:
                resolved = resolver.lookup(reference)
            except Exception:  # referencing's Unresolvable: validation itself reports it
                return keys
            keys |= self._keys(resolved.contents, resolved.resolver, deep=True, depth=depth + 1)
        return keys

    def _title(self, name: str) -> str:
        base, _, fragment = name.partition("#")
        node: Any = self._documents[base]
        for part in fragment.strip("/").split("/") if fragment else ():
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        title = node.get("title") if isinstance(node, Mapping) else None
        return str(title or self._documents[base].get("title", base))

    def _violation(self, name: str, error: ValidationError) -> SchemaViolation:
        keyword = error.validator
        message: str = error.message
        if keyword == "const":  # jsonschema writes the value as Python would (True, None); a JSON user reads JSON
            message = f"{json.dumps(error.validator_value)} was expected"
        explained = _explained(error)
        if explained is not None:
            # best_match went into one branch of a oneOf/anyOf whose own description says what is allowed;
            # a branch's raw pattern or type would only be half the story.
            error = explained
            keyword = error.validator
        if keyword is None:  # a `false` subschema, which has no keyword of its own
            rule = f"false at {name}{_SUFFIX}, schema path {json_pointer(*error.absolute_schema_path)}"
        else:
            where = self._locations.get(id(error.schema))
            if where is None:  # not one of ours (cannot happen with the package's files): the schema path
                where = f"{name}{_SUFFIX}#{json_pointer(*list(error.absolute_schema_path)[:-1])}"
            rule = f"{keyword} at {where}/{keyword}"
            description = error.schema.get("description") if isinstance(error.schema, Mapping) else None
            if isinstance(description, str) and keyword in _EXPLAINED_BY_DESCRIPTION:
                message = description
            elif isinstance(description, str) and keyword == _PATTERN:
                message = f"{error.instance!r} is malformed: {description}"
            elif keyword in _UNKNOWN_KEYS and error.validator_value is False and isinstance(error.instance, Mapping):
                message += self._suggestions(error.schema, error.instance, keyword, where)
            elif keyword == "enum" and isinstance(error.instance, str):
                message += did_you_mean(error.instance, [v for v in error.validator_value if isinstance(v, str)])
        return SchemaViolation(
            schema=name,
            title=self._title(name),
            pointer=json_pointer(*error.absolute_path),
            rule=rule,
            message=message,
        )


@functools.cache
def load_schemas() -> Schemas:
    """The package's `Schemas`, read from the installed package data once per process."""
    return Schemas.load()


def _memo_key(schema: str, value: object) -> tuple[str, str] | None:
    """What a remembered result is filed under: the schema and the value's JSON text. None for anything but
    an object of JSON data, which is then always checked. (The package checks JSON it parsed or copied
    through JSON; a caller passing tuples or other containers that print as JSON arrays gets no memo
    guarantee for them.)"""
    if type(value) is not dict:
        return None
    try:
        return schema, json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False,
                                  default=_not_json)
    except (TypeError, ValueError):
        return None


def _not_json(value: object) -> object:
    raise TypeError(value)


def _explained(error: ValidationError) -> ValidationError | None:
    """The closest enclosing oneOf/anyOf error whose schema has a description, when ``error`` has none of its own."""
    if isinstance(error.schema, Mapping) and isinstance(error.schema.get("description"), str):
        return None
    parent = error.parent
    while parent is not None:
        schema = parent.schema
        if parent.validator in ("oneOf", "anyOf") and isinstance(schema, Mapping) \
                and isinstance(schema.get("description"), str):
            return parent
        parent = parent.parent
    return None


def _error_order(error: ValidationError) -> tuple[tuple[tuple[int, int, str], ...], str]:
    # Indexes compare as numbers (/details/2 before /details/10); the schema path breaks ties stably.
    steps = tuple(
        (0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in error.absolute_path
    )
    return steps, json_pointer(*error.absolute_schema_path)


def _walk(node: object, parts: tuple[str | int, ...]) -> Iterator[tuple[object, tuple[str | int, ...]]]:
    if isinstance(node, dict):
        yield node, parts
        for key, value in node.items():
            yield from _walk(value, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*parts, index))
