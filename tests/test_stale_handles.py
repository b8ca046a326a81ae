"""Handles that outlive their test fail loudly, naming the test, and change nothing of the test now running.

The fixture hands every test the session's one emulator, reset per test. An `OperationHandle`, a `Starter`, a
`Fault` or `FaultBuilder`, or the emulator object itself, kept by a thread or a module global past its test, would
otherwise script or read a state nobody serves any more, or (the emulator) script the next test. Each raises
`StaleHandle` instead, naming the test it belonged to; outside pytest, a reset does the same ("before the last
reset"). The wire is left alone: a request from a client kept from an earlier test cannot be told apart.
"""

from __future__ import annotations

import re

import pytest

from lro_emulator import Emulator, LroEmulatorError, ScriptError, StaleHandle

THREAD_TESTS = '''
import threading

from lro_emulator import StaleHandle

# The thread waits on this until the second test releases it: never a sleep, and never before the first has ended.
RELEASED = threading.Condition()
SHARED = {"released": False, "errors": {}}


def test_one(lro_emulator):
    op = lro_emulator.add_operation()

    def after_the_test():
        with RELEASED:
            RELEASED.wait_for(lambda: SHARED["released"])
        uses = {"succeed": lambda: op.succeed(), "done": lambda: op.done,
                "add_operation": lambda: lro_emulator.add_operation(),
                "advance": lambda: lro_emulator.clock.advance(60)}
        for what, use in uses.items():
            try:
                use()
            except Exception as error:
                SHARED["errors"][what] = error

    SHARED["thread"] = threading.Thread(target=after_the_test, daemon=True)
    SHARED["thread"].start()  # still waiting when this test returns


def test_two(lro_emulator):
    with RELEASED:
        SHARED["released"] = True
        RELEASED.notify_all()
    SHARED["thread"].join(timeout=60)
    assert not SHARED["thread"].is_alive()

    errors = SHARED["errors"]
    assert sorted(errors) == ["add_operation", "advance", "done", "succeed"]
    for error in errors.values():
        assert isinstance(error, StaleHandle), repr(error)
        assert "test 'test_kept.py::test_one', which has ended" in str(error)
    assert lro_emulator.operations == []
    assert lro_emulator.calls.call_count == 0
    assert lro_emulator.clock.now().isoformat() == "2030-01-01T00:00:00+00:00"
'''


@pytest.mark.usefixtures("users_project")  # a user's project, run as from a fresh shell
def test_a_handle_and_the_emulator_kept_by_a_thread_refuse_once_their_test_ended(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kept=THREAD_TESTS)

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=2)


KEPT_TESTS = '''
import pytest

from lro_emulator import Emulator, StaleHandle

KEPT = {}
START = "POST /v1/{parent=projects/*/locations/*}/things"
STRUCT = {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {}}


def test_one(lro_emulator):
    KEPT.update(emulator=lro_emulator, operation=lro_emulator.add_operation(),
                starter=lro_emulator.on_start(http=START), fault=lro_emulator.fault(rpc="GetOperation").error(),
                builder=lro_emulator.fault(rpc="ListOperations"))


def entered(emulator):
    with emulator:
        pass


HANDLES = {
    "operation.update": lambda kept: kept["operation"].update(metadata=STRUCT),
    "operation.succeed": lambda kept: kept["operation"].succeed(),
    "operation.fail": lambda kept: kept["operation"].fail("INTERNAL", at=60),
    "operation.on_cancel": lambda kept: kept["operation"].on_cancel("refuse"),
    "operation.snapshot": lambda kept: kept["operation"].snapshot(),
    "operation.polls": lambda kept: kept["operation"].polls,
    "operation.done": lambda kept: kept["operation"].done,
    "operation.history": lambda kept: kept["operation"].history,
    "operation.calls": lambda kept: kept["operation"].calls,
    "starter.operations": lambda kept: kept["starter"].operations,
    "starter.requests": lambda kept: kept["starter"].requests,
    "fault.fired": lambda kept: kept["fault"].fired,
    "fault.matched": lambda kept: kept["fault"].matched,
    "builder.error": lambda kept: kept["builder"].error("UNAVAILABLE"),
    "builder.delay": lambda kept: kept["builder"].delay(30),
    "builder.reset": lambda kept: kept["builder"].reset(),
    "builder.respond": lambda kept: kept["builder"].respond({}),
    "emulator.__enter__": lambda kept: entered(kept["emulator"]),
}
# Every public member of the emulator: a property refuses when read, a method before it looks at its arguments.
MEMBERS = {f"emulator.{name}": name for name in vars(Emulator) if not name.startswith("_")}


@pytest.mark.parametrize("use", sorted([*HANDLES, *MEMBERS]))
def test_two(lro_emulator, use):
    mine = lro_emulator.add_operation(metadata=STRUCT).succeed(at=30)
    lro_emulator.clock.advance(10)
    before = (mine.snapshot(), lro_emulator.clock.now())

    with pytest.raises(StaleHandle) as raised:
        if use in HANDLES:
            HANDLES[use](KEPT)
        else:
            getattr(KEPT["emulator"], MEMBERS[use])()

    assert "belongs to test 'test_kept.py::test_one', which has ended" in str(raised.value)
    assert [op.name for op in lro_emulator.operations] == [mine.name]
    assert (mine.snapshot(), lro_emulator.clock.now()) == before
    assert (lro_emulator.calls.call_count, lro_emulator.faults, lro_emulator.starters) == (0, [], [])
'''


@pytest.mark.usefixtures("users_project")  # a user's project, run as from a fresh shell
def test_handles_kept_in_a_global_refuse_in_a_later_test_and_change_nothing_of_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_kept=KEPT_TESTS)

    result = pytester.runpytest("-p", "no:randomly")

    members = [name for name in vars(Emulator) if not name.startswith("_")]
    assert len(members) > 20  # properties and methods alike: url, clock, add_operation, reset, stop, ...
    result.assert_outcomes(passed=1 + 18 + len(members))


@pytest.mark.usefixtures("users_project")  # a user's project, run as from a fresh shell
def test_what_a_stale_handle_still_tells(pytester: pytest.Pytester) -> None:
    """Its identity (a name, a declared rule, a fault's aim) and its repr stay readable, for messages and reports."""
    pytester.makepyfile(test_kept='''
        KEPT = {}

        def test_one(lro_emulator):
            KEPT.update(emulator=lro_emulator, operation=lro_emulator.add_operation(),
                        starter=lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/things"),
                        fault=lro_emulator.fault(rpc="GetOperation").error())

        def test_two(lro_emulator):
            assert KEPT["operation"].name.endswith("/operations/op-1")
            assert KEPT["operation"].created == lro_emulator.clock.now()
            assert "op-1" in repr(KEPT["operation"])
            assert KEPT["starter"].http.text == "POST /v1/{parent=projects/*/locations/*}/things"
            assert KEPT["fault"].describe() == "fault 1: error UNAVAILABLE on GetOperation, every call"
            assert repr(KEPT["emulator"]) == "<Emulator of test 'test_kept.py::test_one', which has ended>"
            assert repr(lro_emulator).startswith("<Emulator generic http://127.0.0.1:")
    ''')

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


@pytest.mark.usefixtures("users_project")  # a user's project, run as from a fresh shell
def test_the_session_emulator_asks_for_a_reset_before_scripting_an_ended_tests_state(pytester: pytest.Pytester) -> None:
    """``lro_emulator_server`` used directly after a fixture test still holds that test's state; it says so."""
    pytester.makepyfile(test_kept='''
        import pytest
        from lro_emulator import StaleHandle

        def test_one(lro_emulator):
            lro_emulator.add_operation()

        def test_two(lro_emulator_server):
            assert lro_emulator_server.calls.call_count == 0  # reading what the state holds is fine
            with pytest.raises(StaleHandle, match=r"the emulator's state belongs to test 'test_kept.py::test_one', "
                                                  r"which has ended; reset\\(\\) the emulator before scripting"):
                lro_emulator_server.add_operation()

            lro_emulator_server.reset()
            op = lro_emulator_server.add_operation().succeed()
            assert op.done
    ''')

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# -- inside one test, and outside pytest ---------------------------------------------------------------------------

def test_a_reset_inside_a_test_retires_the_handles_before_it_and_keeps_the_emulator(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    builder = lro_emulator.fault(rpc="GetOperation")

    lro_emulator.reset()

    test = re.escape("tests/test_stale_handles.py::test_a_reset_inside_a_test_retires_the_handles_before_it")
    with pytest.raises(StaleHandle, match=f"belongs to the emulator's state in test '{test}.*' before the last reset"):
        op.succeed()
    with pytest.raises(StaleHandle, match="this FaultBuilder belongs"):
        builder.error()
    again = lro_emulator.add_operation()  # the test's emulator itself goes on, on the new state
    assert again.name == op.name
    assert again.succeed().done
    assert lro_emulator.faults == []


def test_outside_pytest_a_reset_retires_handles_saying_so() -> None:
    emu = Emulator()
    op = emu.add_operation("projects/p/operations/a")
    builder = emu.fault(rpc="GetOperation")
    starter = emu.on_start(http="POST /v1/{parent=projects/*/locations/*}/things")
    fault = emu.fault().error()

    emu.reset()
    emu.add_operation("projects/p/operations/a")

    uses = [op.succeed, lambda: op.snapshot(), lambda: op.polls, lambda: builder.error(), lambda: starter.operations,
            lambda: fault.fired]
    for use in uses:
        with pytest.raises(StaleHandle, match="belongs to the emulator's state before the last reset; a reset "
                                              "replaces every operation"):
            use()
    assert emu.operation("projects/p/operations/a").snapshot() == {"name": "projects/p/operations/a"}
    assert (emu.faults, emu.starters) == ([], [])


def test_the_first_error_wins_over_a_bad_argument() -> None:
    """A stale handle given a bad payload says it is stale: fixing the payload would not help."""
    emu = Emulator()
    op = emu.add_operation("projects/p/operations/a")
    emu.reset()

    with pytest.raises(StaleHandle):
        op.update(metadata={"@type": 42})
    with pytest.raises(StaleHandle):
        op.succeed(at=-1)


def test_stale_handle_is_a_runtime_error_of_ours_not_a_script_error() -> None:
    assert issubclass(StaleHandle, LroEmulatorError)
    assert issubclass(StaleHandle, RuntimeError)
    assert not issubclass(StaleHandle, ScriptError)  # an ``except ScriptError`` meant for a bad payload lets it by
