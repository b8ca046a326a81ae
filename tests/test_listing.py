"""ListOperations through REST: AIP-158 paging, collections, partial success and AIP-160 filters.

Paging is walked the way clients walk it: follow ``nextPageToken`` until it is absent, then check
that every operation came exactly once, in creation order.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from lro_emulator import Emulator

JSON = dict[str, Any]
P = "projects/p"
META = "type.googleapis.com/google.earthengine.v1.OperationMetadata"
RESERVED = "retrain & fix #3 + a=b"


def _list(http: Client, parent: str = P, **params: Any) -> JSON:
    """One page; fails unless it is a 200. ``params`` are query parameters, URL-encoded here."""
    __tracebackhide__ = True
    path = f"/v1/{parent}/operations" if parent else "/v1/operations"
    response = http.get(path, query_string=urlencode(params))
    body: JSON = response.get_json()
    assert response.status_code == 200, body
    return body


def _names(page: JSON) -> list[str]:
    return [op["name"] for op in page.get("operations", [])]


def _flat(pages: list[list[str]]) -> list[str]:
    return [name for page in pages for name in page]


def _walk(http: Client, parent: str = P, **params: Any) -> list[list[str]]:
    """Every page's names, following nextPageToken to the end (from ``pageToken`` when given)."""
    pages: list[list[str]] = []
    while True:
        page = _list(http, parent, **params)
        pages.append(_names(page))
        if "nextPageToken" not in page:  # absent on the last page, not ""
            return pages
        assert page["nextPageToken"]
        params["pageToken"] = page["nextPageToken"]


def _add(emulator: Emulator, count: int, parent: str = P) -> list[str]:
    return [emulator.add_operation(parent=parent).name for _ in range(count)]


def _status(http: Client, parent: str = P, **params: Any) -> tuple[int, str, str]:
    response = http.get(f"/v1/{parent}/operations", query_string=urlencode(params))
    error = response.get_json()["error"]
    return response.status_code, error["status"], error["message"]


# -- page sizes -------------------------------------------------------------------------------------------


def test_default_page_size_is_50(lro_emulator: Emulator, http: Client) -> None:
    names = _add(lro_emulator, 120)

    pages = _walk(http)

    assert [len(page) for page in pages] == [50, 50, 20]
    assert _flat(pages) == names


@pytest.mark.parametrize("page_size", [0, "0"], ids=["zero", "zero-string"])
def test_page_size_zero_means_the_default(lro_emulator: Emulator, http: Client, page_size: Any) -> None:
    names = _add(lro_emulator, 51)

    pages = _walk(http, pageSize=page_size)

    assert [len(page) for page in pages] == [50, 1]
    assert _flat(pages) == names


def test_page_size_above_1000_is_coerced_to_1000(lro_emulator: Emulator, http: Client) -> None:
    names = _add(lro_emulator, 1005)

    pages = _walk(http, pageSize=5000)

    assert [len(page) for page in pages] == [1000, 5]
    assert _flat(pages) == names


@pytest.mark.parametrize(("count", "page_size", "sizes"), [
    pytest.param(10, 10, [10], id="one-full-page"),
    pytest.param(10, 5, [5, 5], id="last-page-full"),
    pytest.param(10, 3, [3, 3, 3, 1], id="last-page-short"),
    pytest.param(1, 1000, [1], id="one-operation"),
])
def test_next_page_token_absent_on_the_last_page(
    lro_emulator: Emulator, http: Client, count: int, page_size: int, sizes: list[int]
) -> None:
    names = _add(lro_emulator, count)

    pages = _walk(http, pageSize=page_size)  # _walk asserts the last page has no nextPageToken key

    assert [len(page) for page in pages] == sizes
    assert _flat(pages) == names


def test_page_token_is_opaque_and_url_safe(lro_emulator: Emulator, http: Client) -> None:
    _add(lro_emulator, 3)

    token = _list(http, pageSize=1)["nextPageToken"]

    assert token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_page_size_may_change_between_pages(lro_emulator: Emulator, http: Client) -> None:
    names = _add(lro_emulator, 6)
    token = _list(http, pageSize=2)["nextPageToken"]

    page = _list(http, pageSize=10, pageToken=token)

    assert page == {"operations": [{"name": name} for name in names[2:]]}


# -- stability across pages -----------------------------------------------------------------------------


def test_each_operation_once_in_creation_order_across_parents(lro_emulator: Emulator, http: Client) -> None:
    created: dict[str, list[str]] = {"projects/p": [], "projects/q": []}
    for index in range(30):  # interleaved, so a page of one parent must skip the other's
        parent = "projects/p" if index % 3 else "projects/q"
        created[parent].append(lro_emulator.add_operation(parent=parent).name)

    assert _flat(_walk(http, "projects/p", pageSize=7)) == created["projects/p"]
    assert _flat(_walk(http, "projects/q", pageSize=7)) == created["projects/q"]


def test_operations_added_between_pages_come_once_at_the_end(lro_emulator: Emulator, http: Client) -> None:
    names = _add(lro_emulator, 10)
    first = _list(http, pageSize=4)
    added = _add(lro_emulator, 3)

    rest = _walk(http, pageSize=4, pageToken=first["nextPageToken"])

    assert _names(first) + _flat(rest) == names + added


def test_operations_deleted_between_pages_vanish_without_skipping_others(
    lro_emulator: Emulator, http: Client
) -> None:
    names = _add(lro_emulator, 12)
    first = _list(http, pageSize=4)
    # The token's own anchor (the first page's last operation), one on the next page, and the very last.
    deleted = [names[3], names[5], names[11]]
    for name in deleted:
        assert http.delete(f"/v1/{name}").status_code == 200

    rest = _walk(http, pageSize=4, pageToken=first["nextPageToken"])

    assert rest == [names[4:5] + names[6:9], names[9:11]]
    assert _names(first) == names[:4]


def test_mass_deletion_between_pages_skips_nothing(lro_emulator: Emulator, http: Client) -> None:
    # Over a thousand deletions make the store drop its deleted records; the walk must not notice.
    names = _add(lro_emulator, 2100)
    others = _add(lro_emulator, 3, "projects/q")
    first = _list(http, pageSize=10)
    for name in names[5:1200]:
        assert http.delete(f"/v1/{name}").status_code == 200

    rest = _walk(http, pageSize=300, pageToken=first["nextPageToken"])

    assert _names(first) + _flat(rest) == names[:10] + names[1200:]
    assert _walk(http, "projects/q") == [others]


def test_listing_is_not_a_poll(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(parent=P).succeed(after_polls=1)

    assert _list(http) == {"operations": [{"name": op.name}]}
    assert (op.polls, op.done) == (0, False)


def test_operations_finishing_between_pages_keep_their_place(lro_emulator: Emulator, http: Client) -> None:
    ops = [lro_emulator.add_operation(parent=P).succeed(at=10 * (index + 1)) for index in range(6)]
    first = _list(http, pageSize=3)
    lro_emulator.clock.advance(35)

    second = _list(http, pageSize=3, pageToken=first["nextPageToken"])

    assert _names(first) + _names(second) == [op.name for op in ops]
    assert [op.get("done", False) for op in second["operations"]] == [False, False, False]
    assert lro_emulator.operation(ops[0].name).done


@pytest.mark.parametrize(("other", "change"), [
    pytest.param({"filter": "done=true"}, "filter", id="different-filter"),
    pytest.param({"parent": "projects/q"}, "parent", id="different-parent"),
    pytest.param({"parent": "projects/p/locations/l"}, "parent", id="child-parent"),
])
def test_token_reused_with_a_different_filter_or_parent_is_invalid(
    lro_emulator: Emulator, http: Client, other: dict[str, str], change: str
) -> None:
    _add(lro_emulator, 3)
    _add(lro_emulator, 3, "projects/q")
    token = _list(http, pageSize=1)["nextPageToken"]
    params = {"pageSize": 1, "pageToken": token, **{k: v for k, v in other.items() if k != "parent"}}

    status, code, message = _status(http, other.get("parent", P), **params)

    assert (status, code) == (400, "INVALID_ARGUMENT")
    assert "pageToken was issued for a different parent or filter" in message


def test_token_with_the_same_filter_continues(lro_emulator: Emulator, http: Client) -> None:
    ops = [lro_emulator.add_operation(parent=P) for _ in range(9)]
    for op in ops[::2]:
        op.succeed()

    pages = _walk(http, pageSize=2, filter="done=true")

    assert pages == [[ops[0].name, ops[2].name], [ops[4].name, ops[6].name], [ops[8].name]]


def test_token_absent_when_no_later_operation_matches(lro_emulator: Emulator, http: Client) -> None:
    ops = [lro_emulator.add_operation(parent=P) for _ in range(6)]
    ops[0].succeed()
    ops[1].succeed()  # the page fills with these two; nothing after them matches

    page = _list(http, pageSize=2, filter="done=true")

    assert _names(page) == [ops[0].name, ops[1].name]
    assert "nextPageToken" not in page


# -- collections -------------------------------------------------------------------------------------------


@pytest.mark.lro_emulator(profile="vertex")
def test_nested_vertex_collection_lists_only_that_collection(lro_emulator: Emulator, http: Client) -> None:
    location = "projects/p/locations/l"
    names = {
        parent: _add(lro_emulator, 2, parent)
        for parent in (location, f"{location}/datasets/d", f"{location}/datasets/e", "projects/p/locations/m")
    }

    assert _list(http, f"{location}/datasets/d") == {
        "operations": [{"name": name} for name in names[f"{location}/datasets/d"]]
    }
    assert _names(_list(http, location)) == names[location]


def test_cross_collection_parent_lists_across_locations(lro_emulator: Emulator, http: Client) -> None:
    a = lro_emulator.add_operation(parent="projects/p/locations/a").name
    lro_emulator.add_operation(parent="projects/q/locations/a")
    b = lro_emulator.add_operation(parent="projects/p/locations/b").name
    lro_emulator.add_operation(parent="projects/p/locations/a/datasets/d")
    lro_emulator.add_operation(parent="projects/p")
    c = lro_emulator.add_operation(parent="projects/p/locations/a").name

    assert _walk(http, "projects/p/locations/-") == [[a, b, c]]
    assert _walk(http, "projects/p/locations/-", pageSize=1) == [[a], [b], [c]]
    assert lro_emulator.calls.last.name == "projects/p/locations/-"


def test_global_collection_lists_only_global_operations(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(parent=P)
    names = [lro_emulator.add_operation(f"operations/g{i}").name for i in range(3)]

    assert _walk(http, "", pageSize=2) == [names[:2], names[2:]]


# -- partial success ----------------------------------------------------------------------------------------


@pytest.mark.lro_emulator(profile="earthengine")
def test_return_partial_success_is_unimplemented_on_earthengine(lro_emulator: Emulator, http: Client) -> None:
    _add(lro_emulator, 1)

    status, code, message = _status(http, returnPartialSuccess="true")

    assert (status, code, message) == (
        501, "UNIMPLEMENTED", "returnPartialSuccess is not supported by the earthengine profile"
    )


def test_return_partial_success_is_ok_on_generic(lro_emulator: Emulator, http: Client) -> None:
    names = _add(lro_emulator, 2, "projects/p/locations/a")

    page = _list(http, "projects/p/locations/-", returnPartialSuccess="true")

    assert page == {"operations": [{"name": name} for name in names]}


# -- filters ------------------------------------------------------------------------------------------------


@pytest.fixture
def jobs(lro_emulator: Emulator) -> dict[str, str]:
    """Six operations under projects/p in known states, by short label."""

    def add(label: str, state: str, priority: int, description: str = "") -> Any:
        metadata = {"@type": META, "state": state, "priority": priority, "description": description or f"job {label}"}
        return lro_emulator.add_operation(f"{P}/operations/{label}", metadata)

    add("export-1", "RUNNING", 100)
    add("export-2", "SUCCEEDED", 100).succeed()
    add("ingest-1", "FAILED", 50).fail("NOT_FOUND", "no such table")
    add("ingest-2", "CANCELLED", 200).fail("CANCELLED", "stopped")
    add("ingest-3", "PENDING", 300)
    add("train-1", "FAILED", 10, RESERVED).fail(3, "bad input")
    lro_emulator.add_operation("projects/q/operations/export-9", {"@type": META, "state": "RUNNING"})
    return {op.name.rsplit("/", 1)[1]: op.name for op in lro_emulator.operations}


@pytest.mark.parametrize(("text", "labels"), [
    pytest.param("done=true", ["export-2", "ingest-1", "ingest-2", "train-1"], id="done"),
    pytest.param("done:true", ["export-2", "ingest-1", "ingest-2", "train-1"], id="done-has"),
    pytest.param("done=false", ["export-1", "ingest-3"], id="not-done"),
    pytest.param("NOT done=true", ["export-1", "ingest-3"], id="NOT-done"),
    pytest.param("error.code=5", ["ingest-1"], id="error-code-number"),
    pytest.param("error.code=NOT_FOUND", ["ingest-1"], id="error-code-name"),
    pytest.param("error.code=1 OR error.code=3", ["ingest-2", "train-1"], id="error-code-or"),
    pytest.param("error:*", ["ingest-1", "ingest-2", "train-1"], id="error-present"),
    pytest.param('metadata.state="RUNNING"', ["export-1"], id="metadata-state"),
    pytest.param("metadata.state=FAILED", ["ingest-1", "train-1"], id="metadata-state-unquoted"),
    pytest.param("metadata.priority>=100", ["export-1", "export-2", "ingest-2", "ingest-3"], id="metadata-number"),
    pytest.param('metadata.description="job ingest-2"', ["ingest-2"], id="metadata-with-space"),
    pytest.param('metadata.state="*ED"', ["export-2", "ingest-1", "ingest-2", "train-1"], id="metadata-wildcard"),
    pytest.param('name="projects/p/operations/ingest-*"', ["ingest-1", "ingest-2", "ingest-3"], id="name-wildcard"),
    pytest.param('name="projects/p/operations/export-1"', ["export-1"], id="name-exact"),
    pytest.param('name="*-1" AND done=false', ["export-1"], id="name-and-done"),
    pytest.param('done=true metadata.priority<100', ["ingest-1", "train-1"], id="implicit-and"),
    pytest.param('(metadata.state="PENDING" OR error.code=5) AND -done=true', ["ingest-3"], id="parentheses"),
    pytest.param('metadata.state="NOPE"', [], id="matches-none"),
    pytest.param("", ["export-1", "export-2", "ingest-1", "ingest-2", "ingest-3", "train-1"], id="empty"),
])
def test_filter_through_the_query_string(http: Client, jobs: dict[str, str], text: str, labels: list[str]) -> None:
    page = _list(http, filter=text)

    assert _names(page) == [jobs[label] for label in labels]
    assert "nextPageToken" not in page


def test_filter_with_reserved_characters_is_url_decoded(http: Client, jobs: dict[str, str]) -> None:
    # Unencoded, '&' and '#' would cut the query short and '+' would read as a space.
    text = f'metadata.description="{RESERVED}" OR metadata.description="job ingest-2"'
    query = urlencode({"filter": text})
    assert [part for part in ("%26", "%23", "%2B", "+") if part not in query] == []

    response = http.get(f"/v1/{P}/operations", query_string=query)

    assert (response.status_code, _names(response.get_json())) == (200, [jobs["ingest-2"], jobs["train-1"]])


@pytest.mark.parametrize("params", [
    pytest.param({"parent": "projects/nobody"}, id="collection-without-operations"),
    pytest.param({"filter": "done=true AND done=false"}, id="filter-matching-nothing"),
    pytest.param({"parent": "projects/nobody", "pageSize": 5, "returnPartialSuccess": "true"}, id="with-parameters"),
])
def test_empty_list_is_an_empty_object(lro_emulator: Emulator, http: Client, params: dict[str, Any]) -> None:
    _add(lro_emulator, 3)
    params = dict(params)

    response = http.get(f"/v1/{params.pop('parent', P)}/operations", query_string=urlencode(params))

    assert (response.status_code, response.get_data()) == (200, b"{}")
