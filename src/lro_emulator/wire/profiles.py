"""Service profiles: which Operations methods a service offers, the HTTP bindings it publishes, the names it serves.

The ``earthengine``, ``vertex`` and ``cancel-get-list`` profiles carry every binding of
google.longrunning.Operations their real service publishes, read from the definitions its client
libraries ship (``bindings/<profile>.json``; docs/reference/profiles.md says which), and serve
exactly those paths. Their operation names are the names those bindings accept. The ``generic``
profile stands for any service: every API version, any name with an ``operations`` segment.
A method a profile lacks answers UNIMPLEMENTED; a name outside its patterns is not a resource of it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType

from .errors import ScriptError, did_you_mean
from .http_rules import HttpRule, RuleIndex, templates_regex
from .routes import NAME_SEGMENT

__all__ = ["PROFILES", "RPCS", "Profile", "get_profile"]

#: The five RPCs of google.longrunning.Operations, by their proto names.
RPCS = ("GetOperation", "ListOperations", "CancelOperation", "DeleteOperation", "WaitOperation")

#: How many patterns an error message spells before saying how many more there are.
_SPELLED = 4


@dataclasses.dataclass(frozen=True)
class Profile:
    """What one kind of service offers: its methods, HTTP bindings, operation names, list parents, a default parent.

    ``name_patterns`` and ``parent_patterns`` are path templates (``projects/*/operations/**``; ``""`` is the
    global collection). ``bindings`` are the published HTTP rules of each RPC (``{"GetOperation":
    ["GET /v1/{name=projects/*/operations/**}", ...]}``), or None for the generic routes (any version).
    """

    name: str
    description: str
    rpcs: frozenset[str]
    name_patterns: tuple[str, ...]
    parent_patterns: tuple[str, ...]
    default_parent: str
    cross_collection: bool = False
    bindings: Mapping[str, tuple[str, ...]] | None = dataclasses.field(default=None, hash=False)
    #: Where the bindings come from, for people: the client libraries and documents they were read from.
    sources: tuple[str, ...] = ()

    def offers(self, rpc: str) -> bool:
        """Whether the service has this RPC at all."""
        return rpc in self.rpcs

    def accepts_name(self, name: str) -> bool:
        """Whether ``name`` is an operation name this service could have issued."""
        return self.name_regex.fullmatch(name) is not None

    def accepts_parent(self, parent: str) -> bool:
        """Whether ``parent`` is a collection this service lists operations of."""
        return self.parent_regex.fullmatch(parent) is not None

    @functools.cached_property
    def name_regex(self) -> re.Pattern[str]:
        """The operation names, as one regular expression."""
        return _patterns_regex(self.name_patterns)

    @functools.cached_property
    def parent_regex(self) -> re.Pattern[str]:
        """The list parents, as one regular expression."""
        return _patterns_regex(self.parent_patterns)

    @functools.cached_property
    def routes(self) -> RuleIndex[str] | None:
        """The published bindings, each with its RPC, matched in order (None: the generic routes)."""
        if self.bindings is None:
            return None
        return RuleIndex((HttpRule.parse(text, None, segment=NAME_SEGMENT), rpc)
                         for rpc, texts in self.bindings.items() for text in texts)

    @functools.cached_property
    def prefixes(self) -> frozenset[str]:
        """The first path segments of the published bindings (``ui``, ``v1``, ...); empty for the generic routes."""
        texts = () if self.bindings is None else (text for texts in self.bindings.values() for text in texts)
        return frozenset(text.split(" ", 1)[1].split("/")[1] for text in texts)

    def answers_unpublished(self, rpc: str, version: str, *, name: str | None = None,
                            parent: str | None = None) -> bool:
        """Whether a request the generic route table routes, at a path this service does not publish, is answered.

        It is when the answer says more than "no such path": a method the service lacks (UNIMPLEMENTED), a name or
        parent that is not the service's (NOT_FOUND saying which names it has), and the form
        ``google.api_core.operation.from_http_json`` clients get and cancel by, ``/{version}/operations/{full
        name}``, under a version the service publishes. Any other unpublished path is not a route.
        """
        if self.routes is None or not self.offers(rpc):
            return True
        if rpc == "ListOperations":
            return parent is not None and not self.accepts_parent(parent)
        if name is None:
            return False
        inner = name.removeprefix("operations/")
        if inner != name and self.accepts_name(inner):  # the from_http_json form
            return rpc in ("GetOperation", "CancelOperation") and version in self.prefixes
        return not self.accepts_name(name)

    def spell_names(self) -> str:
        """The name patterns for a message: a few, and how many more."""
        return _spell(self.name_patterns)

    def spell_parents(self) -> str:
        """The parent patterns for a message: a few, and how many more."""
        return _spell(self.parent_patterns, empty="(empty: the global operations/*)")


def _spell(patterns: tuple[str, ...], empty: str = "") -> str:
    shown = [pattern or empty for pattern in patterns[:_SPELLED]]
    more = len(patterns) - len(shown)
    return " or ".join(shown) + (f" (or one of {more} more: see the profile's patterns)" if more > 0 else "")


def _patterns_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(templates_regex(patterns, NAME_SEGMENT))


def _profile(
    name: str,
    description: str,
    rpcs: tuple[str, ...],
    names: tuple[str, ...],
    parents: tuple[str, ...],
    default_parent: str,
    *,
    cross_collection: bool = False,
) -> Profile:
    return Profile(name=name, description=description, rpcs=frozenset(rpcs), name_patterns=names,
                   parent_patterns=parents, default_parent=default_parent, cross_collection=cross_collection)


def _published(name: str, description: str, default_parent: str, *, cross_collection: bool = False) -> Profile:
    """A profile of a real service, from the bindings its definitions publish (``bindings/<name>.json``).

    Its names are those its GetOperation bindings accept, its parents the collections of those names, and
    its methods the RPCs it binds.
    """
    text = (resources.files(__package__) / "bindings" / f"{name}.json").read_text(encoding="utf-8")
    table = json.loads(text)
    bindings = {rpc: tuple(texts) for rpc, texts in table["bindings"].items()}
    names = _unique(_variable(text) for text in bindings.get("GetOperation", ()))
    parents = _unique(collection_of(pattern) for pattern in names)
    return Profile(name=name, description=description, rpcs=frozenset(bindings), name_patterns=names,
                   parent_patterns=parents, default_parent=default_parent, cross_collection=cross_collection,
                   bindings=MappingProxyType(bindings), sources=tuple(table["sources"]))


def collection_of(name: str) -> str:
    """The collection of an operation name template: ``projects/*/operations/*`` is ``projects/*``, ``operations/*``
    the global collection ``""``."""
    return re.sub(r"(?:^|/)operations/\*\*?$", "", name)


def _variable(text: str) -> str:
    found = re.search(r"\{name=([^}]*)\}", text)
    return "" if found is None else found.group(1)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


_PROFILES = {
    profile.name: profile
    for profile in (
        _profile(
            "generic",
            "all five methods, any operation name, any API version",
            RPCS,
            ("operations/**", "**/operations/**"),
            ("", "**"),
            "projects/test-project/locations/global",
            cross_collection=True,
        ),
        _published(
            "earthengine",
            "Earth Engine projects.operations (v1, v1beta, v1alpha): all five methods",
            "projects/test-project",
        ),
        _published(
            "vertex",
            "Vertex AI (/ui, /v1, /v1beta1): projects.locations.operations, every nested collection, "
            "the global operations/*",
            "projects/test-project/locations/us-central1",
            cross_collection=True,
        ),
        _published(
            "cancel-get-list",
            "services whose operations offer only cancel, get and list (AI Platform ml v1, Dialogflow v2)",
            "projects/test-project",
        ),
    )
}

#: Every profile by name: ``generic``, ``earthengine``, ``vertex`` and ``cancel-get-list`` (read-only).
PROFILES: Mapping[str, Profile] = MappingProxyType(_PROFILES)


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name; raise `ScriptError` (a `ValueError`) naming the known ones."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        hint = did_you_mean(profile, PROFILES) if isinstance(profile, str) else ""
        raise ScriptError(f"unknown profile {profile!r}{hint}; use one of {', '.join(PROFILES)}") from None
