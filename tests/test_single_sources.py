"""The helpers that hold a fact once: JSON-pointer escaping, the segment of a name, a scenario's agreed setting."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from lro_emulator.core.scenario import (  # internal: the single sources under test
    Scenario,
    ScenarioError,
    SettingConflict,
    agreed_setting,
)
from lro_emulator.core.starts import HttpRule  # internal: the single sources under test
from lro_emulator.wire.profiles import get_profile  # internal: the single sources under test
from lro_emulator.wire.proto3_json import (  # internal: the single sources under test
    escape_pointer,
    json_pointer,
    json_problems,
    pointer_tokens,
)
from lro_emulator.wire.routes import (  # internal: the single sources under test
    CONVERTER_PATTERNS,
    NAME_SEGMENT,
    TEMPLATE_SEGMENT,
)

# -- JSON pointers (RFC 6901) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "escaped"),
    [("plain", "plain"), ("a/b", "a~1b"), ("a~b", "a~0b"), ("~1", "~01"), ("/~", "~1~0"), ("", ""), (3, "3")],
)
def test_a_token_escapes_tilde_before_slash(token: str | int, escaped: str) -> None:
    assert escape_pointer(token) == escaped


def test_a_pointer_is_its_escaped_tokens_each_after_a_slash() -> None:
    assert json_pointer() == ""
    assert json_pointer("metadata", "a/b", 0, "~x") == "/metadata/a~1b/0/~0x"


@pytest.mark.parametrize("parts", [(), ("",), ("a/b", "~1", "~0/~"), ("x", "y~", "/", "~"), ("", "")])
def test_reading_a_pointer_back_gives_its_tokens(parts: tuple[str, ...]) -> None:
    assert pointer_tokens(json_pointer(*parts)) == list(parts)


def test_a_pointer_must_start_with_a_slash() -> None:
    with pytest.raises(ValueError, match="must be empty or start with '/'"):
        pointer_tokens("a/b")


def test_problems_of_a_document_name_escaped_keys() -> None:
    problems = list(json_problems({"a/b": {"~": [float("nan")]}}))

    assert [pointer for pointer, _ in problems] == ["/a~1b/~0/0"]


def test_a_scenario_finds_the_line_of_an_odd_key_by_its_escaped_pointer() -> None:
    # The line index and the schema fault's key both escape "a/b~c"; only if they agree is line 3 found.
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_text("operations:\n  - name: projects/p/operations/x\n    a/b~c: 1\n")

    [problem] = caught.value.problems
    assert (problem.pointer, problem.line) == ("/operations/0", 3)


# -- one segment of a name ------------------------------------------------------------------------------


@pytest.mark.parametrize("segment", ["op-1", "a.b_c~d", "%41"])
def test_both_segments_take_an_ordinary_segment(segment: str) -> None:
    assert re.fullmatch(NAME_SEGMENT, segment)
    assert re.fullmatch(TEMPLATE_SEGMENT, segment)


@pytest.mark.parametrize("segment", ["a/b", "op:cancel", ""])
def test_no_segment_holds_a_slash_or_a_colon(segment: str) -> None:
    assert not re.fullmatch(NAME_SEGMENT, segment)
    assert not re.fullmatch(TEMPLATE_SEGMENT, segment)


def test_only_a_starting_methods_path_segment_may_hold_whitespace() -> None:
    assert not re.fullmatch(NAME_SEGMENT, "op 1")
    assert re.fullmatch(TEMPLATE_SEGMENT, "my thing")


def test_the_route_table_and_the_profiles_agree_on_names() -> None:
    for name in ("projects/p/operations/op 1", "projects/p/operations/op:x", "operations/a/b"):
        routed = re.fullmatch(CONVERTER_PATTERNS["operation"], name) is not None
        assert routed == get_profile("generic").accepts_name(name), name


def test_a_rules_star_binds_one_segment_and_stops_at_the_verb() -> None:
    rule = HttpRule.parse("POST /v1/{parent=projects/*}/things:run")

    assert rule.match("POST", "/v1/projects/my thing/things:run") == {"parent": "projects/my thing"}
    assert rule.match("POST", "/v1/projects/a:b/things:run") is None
    assert rule.match("POST", "/v1/projects/a/b/things:run") is None


# -- a scenario's profile and start -----------------------------------------------------------------------

START = datetime(2031, 1, 1, tzinfo=timezone.utc)


def scenario(source: str, **setting: str) -> Scenario:
    return Scenario.from_document(setting, source=source)


def test_scenarios_that_name_nothing_agree_on_nothing() -> None:
    assert agreed_setting([]) == (None, None)
    assert agreed_setting([scenario("a")]) == (None, None)


def test_the_setting_named_once_is_the_agreed_one() -> None:
    named = [scenario("a", profile="vertex"), scenario("b", start="2031-01-01T01:00:00+01:00"), scenario("c")]

    assert agreed_setting(named) == ("vertex", START)
    assert agreed_setting(named, profile=("--profile", "vertex"), start=("--start", START)) == ("vertex", START)


def test_a_given_setting_stands_when_no_scenario_names_one() -> None:
    assert agreed_setting([scenario("a")], profile=("x", "earthengine"), start=("x", START)) == ("earthengine", START)


def test_differing_profiles_are_a_conflict_listing_who_said_what() -> None:
    with pytest.raises(SettingConflict) as caught:
        agreed_setting([scenario("a", profile="generic"), scenario("b")], profile=("--profile", "vertex"))

    assert str(caught.value) == "the profile differs between --profile: vertex, a: generic; they must agree"
    assert (caught.value.field, caught.value.pointer) == ("profile", "/profile")


def test_differing_starts_are_listed_as_timestamps() -> None:
    with pytest.raises(SettingConflict) as caught:
        agreed_setting([scenario("a", start="2031-01-01T00:00:00Z"), scenario("b", start="2032-01-01T00:00:00Z")])

    assert str(caught.value) == ("the start differs between a: 2031-01-01T00:00:00Z, b: 2032-01-01T00:00:00Z; "
                                 "they must agree")
    assert caught.value.pointer == "/start"


def test_the_profile_is_judged_before_the_start() -> None:
    both = scenario("a", profile="vertex", start="2032-01-01T00:00:00Z")

    with pytest.raises(SettingConflict) as caught:
        agreed_setting([both], profile=("here", "generic"), start=("here", START))

    assert caught.value.field == "profile"
    assert isinstance(caught.value, ValueError)  # the command line reports it as a bad argument
