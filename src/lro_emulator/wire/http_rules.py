"""google.api.http rules: ``POST /v1/{parent=projects/*/locations/*}/datasets``, parsed, matched and indexed.

Both the Operations bindings a profile publishes and the starting methods a test declares are such
rules. A variable binds a request field to one or more path segments (``*`` one, ``**`` any number);
a custom verb follows the last colon. `RuleIndex` matches a request against many rules at once, in
their order, as a client's transcoding picks the first binding that matches.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from .errors import ScriptError
from .proto3_json import camel_case
from .routes import TEMPLATE_SEGMENT

__all__ = ["HTTP_METHODS", "HttpRule", "RuleIndex", "templates_regex"]

#: The HTTP methods a google.api.http rule can bind.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_PATH = re.compile(rf"{_IDENT}(?:\.{_IDENT})*")
_LITERAL = re.compile(r"[A-Za-z0-9_.~\-$]+")
#: What ``*`` matches unless told otherwise: one segment, no slash, no colon (the custom verb).
_ANY_SEGMENT = TEMPLATE_SEGMENT

Value = TypeVar("Value")


@dataclasses.dataclass(frozen=True)
class HttpRule:
    """A google.api.http binding such as ``POST /v1/{parent=projects/*/locations/*}/workflows``.

    ``variables`` are the request fields bound by the path, in order (as written: ``dataset.name``);
    ``body`` is the request field the body fills (``"*"`` for the whole request, None when the method
    takes no body). `fields` and `body_field` spell them as proto3 JSON does (camelCase).
    """

    method: str
    template: str
    variables: tuple[str, ...]
    body: str | None
    #: The path's regular expression, the variables as groups ``v0``, ``v1``, ...
    pattern: str = dataclasses.field(compare=False, repr=False)
    #: What `RuleIndex` groups rules by: the path's regular expression before its one variable, the
    #: variable's template (``projects/*/operations/*``) and the regular expression after it; None when the
    #: path binds no variable or several.
    shape: tuple[str, str, str] | None = dataclasses.field(compare=False, repr=False, default=None)
    segment: str = dataclasses.field(compare=False, repr=False, default=_ANY_SEGMENT)

    @classmethod
    def parse(cls, text: str, body: str | None = "*", *, segment: str = _ANY_SEGMENT) -> HttpRule:
        """Parse ``"METHOD /path/template"``; `ScriptError` says what is wrong with it.

        ``segment`` is the regular expression of one segment that ``*`` matches.
        """
        if not isinstance(text, str) or " " not in text.strip():
            raise ScriptError(f"http= must be 'METHOD /path', e.g. 'POST /v1/{{parent=projects/*}}/things'; "
                              f"got {text!r}")
        method, template = text.strip().split(None, 1)
        return cls.of(method, template, body, segment=segment)

    @classmethod
    def of(cls, method: str, template: str, body: str | None = None, *, segment: str = _ANY_SEGMENT) -> HttpRule:
        """A rule from its parts, as generated clients and descriptors hold them (``"post"``, a template, a body)."""
        method = method.upper()
        if method not in HTTP_METHODS:
            raise ScriptError(f"the HTTP method {method!r} is not one of {', '.join(HTTP_METHODS)}")
        if body == "":
            body = None  # a descriptor's HttpRule spells "no body" as the empty string
        if body is not None and body != "*" and not _FIELD_PATH.fullmatch(body):
            raise ScriptError(f"body= must be '*', a request field name, or None; got {body!r}")
        if method in ("GET", "DELETE") and body is not None:
            body = None  # google.api.http: GET and DELETE carry no body
        pattern, variables, shape = _compile_template(template, segment)
        return cls(method, template, tuple(variables), body, pattern, shape, segment)

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """`pattern`, compiled (on first use: a profile holds hundreds of rules that its index compiles together)."""
        return re.compile(self.pattern)

    @property
    def text(self) -> str:
        """The rule as declared: ``METHOD /template``."""
        return f"{self.method} {self.template}"

    @property
    def fields(self) -> tuple[str, ...]:
        """The bound fields as proto3 JSON paths (``dataset.displayName``)."""
        return tuple(_json_path(field) for field in self.variables)

    @property
    def body_field(self) -> str | None:
        """The body's field as a proto3 JSON path, ``"*"``, or None."""
        return self.body if self.body in (None, "*") else _json_path(self.body)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The bound variables (as written in the template) when ``method`` and ``path`` match, else None."""
        if method != self.method:
            return None
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        return {field: found.group(f"v{index}") for index, field in enumerate(self.variables)}


def _json_path(field: str) -> str:
    return ".".join(camel_case(part) for part in field.split("."))


class RuleIndex(Generic[Value]):
    """Many rules, each with a value, matched in their order; built for the hundreds of bindings a service publishes.

    Rules that differ only in what their one variable matches (Vertex AI binds ``/v1/{name=...}`` once per
    collection) share one regular expression whose alternatives are factored by their leading segments, so a
    match costs about as much as for one rule, and building the index stays cheap.
    """

    def __init__(self, entries: Iterable[tuple[HttpRule, Value]]) -> None:
        self._entries = list(entries)
        self._groups: dict[str, list[tuple[re.Pattern[str], HttpRule, Value]]] = {}

    def match(self, method: str, path: str) -> tuple[HttpRule, Value, dict[str, str]] | None:
        """The first rule of ``method`` that matches ``path``, its value and the variables it binds.

        Rules in one group (same method, same path around the variable, same field and body, same value) differ
        only in what the variable matches, so the first rule of the group is given, whichever matched.
        """
        groups = self._groups.get(method)
        if groups is None:  # built on first use, per method: a profile's hundreds of rules cost ~20 ms per method
            groups = self._groups[method] = self._build(method)
        for regex, rule, value in groups:
            found = regex.fullmatch(path)
            if found is not None:
                return rule, value, {field: found.group(f"v{index}") for index, field in enumerate(rule.variables)}
        return None

    def methods_matching(self, path: str) -> list[str]:
        """The HTTP methods some rule binds to ``path`` (for a 405's ``Allow``)."""
        return [method for method in HTTP_METHODS if self.match(method, path) is not None]

    def _build(self, method: str) -> list[tuple[re.Pattern[str], HttpRule, Value]]:
        grouped: dict[object, tuple[HttpRule, Value, list[str]]] = {}
        for index, (rule, value) in enumerate(self._entries):
            if rule.method != method:
                continue
            # Rules share a group only if a match means the same: same path around the variable, same field, same body.
            key: object = ((rule.shape[0], rule.shape[2], rule.segment, rule.variables, rule.body, value)
                           if rule.shape else index)
            if key not in grouped:
                grouped[key] = (rule, value, [])
            if rule.shape:
                grouped[key][2].append(rule.shape[1])
        groups: list[tuple[re.Pattern[str], HttpRule, Value]] = []
        for rule, value, inner in grouped.values():
            if rule.shape is None:
                regex = rule.regex
            else:
                before, _, after = rule.shape
                regex = re.compile(f"{before}(?P<v0>{templates_regex(inner, rule.segment)}){after}")
            groups.append((regex, rule, value))
        return groups


def templates_regex(templates: Iterable[str], segment: str) -> str:
    """One regular expression for many path templates (``projects/*/operations/**``), common leading segments
    factored out, so that a match stays linear in the path however many templates there are.

    ``*`` is one ``segment``, ``**`` one or more; the empty template matches the empty string.
    """
    trie: dict[str, Any] = {}
    for template in templates:
        node = trie
        for token in template.split("/") if template else ():
            node = node.setdefault(token, {})
        node[""] = {}  # a template ends here
    return _trie_regex(trie, segment, first=True) or ""


def _trie_regex(node: dict[str, Any], segment: str, *, first: bool = False) -> str:
    branches = []
    for token, child in node.items():
        if token == "":
            branches.append("")
        else:
            branches.append(("" if first else "/") + _segment_regex(token, token, segment)
                            + _trie_regex(child, segment))
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _compile_template(template: str, segment: str) -> tuple[str, list[str], tuple[str, str, str] | None]:
    """The regular expression of a path template (``/seg/{field=pattern}/...:verb``), its fields, its shape."""
    if not isinstance(template, str) or not template.startswith("/"):
        raise ScriptError(f"the path template {template!r} must start with '/'")
    verb = ""
    body = template
    # A custom verb follows the last colon outside braces.
    depth = 0
    for index in range(len(template) - 1, -1, -1):
        char = template[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == ":" and depth == 0:
            body, verb = template[:index], template[index + 1:]
            if not _LITERAL.fullmatch(verb):
                raise ScriptError(f"the custom verb {verb!r} of {template!r} is not a literal")
            break
    pieces: list[str] = []
    variables: list[str] = []
    inner_templates: list[str] = []
    for part in _split_segments(body[1:], template):
        if part.startswith("{"):
            if not part.endswith("}"):
                raise ScriptError(f"unbalanced braces in the path template {template!r}")
            field, _, inner = part[1:-1].partition("=")
            if not _FIELD_PATH.fullmatch(field):
                raise ScriptError(f"{field!r} in {template!r} is not a request field path")
            if field in variables:
                raise ScriptError(f"the path template {template!r} binds {field!r} twice")
            sub = [_segment_regex(s, template, segment) for s in (inner or "*").split("/")]
            pieces.append(f"(?P<v{len(variables)}>{'/'.join(sub)})")
            variables.append(field)
            inner_templates.append(inner or "*")
        else:
            pieces.append(_segment_regex(part, template, segment))
    tail = ":" + re.escape(verb) if verb else ""
    pattern = "/" + "/".join(pieces) + tail
    shape = None
    if len(variables) == 1:
        at = next(index for index, piece in enumerate(pieces) if piece.startswith("(?P<v0>"))
        shape = ("/" + "".join(f"{piece}/" for piece in pieces[:at]), inner_templates[0],
                 "".join(f"/{piece}" for piece in pieces[at + 1:]) + tail)
    return pattern, variables, shape


def _split_segments(text: str, template: str) -> list[str]:
    """Split on slashes outside braces."""
    segments, current, depth = [], "", 0
    for char in text:
        if char == "{":
            depth += 1
            if depth > 1:
                raise ScriptError(f"nested braces in the path template {template!r}")
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ScriptError(f"unbalanced braces in the path template {template!r}")
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise ScriptError(f"unbalanced braces in the path template {template!r}")
    segments.append(current)
    if any(not part for part in segments):
        raise ScriptError(f"the path template {template!r} has an empty segment")
    return segments


def _segment_regex(part: str, template: str, segment: str) -> str:
    if part == "*":
        return segment
    if part == "**":
        return rf"{segment}(?:/{segment})*"
    if not _LITERAL.fullmatch(part):
        raise ScriptError(f"{part!r} in the path template {template!r} is not '*', '**' or a literal")
    return re.escape(part)
