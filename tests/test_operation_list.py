"""``emu.operations`` reads as a list of handles, made as they are read: what a test does with a list works."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from lro_emulator import Emulator, OperationHandle, OperationList, StaleHandle


@pytest.fixture
def three(lro_emulator: Emulator) -> list[OperationHandle]:
    return [lro_emulator.add_operation(f"projects/p/operations/{name}") for name in "abc"]


def names(handles: object) -> list[str]:
    assert isinstance(handles, OperationList)
    return [handle.name for handle in handles]


def test_it_indexes_slices_and_iterates_in_creation_order(lro_emulator: Emulator, three: list[OperationHandle]) -> None:
    operations = lro_emulator.operations
    assert len(operations) == 3
    assert [operations[0].name, operations[-1].name] == ["projects/p/operations/a", "projects/p/operations/c"]
    assert names(operations) == [handle.name for handle in three]
    assert names(operations[1:]) == ["projects/p/operations/b", "projects/p/operations/c"]
    assert names(operations[::-1]) == [handle.name for handle in reversed(operations)]
    with pytest.raises(IndexError):
        operations[3]


def test_it_equals_a_list_of_the_same_handles(lro_emulator: Emulator, three: list[OperationHandle]) -> None:
    operations = lro_emulator.operations
    assert operations == three
    assert three == operations  # the list's own comparison defers to it
    assert operations == tuple(three)
    assert operations == lro_emulator.operations  # each read makes new handles of the same operations
    assert operations != three[:2]
    assert operations != [*three[:2], three[0]]
    assert operations != "abc"
    assert operations.index(three[1]) == 1
    assert three[2] in operations
    assert lro_emulator.operation("projects/p/operations/b") == three[1]
    assert len({*operations, *three}) == 3  # equal handles hash alike
    with pytest.raises(TypeError):
        hash(operations)


def test_it_is_what_lived_when_it_was_read(lro_emulator: Emulator, three: list[OperationHandle], http: Client) -> None:
    before = lro_emulator.operations
    assert http.delete(f"/v1/{three[0].name}").status_code == 200
    lro_emulator.add_operation("projects/p/operations/d")

    assert names(before) == ["projects/p/operations/a", "projects/p/operations/b", "projects/p/operations/c"]
    assert names(lro_emulator.operations) == ["projects/p/operations/b", "projects/p/operations/c",
                                              "projects/p/operations/d"]
    assert lro_emulator.operations != before


def test_no_operations_equals_an_empty_list(lro_emulator: Emulator) -> None:
    assert lro_emulator.operations == []
    assert not lro_emulator.operations
    assert repr(lro_emulator.operations) == "OperationList([])"


def test_its_handles_are_stale_after_a_reset_like_any_other(
    lro_emulator: Emulator, three: list[OperationHandle]
) -> None:
    kept = lro_emulator.operations
    lro_emulator.reset()

    handle = kept[0]  # made now, of the state the reset retired
    assert handle.name == "projects/p/operations/a"
    with pytest.raises(StaleHandle, match="before the last reset"):
        handle.succeed()
    with pytest.raises(StaleHandle):
        next(iter(kept)).snapshot()
    assert lro_emulator.operations == []
    assert kept != lro_emulator.operations


def test_handles_of_two_states_are_not_equal() -> None:
    first, second = Emulator(), Emulator()
    assert first.add_operation("projects/p/operations/a") != second.add_operation("projects/p/operations/a")
    assert first.operations != second.operations


def test_adding_makes_a_list_and_the_repr_stays_short(lro_emulator: Emulator, three: list[OperationHandle]) -> None:
    operations = lro_emulator.operations
    assert operations + three[:1] == [*three, three[0]]
    assert three[:1] + operations == [three[0], *three]
    assert isinstance(operations + operations, list)
    with pytest.raises(TypeError):
        operations + "abc"  # type: ignore[operator]

    for index in range(30):
        lro_emulator.add_operation(f"projects/p/operations/more-{index}")
    text = repr(lro_emulator.operations)
    assert text.count("<OperationHandle") == 20
    assert text.endswith(", ... 13 more])")
