"""The pytest plugin as a user meets it: installed, with no conftest, in someone else's test suite."""

from __future__ import annotations

import datetime
import time

import pytest

# Every test here runs a user's project (the shared ``users_project`` fixture sets it up).
pytestmark = pytest.mark.usefixtures("users_project")


USER_TESTS = '''
import datetime, random, time
import pytest

SEEN = {}

def test_first(lro_emulator):
    SEEN["url"] = lro_emulator.url
    assert lro_emulator.add_operation().name.endswith("/operations/op-1")
    lro_emulator.clock.advance(99)
    SEEN["jitter"] = random.random()

def test_second_gets_fresh_state_on_the_same_server(lro_emulator):
    assert lro_emulator.url == SEEN["url"]
    assert lro_emulator.operations == []
    assert lro_emulator.calls.call_count == 0
    assert lro_emulator.add_operation().name.endswith("/operations/op-1")
    assert lro_emulator.clock.now().isoformat() == "2030-01-01T00:00:00+00:00"
    assert random.random() == SEEN["jitter"]  # seeded the same in every test
'''


def test_the_fixture_comes_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)

    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_opt_in_when_plugin_autoload_is_disabled(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    without = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    with_opt_in = pytester.runpytest_subprocess("-p", "lro_emulator.plugin", "-p", "no:cacheprovider")

    without.stdout.fnmatch_lines(["*fixture 'lro_emulator' not found*"])
    with_opt_in.assert_outcomes(passed=2)


def test_time_is_virtual_inside_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import datetime, time

        def test_sleep_moves_the_emulator_clock(lro_emulator):
            start = lro_emulator.clock.now()
            monotonic = time.monotonic()
            time.sleep(3600)
            assert lro_emulator.clock.now() - start == datetime.timedelta(hours=1)
            assert time.monotonic() - monotonic == 3600
            assert datetime.datetime.now(datetime.timezone.utc) == lro_emulator.clock.now()
            assert time.time() == lro_emulator.clock.now().timestamp()

        def test_wait_in_the_server_moves_frozen_time_too(lro_emulator):
            import urllib.request
            op = lro_emulator.add_operation().succeed(at=300)
            request = urllib.request.Request(f"{lro_emulator.url}/v1/{op.name}:wait?timeout=600s", method="POST")
            urllib.request.urlopen(request).read()
            assert time.time() == lro_emulator.clock.now().timestamp() == op.created.timestamp() + 300

        def test_time_is_real_again_after_the_fixture():
            assert datetime.datetime.now().year < 2030
    ''')

    pytester.runpytest().assert_outcomes(passed=3)


def test_time_between_and_after_virtual_tests_is_real(pytester: pytest.Pytester) -> None:
    """Consecutive virtual-time tests share freezegun's patches (a `TimeBackdrop`); nothing else may notice."""
    pytester.makepyfile('''
        import datetime, time, pytest
        from time import monotonic
        from freezegun import freeze_time

        # Kept in a dict: freezegun rewrites module attributes that hold time functions, not containers.
        GENUINE = {"time": time.time, "monotonic": time.monotonic, "datetime": datetime.datetime}

        @pytest.fixture
        def readings():
            # Set up before lro_emulator, after a virtual test: the backdrop is still installed here.
            now = datetime.datetime.now(datetime.timezone.utc)
            return (time.time() - GENUINE["time"](), monotonic() - GENUINE["monotonic"](),
                    now.timestamp() - GENUINE["time"]())

        def test_1_virtual(lro_emulator):
            time.sleep(3600)
            assert monotonic() == lro_emulator.clock.now().timestamp()

        def test_2_virtual_again(readings, lro_emulator):
            assert all(abs(delta) < 5 for delta in readings), readings
            assert time.time() == lro_emulator.clock.now().timestamp()
            assert monotonic() == lro_emulator.clock.now().timestamp()

        def test_3_plain():
            assert time.time is GENUINE["time"] and time.monotonic is GENUINE["monotonic"]
            assert monotonic is GENUINE["monotonic"]
            assert type(datetime.datetime.now()) is GENUINE["datetime"]
            with freeze_time("2001-02-03"):
                assert datetime.date.today() == datetime.date(2001, 2, 3)
                assert monotonic() == datetime.datetime(2001, 2, 3).timestamp()

        @pytest.mark.lro_emulator(virtual_time=False)
        def test_4_real_time_fixture(lro_emulator):
            assert time.time is GENUINE["time"] and type(datetime.datetime.now()) is GENUINE["datetime"]

        def test_5_virtual_after_real(lro_emulator):
            assert time.time() == lro_emulator.clock.now().timestamp()
    ''')

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=5)

    assert time.time.__module__ == "time"
    assert type(datetime.datetime.now()) is datetime.datetime


def test_the_marker_turns_virtual_time_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import datetime, time, pytest

        @pytest.mark.lro_emulator(virtual_time=False, profile="vertex", start="2040-01-01T00:00:00Z")
        def test_real_time(lro_emulator):
            assert datetime.datetime.now().year < 2030
            assert lro_emulator.clock.now().year == 2040
            assert lro_emulator.profile.name == "vertex"
            before = lro_emulator.clock.now()
            time.sleep(0)
            assert lro_emulator.clock.now() == before
    ''')

    pytester.runpytest().assert_outcomes(passed=1)


def test_seed_applies_without_virtual_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import random, pytest

        def test_reference():
            random.seed(123)
            pytest.first = random.random()

        @pytest.mark.lro_emulator(virtual_time=False, seed=123)
        def test_seeded(lro_emulator):
            assert random.random() == pytest.first
    ''')

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_bad_seed_leaves_time_alone_for_later_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import datetime, time, pytest

        @pytest.mark.lro_emulator(seed=[1])
        def test_bad_seed(lro_emulator):
            pass

        def test_later():
            assert datetime.datetime.now().year < 2030
            assert time.sleep.__module__ == "time"
    ''')

    result = pytester.runpytest()

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*seed must be an int, float, str, bytes or None, not list*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("@pytest.mark.lro_emulator(colour='red')", "*unknown lro_emulator marker option*colour*"),
        ("@pytest.mark.lro_emulator('vertex')", "*keyword options only*"),
        ("@pytest.mark.lro_emulator(profile='nope')", "*unknown profile 'nope'*"),
    ],
)
def test_bad_marker_options_are_reported(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(f'''
        import pytest

        {marker}
        def test_it(lro_emulator):
            pass
    ''')

    result = pytester.runpytest()

    result.stdout.fnmatch_lines([message])
    assert result.ret != 0


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        pytest.param("@pytest.mark.lro_emulator(profle='vertex')",
                     "*unknown lro_emulator marker option(s) [[]'profle'[]] (did you mean 'profile'?); known: start: *",
                     id="option"),
    ],
)
def test_a_misspelt_marker_option_names_the_closest(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(f'''
        import pytest

        {marker}
        def test_it(lro_emulator):
            pass
    ''')

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


def test_a_misspelt_profile_names_the_closest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import pytest

        @pytest.mark.lro_emulator(profile="vertx")
        def test_it(lro_emulator):
            pass
    ''')

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown profile 'vertx' (did you mean 'vertex'?); use one of generic, *"])


def test_a_response_that_violates_its_schema_fails_the_test(pytester: pytest.Pytester) -> None:
    # Simulates a bug in the emulator: the served Operation gains a key no client can parse.
    pytester.makepyfile('''
        import urllib.error, urllib.request
        from lro_emulator.core import timeline  # internal: a core module the plugin must not import eagerly

        def test_client_side_passes(lro_emulator, monkeypatch):
            real_render = timeline.OperationRecord.render
            monkeypatch.setattr(timeline.OperationRecord, "render", lambda self: {**real_render(self), "extra": 1})
            op = lro_emulator.add_operation()
            try:
                urllib.request.urlopen(f"{lro_emulator.url}/v1/{op.name}")
            except urllib.error.HTTPError as error:
                assert error.code == 500
                assert b'"status":"INTERNAL"' in error.read()

        def test_a_clean_test_passes(lro_emulator):
            lro_emulator.add_operation()
    ''')

    result = pytester.runpytest()

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*EmulatorFailure: the emulator answered 1 response(s) wrongly:*",
        "*SchemaViolation: Operation violates operation.schema.json*",
    ])


def test_a_tests_own_freezegun_freezers_work_beside_virtual_time(pytester: pytest.Pytester) -> None:
    """freezegun stops freezers from the top of one stack: the plugin's shared patches never get in the way."""
    pytester.makepyfile(test_a_first='''
        import time

        def test_virtual_first(lro_emulator):
            time.sleep(5)
    ''', test_b_module_freeze='''
        import datetime, pytest
        from freezegun import freeze_time

        @pytest.fixture(scope="module", autouse=True)
        def frozen():
            with freeze_time("2001-02-03 04:05:06"):
                yield

        def test_virtual_inside_a_module_freeze(lro_emulator):
            assert datetime.datetime.now().year == 2030

        def test_plain_sees_the_module_freeze():
            assert datetime.datetime.now().year == 2001
    ''', test_c_own_fixture='''
        import datetime, pytest
        from freezegun import freeze_time

        @pytest.fixture
        def frozen():
            with freeze_time("2001-02-03"):
                yield

        def test_virtual_after_its_own_freezer(frozen, lro_emulator):
            assert datetime.datetime.now().year == 2030

        def test_plain_afterwards():
            assert type(datetime.datetime.now()).__name__ == "datetime"
            assert datetime.datetime.now().year < 2030

        def test_virtual_again(lro_emulator):
            assert datetime.datetime.now().year == 2030
    ''')

    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=6)

    assert type(datetime.datetime.now()) is datetime.datetime

