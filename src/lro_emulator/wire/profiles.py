"""Service profiles: which Operations methods a service offers and which names it serves.

Each profile mirrors the published REST reference of a real service (the README's profiles table). A method a
profile lacks answers UNIMPLEMENTED; a name outside its patterns is not a resource of that service.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType

from .errors import ScriptError
from .routes import NAME_SEGMENT

__all__ = ["PROFILES", "RPCS", "Profile", "get_profile"]

#: The five RPCs of google.longrunning.Operations, by their proto names.
RPCS = ("GetOperation", "ListOperations", "CancelOperation", "DeleteOperation", "WaitOperation")

# Short, because every pattern below spells several segments.
_SEG = NAME_SEGMENT


@dataclasses.dataclass(frozen=True)
class Profile:
    """What one kind of service offers: its methods, operation names, list parents and a default parent."""

    name: str
    description: str
    rpcs: frozenset[str]
    name_patterns: tuple[str, ...]  # human-readable, as in the REST reference
    name_regex: re.Pattern[str]
    parent_patterns: tuple[str, ...]
    parent_regex: re.Pattern[str]
    default_parent: str
    cross_collection: bool = False

    def offers(self, rpc: str) -> bool:
        """Whether the service has this RPC at all."""
        return rpc in self.rpcs

    def accepts_name(self, name: str) -> bool:
        """Whether ``name`` is an operation name this service could have issued."""
        return self.name_regex.fullmatch(name) is not None

    def accepts_parent(self, parent: str) -> bool:
        """Whether ``parent`` is a collection this service lists operations of."""
        return self.parent_regex.fullmatch(parent) is not None


def _profile(
    name: str,
    description: str,
    rpcs: tuple[str, ...],
    names: Mapping[str, str],
    parents: Mapping[str, str],
    default_parent: str,
    *,
    cross_collection: bool = False,
) -> Profile:
    return Profile(
        name=name,
        description=description,
        rpcs=frozenset(rpcs),
        name_patterns=tuple(names),
        name_regex=re.compile("|".join(f"(?:{regex})" for regex in names.values())),
        parent_patterns=tuple(parents),
        parent_regex=re.compile("|".join(f"(?:{regex})" for regex in parents.values())),
        default_parent=default_parent,
        cross_collection=cross_collection,
    )


_PROFILES = {
    profile.name: profile
    for profile in (
        _profile(
            "generic",
            "all five methods, any operation name",
            RPCS,
            {"**/operations/**": rf"(?:{_SEG}/)*operations(?:/{_SEG})+"},
            {"** (or empty for the global operations/*)": rf"(?:{_SEG}(?:/{_SEG})*)?"},
            "projects/test-project/locations/global",
            cross_collection=True,
        ),
        _profile(
            "earthengine",
            "Earth Engine projects.operations (v1, v1beta, v1alpha): all five methods",
            RPCS,
            {"projects/*/operations/**": rf"projects/{_SEG}/operations(?:/{_SEG})+"},
            {"projects/*": rf"projects/{_SEG}"},
            "projects/test-project",
        ),
        _profile(
            "vertex",
            "Vertex AI projects.locations.operations, nested collections and the global operations/*",
            RPCS,
            {
                "projects/*/locations/*/operations/*": rf"projects/{_SEG}/locations/{_SEG}/operations/{_SEG}",
                "projects/*/locations/*/**/operations/*":
                    rf"projects/{_SEG}/locations/{_SEG}(?:/{_SEG}/{_SEG})+/operations/{_SEG}",
                "operations/*": rf"operations/{_SEG}",
            },
            {
                "projects/*/locations/*": rf"projects/{_SEG}/locations/{_SEG}",
                "projects/*/locations/*/**": rf"projects/{_SEG}/locations/{_SEG}(?:/{_SEG}/{_SEG})+",
                "(empty, for the global operations/*)": "",
            },
            "projects/test-project/locations/us-central1",
            cross_collection=True,
        ),
        _profile(
            "cancel-get-list",
            "services whose projects.operations has only cancel, get and list (e.g. Dialogflow v2, AI Platform)",
            ("GetOperation", "ListOperations", "CancelOperation"),
            {"projects/*/operations/*": rf"projects/{_SEG}/operations/{_SEG}"},
            {"projects/*": rf"projects/{_SEG}"},
            "projects/test-project",
        ),
    )
}

#: Every profile by name (read-only).
PROFILES: Mapping[str, Profile] = MappingProxyType(_PROFILES)


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name; raise `ScriptError` (a `ValueError`) naming the known ones."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ScriptError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}") from None
