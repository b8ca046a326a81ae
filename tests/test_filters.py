"""AIP-160 filters: each case asserts the exact set of sample operations a filter selects."""

from __future__ import annotations

from typing import Any

import pytest

from lro_emulator.core import filters  # internal: the filter compiler under test
from lro_emulator.core.filters import FilterError, compile_filter  # internal: the filter compiler under test

META = "type.googleapis.com/example.v1.JobMetadata"

OPS: list[dict[str, Any]] = [
    {  # unfinished: no "done" key at all
        "name": "projects/p/operations/op-1",
        "metadata": {
            "@type": META,
            "state": "RUNNING",
            "progress": 0.5,
            "createTime": "2030-01-01T00:00:10Z",
            "labels": {"env": "prod", "team": "a", "app.k8s.io/name": "web"},
            "attempt": "3",
            "timeout": "30s",
            "tags": ["x", "y"],
            "flag": True,
            "word": "and",
        },
    },
    {
        "name": "projects/p/operations/op-2",
        "done": True,
        "error": {"code": 5, "message": "not found: thing"},
        "metadata": {
            "state": "FAILED",
            "progress": 1,
            "createTime": "2030-01-01T02:00:00+02:00",  # the same instant as 2030-01-01T00:00:00Z
            "labels": {"env": "dev"},
            "attempt": "10",
            "timeout": "1.5s",
            "flag": False,
            "word": "AND",
        },
    },
    {
        "name": "projects/p/operations/op-3",
        "done": True,
        "response": {"@type": "type.googleapis.com/example.v1.Job", "value": "ok"},
        "metadata": {
            "state": "SUCCEEDED",
            "progress": {"percent": 100},
            "createTime": "2029-12-31T23:59:59.5Z",
            "attempt": 2,
            "timeout": "120s",
            "tags": ["y", "z*"],
            "word": "or",
        },
    },
    {"name": "projects/q/operations/build-11", "done": False, "metadata": {"@type": META, "attempt": "many"}},
    {"name": "projects/q/operations/bare"},
]
ALL = {"op-1", "op-2", "op-3", "build-11", "bare"}


def matching(text: str | None) -> set[str]:
    predicate = compile_filter(text)
    return {op["name"].rsplit("/", 1)[1] for op in OPS if predicate(op)}


def table(*rows: tuple[str, set[str]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("text", "expected"), rows, ids=[row[0] for row in rows])


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_matches_everything(text: str | None) -> None:
    assert matching(text) == ALL


@table(
    ("done=true", {"op-2", "op-3"}),
    ("done:true", {"op-2", "op-3"}),
    ('metadata.state="RUNNING"', {"op-1"}),
    ('metadata.createTime > "2030-01-01T00:00:00Z"', {"op-1"}),
)
def test_documented_service_filters(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ('name="projects/p/operations/op-1"', {"op-1"}),
    ('name!="projects/p/operations/op-1"', {"op-2", "op-3", "build-11", "bare"}),
    ('name<"projects/p/operations/op-2"', {"op-1"}),
    ('name<="projects/p/operations/op-2"', {"op-1", "op-2"}),
    ('name>"projects/p/operations/op-2"', {"op-3", "build-11", "bare"}),
    ('name >= "projects/q"', {"build-11", "bare"}),
    ('name:"projects/p/operations/op-3"', {"op-3"}),
    ("metadata.state:RUNNING", {"op-1"}),
    ("metadata.state = RUNNING", {"op-1"}),
    ("metadata.state='FAILED'", {"op-2"}),
    ('metadata.state != "RUNNING"', {"op-2", "op-3"}),
    ('metadata.state="running"', set()),
)
def test_strings(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ('name="projects/p/operations/op-*"', {"op-1", "op-2", "op-3"}),
    ("name=*-1", {"op-1"}),
    ("name=*-1*", {"op-1", "build-11"}),
    ('name="*/q/*"', {"build-11", "bare"}),
    ("name=*", ALL),
    ('name!="projects/p/*"', {"build-11", "bare"}),
    ("name:*op-2", {"op-2"}),
    ('error.message:"not found*"', {"op-2"}),
    ('metadata.tags:"z\\*"', {"op-3"}),  # an escaped star is a literal star
    ('metadata.tags:"\\*"', set()),
    ('metadata.tags:"*"', {"op-1", "op-3"}),
)
def test_wildcards(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("metadata.progress = 0.5", {"op-1"}),  # op-3's progress is a message: no match, no error
    ("metadata.progress != 0.5", {"op-2"}),
    ("metadata.progress < 1", {"op-1"}),
    ("metadata.progress <= 1", {"op-1", "op-2"}),
    ("metadata.progress > 0.5", {"op-2"}),
    ("metadata.progress >= 5e-1", {"op-1", "op-2"}),
    ("metadata.progress:1", {"op-2"}),
    ('metadata.progress != "x"', set()),
    ("metadata.progress.percent = 100", {"op-3"}),
    # int64 values arrive as strings: "10" > 2 numerically, though "10" < "2" as text.
    ("metadata.attempt = 3", {"op-1"}),
    ("metadata.attempt = 3.0", {"op-1"}),
    ("metadata.attempt = 2", {"op-3"}),
    ("metadata.attempt > 2", {"op-1", "op-2", "build-11"}),  # "many" falls back to text: "many" > "2"
    ("metadata.attempt = 10", {"op-2"}),
    ("metadata.attempt < 1e1", {"op-1", "op-3"}),
    ("metadata.attempt = -1", set()),
    ('metadata.attempt = "3"', {"op-1"}),
    ('metadata.attempt < "2"', {"op-2"}),  # quoted: compared as text, and the number 2 is not text
)
def test_numbers(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ('metadata.createTime = "2030-01-01T00:00:00Z"', {"op-2"}),  # written +02:00 on the operation
    ('metadata.createTime != "2030-01-01T01:00:00+01:00"', {"op-1", "op-3"}),
    ('metadata.createTime >= "2030-01-01T00:00:00Z"', {"op-1", "op-2"}),
    ('metadata.createTime < "2030-01-01T00:00:00Z"', {"op-3"}),
    ('metadata.createTime <= "2029-12-31T23:59:59.5Z"', {"op-3"}),
    ('metadata.createTime < "2029-12-31T23:59:59.500001Z"', {"op-3"}),
    ('metadata.createTime < "2029-12-31T23:59:59.4Z"', set()),
    ("metadata.createTime > '2030-01-01T00:00:05z'", {"op-1"}),
    ('metadata.createTime > "2030-01-01T03:00:05+03:00"', {"op-1"}),
)
def test_timestamps(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("metadata.timeout = 30s", {"op-1"}),
    ("metadata.timeout = 30.0s", {"op-1"}),
    ("metadata.timeout != 30s", {"op-2", "op-3"}),
    ("metadata.timeout > 20s", {"op-1", "op-3"}),  # as text "120s" < "20s"
    ("metadata.timeout >= 120s", {"op-3"}),
    ("metadata.timeout < 2s", {"op-2"}),
    ("metadata.timeout <= 1.5s", {"op-2"}),
    ('metadata.timeout > "20s"', {"op-1", "op-3"}),
)
def test_durations(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("done = false", {"op-1", "build-11", "bare"}),  # a missing done reads as false
    ("done:false", {"op-1", "build-11", "bare"}),
    ("done!=true", {"op-1", "build-11", "bare"}),
    ("done!=false", {"op-2", "op-3"}),
    ("metadata.flag=true", {"op-1"}),
    ("metadata.flag!=true", {"op-2"}),
    ("metadata.flag:false", {"op-2"}),
    ('metadata.flag="true"', set()),  # quoted is text, and a boolean is not text
    ("metadata.flag > false", set()),  # booleans have no order
)
def test_booleans(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("error.code=5", {"op-2"}),
    ("error.code=NOT_FOUND", {"op-2"}),
    ('error.code="5"', {"op-2"}),
    ('error.code="NOT_FOUND"', {"op-2"}),
    ("error.code=not_found", {"op-2"}),
    ("error.code:NOT_FOUND", {"op-2"}),
    ("error.code!=3", {"op-2"}),
    ("error.code>=NOT_FOUND", {"op-2"}),
    ("error.code<5", set()),
    ('error.message="not found: thing"', {"op-2"}),
)
def test_error_fields(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("done:*", {"op-2", "op-3", "build-11"}),  # present, even when false
    ("error:*", {"op-2"}),
    ("error.code:*", {"op-2"}),
    ("metadata:*", {"op-1", "op-2", "op-3", "build-11"}),
    ("metadata.labels:*", {"op-1", "op-2"}),
    ("metadata.tags:*", {"op-1", "op-3"}),
    ('metadata.tags:"*"', {"op-1", "op-3"}),
    ("-metadata:*", {"bare"}),
    ("metadata.NOTE:*", set()),  # a keyword prefix is not a keyword
    ("metadata.AND:*", set()),  # after a dot a keyword is a field name
)
def test_presence(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("metadata.labels:env", {"op-1", "op-2"}),
    ("metadata.labels:team", {"op-1"}),
    ('metadata.labels:"t*"', {"op-1"}),
    ("metadata.labels=env", set()),  # "=" does not look inside a map
    ("metadata.labels.env=prod", {"op-1"}),
    ("metadata.labels.env!=prod", {"op-2"}),
    ('metadata.labels."app.k8s.io/name"=web', {"op-1"}),
    ("metadata.labels.app.k8s.io/name=web", set()),
    ('metadata."@type"="type.googleapis.com/example.v1.JobMetadata"', {"op-1", "build-11"}),
    ("metadata.@type:*", {"op-1", "build-11"}),
)
def test_map_keys(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("metadata.tags:x", {"op-1"}),
    ("metadata.tags:y", {"op-1", "op-3"}),
    ("metadata.tags:w", set()),
    ('metadata.tags="x"', set()),  # "=" does not look inside a list
)
def test_list_membership(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ('metadata.missing="a"', set()),
    ('metadata.missing!="a"', set()),
    ('NOT metadata.missing="a"', ALL),
    ('-metadata.missing!="a"', ALL),
    ("metadata.labels.team!=b", {"op-1"}),  # op-2 has labels but no team
    ("error.code!=NOT_FOUND", set()),
    ("error.code!=3", {"op-2"}),
    ("NOT error.code=5", {"op-1", "op-3", "build-11", "bare"}),
    ('metadata.state!="X"', {"op-1", "op-2", "op-3"}),
    ("metadata.state.inner!=1", set()),  # traversing through a string finds nothing
)
def test_unset_fields_match_nothing(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    # OR binds tighter than AND and than juxtaposition: "a OR b c" is "(a OR b) AND c".
    ("metadata.state=RUNNING OR metadata.state=FAILED done=true", {"op-2"}),
    ("(metadata.state=RUNNING OR metadata.state=FAILED) done=true", {"op-2"}),
    ("metadata.state=RUNNING OR (metadata.state=FAILED done=true)", {"op-1", "op-2"}),
    ("metadata.state=RUNNING OR metadata.state=FAILED AND done=true", {"op-2"}),
    ("done=false AND metadata.state=RUNNING OR metadata.state=FAILED", {"op-1"}),
    ("done=false metadata.state=RUNNING OR metadata.state=FAILED", {"op-1"}),
    # NOT and "-" bind tightest, to one term.
    ("NOT done=true metadata.state=RUNNING", {"op-1"}),
    ("NOT metadata.state=RUNNING OR metadata.state=FAILED", {"op-2", "op-3", "build-11", "bare"}),
    ("-metadata.state=RUNNING", {"op-2", "op-3", "build-11", "bare"}),
    ("NOT (done=true OR metadata.state=RUNNING)", {"build-11", "bare"}),
    ("-(done=true OR metadata.state=RUNNING)", {"build-11", "bare"}),
    ("done=true -error:*", {"op-3"}),
)
def test_precedence(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("done=true metadata.state=FAILED", {"op-2"}),
    ("done=true AND metadata.state=FAILED", {"op-2"}),
    ("done=true\n\tmetadata.state=FAILED", {"op-2"}),
    ("((done=true))", {"op-2", "op-3"}),
    ("( done=true )( metadata.state=FAILED )", {"op-2"}),
    (
        "(metadata.state=RUNNING OR metadata.state=FAILED) AND (done=true OR metadata.flag=true)",
        {"op-1", "op-2"},
    ),
    ("name:* name:* name:*", ALL),
)
def test_implicit_and_and_parentheses(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


@table(
    ("metadata.word=and", {"op-1"}),  # lower case: plain text
    ("metadata.word=or", {"op-3"}),
    ('metadata.word="AND"', {"op-2"}),
    ("metadata.word=ANDY", set()),
)
def test_keywords_are_upper_case_only(text: str, expected: set[str]) -> None:
    assert matching(text) == expected


BAD_FILTERS = [
    ("done = ", 'expected a value after "=" at offset 7'),
    ("foo=1", 'unknown field "foo" at offset 0'),
    ('name.first="x"', 'unknown field "name.first"'),
    ("error.details:*", 'unknown field "error.details"'),
    ("response:*", "filterable fields are name, done"),
    ("foo", "bare values are not supported by this service"),
    ('"text"', '"text" has no comparator'),
    ("done=true foo", "no comparator at offset 10"),
    ("done=true and metadata.state=FAILED", '"and" has no comparator'),
    ("done=true or done=false", '"or" has no comparator'),
    ("not done=true", '"not" has no comparator'),
    ("f(x)", "function calls"),
    ('metadata.state.startsWith("R")', "are not supported by this service at offset 0"),
    ("(done=true", 'never closed: expected ")" at offset 10'),
    ("done=true)", 'unexpected ")" at offset 9'),
    ("()", "empty parentheses at offset 0"),
    ("done=true AND", "expected a field name at offset 13"),
    ("done=true OR", "expected a field name at offset 12"),
    ("OR done=true", "found the keyword OR"),
    ("NOT NOT done=true", "found the keyword NOT at offset 4"),
    ("done<true", "done is a boolean"),
    ("done >= false", "not >=false"),
    ('done="true"', "done is a boolean"),
    ("done=1", "with true or false"),
    ("error.code=abc", "error.code takes an integer or a code name, not 'abc'"),
    ("error.code=1.5", "error.code takes an integer"),
    ("error.code=NOT_*", "error.code takes an integer"),
    ("error=5", '"error" can only be tested for presence'),
    ('metadata="x"', '"metadata" can only be tested for presence'),
    ("metadata.createTime > 2030-01-01T00:00:00Z", 'unexpected ":" at offset 35'),
    ("metadata.word=AND", "AND is a keyword, quote it"),
    ('name="abc', "unterminated string"),
    ('name="a\\qb"', "unknown escape \\q"),
    ("done!true", 'expected "!=" at offset 4'),
    ("done==true", 'expected a value after "=" at offset 5'),
    ("metadata..x=1", 'unexpected "." at offset 9'),
    ("metadata.=1", 'unexpected "=" at offset 9'),
    ("x:", 'expected a value after ":" at offset 2'),
    ("done=true,", 'unexpected ","'),
    ("metadata.x=(a OR b)", 'expected a value after "="'),
    ("(" * 65 + "done=true" + ")" * 65, "nested deeper than 64"),
    ("done=true " * 500, "longer than the 4096 allowed"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILTERS, ids=[text[:40] for text, _ in BAD_FILTERS])
def test_bad_filters(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    assert message in str(caught.value)
    assert str(caught.value).startswith("filter: ")


def test_error_carries_position_and_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="offset 7") as caught:
        compile_filter("done = ")
    assert str(caught.value) == "filter: expected a value after \"=\" at offset 7 in 'done = '"
    assert isinstance(caught.value, FilterError)
    assert caught.value.position == 7
    with pytest.raises(FilterError) as too_long:
        compile_filter("x" * 5000)
    assert too_long.value.position is None


def test_limits_leave_room_for_legitimate_filters() -> None:
    nested = "(" * 64 + "done=true" + ")" * 64
    assert matching(nested) == {"op-2", "op-3"}
    long = "name:* " * 585  # 4095 characters, hundreds of terms: no recursion per term
    assert len(long) <= 4096
    assert matching(long) == ALL
    assert matching(" OR ".join(["metadata.state=RUNNING"] * 150)) == {"op-1"}


def test_predicate_does_no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    predicate = compile_filter('metadata.createTime > "2030-01-01T00:00:00Z" OR error.code=NOT_FOUND')

    def no_parsing(*args: object) -> None:
        raise AssertionError("evaluation parsed the filter again")

    monkeypatch.setattr(filters, "_Parser", no_parsing)
    assert [op["name"] for op in OPS if predicate(op)] == [
        "projects/p/operations/op-1",
        "projects/p/operations/op-2",
    ]
