"""The failure report: what ``emu.describe()`` draws, and when the pytest plugin shows it.

Each operation gets a 60-column time axis with a ``steps`` row (what the emulator did) and a
``calls`` row (what the client asked), then the fired and pending steps, a tally of its calls and
the notable ones; after the operations come the calls that name no live operation, the faults
with the instants they fired, and the emulator's own failures. A user's failing test that used the
fixture shows it as a report section; a passing test, or a test without the fixture, does not.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest
import requests
from google.api_core import operation
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.protobuf import struct_pb2

from lro_emulator import Emulator, EmulatorFailure
from lro_emulator.core.calls import format_offset  # internal: the offset format the report uses

from .helpers import get_status, struct

TITLE = "lro-emulator: operations, calls and faults"
LEGEND = ("  steps: o created, m metadata, * succeeded, X failed, C cancelled; "
          "calls: | answered, ! error or fault, 2-9/+ several in one column")
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
PARENT = "projects/test-project/locations/global"
WIDGETS = "POST /v1/{parent=projects/*/locations/*}/widgets"


def _until(emu: Emulator, seconds: float) -> None:
    """Move the virtual clock to ``seconds`` after it started (a virtual sleep)."""
    time.sleep(seconds - (emu.clock.now() - START).total_seconds())


def _row(marks: dict[int, str]) -> str:
    """A framed 60-column row with ``marks`` at their columns."""
    cells = [" "] * 60
    for column, mark in marks.items():
        cells[column] = mark
    return "[" + "".join(cells) + "]"


def _block(text: str, first: str) -> list[str]:
    """The lines from the one starting with ``first`` to the next unindented line."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(first))
    end = next((index for index in range(start + 1, len(lines)) if not lines[index].startswith(" ")), len(lines))
    return lines[start:end]


def _op_block(text: str, name: str) -> list[str]:
    return _block(text, f"{name}  (")


def test_an_emulator_with_nothing_to_tell(lro_emulator: Emulator) -> None:
    assert lro_emulator.describe().splitlines() == [
        "lro-emulator: generic profile; virtual clock 2030-01-01T00:00:00Z -> 2030-01-01T00:00:00Z (+0s); "
        "0 operation(s), 0 call(s)",
        "faults: none scripted",
        "schema violations and emulator failures: none",
    ]


def test_an_hour_long_operation_polled_by_a_real_future(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation().succeed(struct(ok=True), at=3600)
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    client = AbstractOperationsClient(transport=transport)
    try:
        future = operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct)
        assert future.result(timeout=7200)["ok"] is True
    finally:
        transport._session.close()
    calls = len(op.calls)
    last = format_offset(op.calls.poll_times[-1])

    text = lro_emulator.describe()

    lines = text.splitlines()
    assert lines[0] == (f"lro-emulator: generic profile; virtual clock 2030-01-01T00:00:00Z -> "
                        f"{lro_emulator.clock.now().isoformat().replace('+00:00', 'Z')} (+{last}); "
                        f"1 operation(s), {calls} call(s)")
    assert lines[1] == LEGEND
    block = _op_block(text, op.name)
    assert block[0] == f"{op.name}  (done with response at +1h; {op.polls} poll(s) answered)"
    assert block[1] == f"  time  [0s{'+' + last:>58}]"
    steps = block[2].removeprefix("  steps [").removesuffix("]")
    assert len(steps) == 60
    assert steps == "o" + " " * 58 + "*"  # done at +1h, a few seconds before the last poll: the last column
    row = block[3].removeprefix("  calls [").removesuffix("]")
    assert len(row) == 60
    assert set(row) <= set(" |23456789+")  # nothing failed
    assert row[0] != " "
    assert row[-1] != " "
    exact = sum(1 if mark == "|" else int(mark) for mark in row if mark in "|23456789")
    assert exact + 10 * row.count("+") <= calls
    assert row.count("+") > 0 or exact == calls
    assert block[4] == "  fired: +0s created, +1h succeed"
    assert block[5] == f"  calls: GetOperation {calls}"
    assert block[6:] == ["           +0s  GetOperation     http  200 OK",
                         f"    {'+' + last:>10}  GetOperation     http  200 OK"]


@pytest.fixture
def drawn(lro_emulator: Emulator) -> tuple[Emulator, str, str, str]:
    """A minute of history: one operation updated, polled (once faulted) and failed; one cancelled."""
    emu = lro_emulator
    failing = emu.add_operation().update(metadata=struct(step=1), at=10).fail("ABORTED", "lost", at=30)
    cancelled = emu.add_operation().on_cancel("accept")
    emu.fault(rpc="GetOperation", name=failing.name, nth=5).error("UNAVAILABLE")
    emu.fault(rpc="DeleteOperation").error("INTERNAL")
    assert get_status(emu, failing.name) == 200
    _until(emu, 20)
    assert [get_status(emu, failing.name) for _ in range(3)] == [200, 200, 200]
    _until(emu, 25)
    assert get_status(emu, failing.name) == 503
    _until(emu, 40)
    assert get_status(emu, failing.name) == 200
    _until(emu, 45)
    assert requests.post(f"{emu.url}/v1/{cancelled.name}:cancel", timeout=10).status_code == 200
    _until(emu, 59)  # a 59-second axis: column n is second n
    return emu, emu.describe(), failing.name, cancelled.name


def test_the_header_counts_operations_and_calls_over_the_virtual_span(drawn: tuple[Emulator, str, str, str]) -> None:
    _, text, _, _ = drawn

    assert text.splitlines()[:2] == [
        "lro-emulator: generic profile; virtual clock 2030-01-01T00:00:00Z -> 2030-01-01T00:00:59Z (+59s); "
        "2 operation(s), 7 call(s)",
        LEGEND,
    ]


def test_a_failed_operation_with_a_faulted_poll(drawn: tuple[Emulator, str, str, str]) -> None:
    _, text, failing, _ = drawn

    assert _op_block(text, failing) == [
        f"{failing}  (done with error at +30s; 5 poll(s) answered)",
        f"  time  [0s{'+59s':>58}]",
        "  steps " + _row({0: "o", 10: "m", 30: "X"}),
        "  calls " + _row({0: "|", 20: "3", 25: "!", 40: "|"}),
        "  fired: +0s created, +10s update, +30s fail",
        "  calls: GetOperation 6 (1 UNAVAILABLE, 1 faulted)",
        "           +0s  GetOperation     http  200 OK",
        f"          +25s  GetOperation     http  503 UNAVAILABLE  [fault 1: error UNAVAILABLE on GetOperation "
        f"{failing}, call 5 only]",
        "          +40s  GetOperation     http  200 OK",
    ]


def test_a_cancelled_operation(drawn: tuple[Emulator, str, str, str]) -> None:
    _, text, _, cancelled = drawn

    assert _op_block(text, cancelled) == [
        f"{cancelled}  (cancelled at +45s; 0 poll(s) answered)",
        f"  time  [0s{'+59s':>58}]",
        "  steps " + _row({0: "o", 45: "C"}),
        "  calls " + _row({45: "|"}),
        "  fired: +0s created, +45s cancel",
        "  calls: CancelOperation 1",
        "          +45s  CancelOperation  http  200 OK",
    ]


def test_the_faults_section_says_when_each_fault_fired(drawn: tuple[Emulator, str, str, str]) -> None:
    _, text, failing, _ = drawn

    assert _block(text, "faults:") == [
        "faults:",
        f"  fault 1: error UNAVAILABLE on GetOperation {failing}, call 5 only: fired 1 of 6 aimed call(s) at +25s",
        "  fault 2: error INTERNAL on DeleteOperation, every call: fired 0 of 0 aimed call(s)",
    ]
    assert "other calls" not in text
    assert text.splitlines()[-1] == "schema violations and emulator failures: none"


def test_a_call_that_met_a_fault_is_marked_even_when_it_was_answered(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation", nth=2).delay(3)
    for second in (0, 10, 20):
        _until(lro_emulator, second)
        assert get_status(lro_emulator, op.name) == 200
    _until(lro_emulator, 59)

    block = _op_block(lro_emulator.describe(), op.name)

    assert block[3] == "  calls " + _row({0: "|", 10: "!", 20: "|"})
    assert block[5:] == [
        "  calls: GetOperation 3 (1 faulted)",
        "           +0s  GetOperation     http  200 OK",
        "          +10s  GetOperation     http  200 OK  [fault 1: delay 3s on GetOperation, call 2 only]",
        "          +20s  GetOperation     http  200 OK",
    ]


def test_a_fault_that_fired_often_lists_its_first_ten_instants(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation", first=12).error("UNAVAILABLE")
    for second in range(1, 14):
        _until(lro_emulator, second)
        get_status(lro_emulator, op.name)

    text = lro_emulator.describe()

    instants = ", ".join(f"+{second}s" for second in range(1, 11))
    assert _block(text, "faults:")[1] == ("  fault 1: error UNAVAILABLE on GetOperation, first 12 calls: "
                                          f"fired 12 of 13 aimed call(s) at {instants}, ... (12 in all)")
    row = _op_block(text, op.name)[3].removeprefix("  calls [").removesuffix("]")
    assert row.count("!") == 12
    assert row.count("|") == 1


def test_a_long_run_of_failed_polls_still_shows_the_last_call_and_says_what_was_left_out(
    lro_emulator: Emulator,
) -> None:
    op = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation").error("UNAVAILABLE")
    for second in range(50):
        _until(lro_emulator, second)
        assert get_status(lro_emulator, op.name) == 503

    block = _op_block(lro_emulator.describe(), op.name)

    assert block[5] == "  calls: GetOperation 50 (50 UNAVAILABLE, 50 faulted)"
    listed = block[6:]
    assert listed[0].split()[0] == "+0s"
    assert any(line.split()[0] == "+49s" for line in listed), "the last call the client made is not shown"
    assert len(listed) > 40 or any("more" in line for line in listed), "calls were left out without a word"


def test_pending_steps_are_listed(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation().update(metadata=struct(step=1), at=5).succeed(struct(ok=True), at=20)
    _until(lro_emulator, 10)
    waiting = lro_emulator.add_operation().update(metadata=struct(step=1), after_polls=2)
    waiting.succeed(struct(ok=True), after_polls=3)

    text = lro_emulator.describe()

    assert _op_block(text, op.name)[0] == f"{op.name}  (not done, 1 step(s) pending; 0 poll(s) answered)"
    assert _op_block(text, op.name)[-1] == "  pending: succeed at +20s"
    assert _op_block(text, waiting.name)[0] == f"{waiting.name}  (not done, 2 step(s) pending; 0 poll(s) answered)"
    assert _op_block(text, waiting.name)[-1] == "  pending: update after 2 polls, succeed after 3 polls"
    assert _op_block(text, waiting.name)[4] == "  fired: +10s created"


def test_a_pending_instant_is_on_the_same_axis_as_the_fired_steps(lro_emulator: Emulator) -> None:
    _until(lro_emulator, 10)
    op = lro_emulator.add_operation().succeed(struct(ok=True), at=20)  # due 30 s after the clock started

    block = _op_block(lro_emulator.describe(), op.name)

    assert block[4] == "  fired: +10s created"  # the block's instants count from the clock's start...
    pending = block[-1]
    assert pending.startswith("  pending: succeed ")
    # ...so the pending step, due at +30s there, must not read as +20s on the same axis.
    assert "+30s" in pending or "20s after creation" in pending, pending


def test_an_operation_never_polled_has_no_calls_lines(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    block = _op_block(lro_emulator.describe(), op.name)

    assert block == [
        f"{op.name}  (not done, nothing more scripted; 0 poll(s) answered)",
        f"  time  [0s{'+0s':>58}]",
        "  steps " + _row({0: "o"}),
        "  calls " + _row({}),
        "  fired: +0s created",
    ]


def test_more_than_twelve_operations_are_counted_not_drawn(lro_emulator: Emulator) -> None:
    names = [lro_emulator.add_operation().name for _ in range(15)]

    text = lro_emulator.describe()

    drawn = [line.split("  (")[0] for line in text.splitlines() if line.startswith(f"{PARENT}/operations/")]
    assert drawn == names[:12]
    assert "... and 3 more operation(s)" in text.splitlines()
    assert "15 operation(s), 0 call(s)" in text.splitlines()[0]


def test_calls_naming_no_live_operation_are_summarized_as_other_calls(lro_emulator: Emulator) -> None:
    gone = lro_emulator.add_operation()
    assert requests.delete(f"{lro_emulator.url}/v1/{gone.name}", timeout=10).status_code == 200
    _until(lro_emulator, 3)
    assert get_status(lro_emulator, gone.name) == 404
    assert get_status(lro_emulator, f"{PARENT}/operations") == 200
    assert get_status(lro_emulator, f"{PARENT}/operations/nope") == 404
    assert get_status(lro_emulator, "nothing/here") == 404

    text = lro_emulator.describe()

    assert _block(text, "other calls") == [
        "other calls (collections, starts, deleted or unknown operations): DeleteOperation 1, "
        "GetOperation 2 (2 NOT_FOUND), ListOperations 1, GET (no route) 1 (1 NOT_FOUND)",
        f"           +0s  DeleteOperation  http  200 OK  {gone.name}",
        f"           +3s  GetOperation     http  404 NOT_FOUND  {gone.name}",
        f"           +3s  ListOperations   http  200 OK  {PARENT}",
        f"           +3s  GetOperation     http  404 NOT_FOUND  {PARENT}/operations/nope",
        "           +3s  GET /v1/nothing/here http  404 NOT_FOUND",
    ]
    assert "0 operation(s), 5 call(s)" in text.splitlines()[0]
    assert LEGEND not in text.splitlines()


def test_many_other_calls_show_their_ends_and_every_failure(lro_emulator: Emulator) -> None:
    for second in range(25):
        _until(lro_emulator, second)
        assert get_status(lro_emulator, f"{PARENT}/operations") == 200
        if second == 10:
            assert get_status(lro_emulator, f"{PARENT}/operations/nope") == 404

    shown = _block(lro_emulator.describe(), "other calls")[1:]

    assert [line.split()[0] for line in shown] == [f"+{second}s" for second in (0, 1, 2, 10, 22, 23, 24)]
    assert [line.split()[3] for line in shown].count("404") == 1
    assert f"+10s  GetOperation     http  404 NOT_FOUND  {PARENT}/operations/nope" in shown[3]


def test_an_emulator_failure_is_listed(lro_emulator: Emulator) -> None:
    def broken(op: object, request: object) -> None:
        raise ZeroDivisionError("the script's own bug")

    lro_emulator.on_start(http=WIDGETS, script=broken)
    assert requests.post(f"{lro_emulator.url}/v1/{PARENT}/widgets", json={}, timeout=10).status_code == 500
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()  # the failure is the point here, not a failure of this test

    text = lro_emulator.describe()

    assert _block(text, "schema violations and emulator failures:") == [
        "schema violations and emulator failures:",
        "  - ZeroDivisionError: the script's own bug",
    ]
    assert _block(text, "other calls")[1] == f"           +0s  {WIDGETS} http  500 INTERNAL"


# -- the report section in a user's pytest run --------------------------------------------------------


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: pytest-asyncio installed, so its loop scope is set, or it warns at start-up."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


USERS_SUITE = '''
import pytest, requests
from google.api_core import operation
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.protobuf import struct_pb2

STRUCT = "type.googleapis.com/google.protobuf.Struct"


def poll_to_the_end(emu):
    op = emu.add_operation().succeed({"@type": STRUCT, "value": {"ok": True}}, at=30)
    transport = OperationsRestTransport(host=emu.url, credentials=AnonymousCredentials())
    client = AbstractOperationsClient(transport=transport)
    try:
        operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct).result(timeout=300)
    finally:
        transport._session.close()
    return op


def test_fails_after_polling(lro_emulator):
    op = poll_to_the_end(lro_emulator)
    print("polled", op.polls, "times")
    op.calls.assert_polled(1)


def test_passes_after_polling(lro_emulator):
    op = poll_to_the_end(lro_emulator)
    print("polled", op.polls, "times")
    op.calls.assert_polled()


def test_fails_without_the_fixture():
    print("no emulator here")
    assert 1 == 2


def test_leaves_an_emulator_failure(lro_emulator):
    def broken(op, request):
        raise ZeroDivisionError("the script's own bug")

    lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/widgets", script=broken)
    answer = requests.post(f"{lro_emulator.url}/v1/projects/p/locations/l/widgets", json={}, timeout=10)
    assert answer.status_code == 500


@pytest.fixture
def breaks_on_teardown(lro_emulator):
    yield lro_emulator
    raise RuntimeError("teardown broke")


def test_errs_in_teardown(breaks_on_teardown):
    breaks_on_teardown.add_operation()
    print("the test itself passed")
'''


def _chunks(lines: list[str]) -> dict[str, list[str]]:
    """The output under each ``___ test_x ___`` / ``___ ERROR at teardown of test_x ___`` headline."""
    chunks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        headline = re.fullmatch(r"_{3,} (.+?) _{3,}", line)
        if headline:
            current = chunks.setdefault(headline.group(1), [])
        elif line.startswith("=") or re.fullmatch(r"_+", line):
            current = None
        elif current is not None:
            current.append(line)
    return chunks


def _has_section(chunk: list[str]) -> bool:
    return any(re.fullmatch(rf"-+ {re.escape(TITLE)} -+", line) for line in chunk)


def test_the_report_section_appears_on_failures_that_used_the_emulator_only(user_project: pytest.Pytester) -> None:
    user_project.makepyfile(test_users=USERS_SUITE)

    result = user_project.runpytest("-rA", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=3, errors=1)
    chunks = _chunks(result.outlines)
    failed = chunks["test_fails_after_polling"]
    assert _has_section(failed)
    report = failed[next(index for index, line in enumerate(failed) if TITLE in line) + 1:]
    assert report[0].startswith("lro-emulator: generic profile; virtual clock 2030-01-01T00:00:00Z -> ")
    assert report[1] == LEGEND
    assert report[2].startswith(f"{PARENT}/operations/op-1  (done with response at +30s; ")
    assert report[4].startswith("  steps [o")
    assert re.fullmatch(r"  calls \[[ |2-9+]{60}\]", report[5])
    assert "polled" in " ".join(failed)  # the test's own output is still there
    assert "to be polled once; it was polled" in "\n".join(failed)

    passed = chunks["test_passes_after_polling"]  # -rA shows what a passing test captured...
    assert any(line.startswith("polled ") for line in passed)
    assert not _has_section(passed)  # ...but no report
    without = chunks["test_fails_without_the_fixture"]
    assert any("assert 1 == 2" in line for line in without)
    assert not _has_section(without)

    broken = chunks["test_leaves_an_emulator_failure"]
    assert any("EmulatorFailure" in line for line in broken)
    assert _has_section(broken)
    assert "  - ZeroDivisionError: the script's own bug" in broken

    teardown = chunks["ERROR at teardown of test_errs_in_teardown"]
    assert any("RuntimeError: teardown broke" in line for line in teardown)
    assert _has_section(teardown)
    assert TITLE not in "\n".join(chunks["test_errs_in_teardown"])  # its call phase passed


FAILING_TEST = '''
def test_fails(lro_emulator):
    op = lro_emulator.add_operation()
    print("captured output")
    assert op.done
'''


@pytest.mark.parametrize(
    ("show_capture", "shown"),
    [("all", True), ("no", False), ("stdout", False)],
)
def test_show_capture_decides_whether_the_section_is_printed(
    user_project: pytest.Pytester, show_capture: str, shown: bool
) -> None:
    # pytest prints a report section only when --show-capture is "all" or a word in its title.
    user_project.makepyfile(test_users=FAILING_TEST)

    result = user_project.runpytest(f"--show-capture={show_capture}", "-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    output = "\n".join(result.outlines)
    assert "assert False" in output
    assert (TITLE in output) is shown
    assert ("Captured stdout call" in output) is (show_capture != "no")
