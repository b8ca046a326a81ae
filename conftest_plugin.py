"""The pytest plugin of lro-emulator: the ``lro_emulator`` fixture and its marker.

This file is the plugin's source. The wheel carries it as ``lro_emulator/conftest_plugin.py``; its
``pytest11`` entry point, `lro_emulator.plugin`, registers it where the pytest in use can run it, so any test
anywhere gets the fixture once the package is installed. With plugin autoload disabled
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``), opt in with ``pytest -p lro_emulator.plugin``. It only wires: the
emulator does the work.

Loading it imports nothing of the emulator: every pytest run of an environment with the package installed loads
it, and most of them never use the fixture. The emulator, freezegun and the rest are imported by the first test
that asks for the fixture.
"""

from __future__ import annotations

import contextlib
import pathlib
import random
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lro_emulator import Emulator, Scenario
    from lro_emulator.virtual_time import TimeBackdrop

__all__ = ["REPORT_SECTION", "lro_emulator", "lro_emulator_server", "pytest_configure", "pytest_pyfunc_call",
           "pytest_runtest_call", "pytest_runtest_makereport", "pytest_runtest_setup", "pytest_unconfigure"]

_OPTIONS = {
    "start": "where the virtual clock starts (RFC 3339 or datetime; default 2030-01-01T00:00:00Z)",
    "profile": "generic (default), earthengine, vertex or cancel-get-list",
    "virtual_time": "freeze time at the emulator's clock and make time.sleep advance it (default True)",
    "seed": "seed of the global random generator, so client jitter repeats, and of probabilistic faults "
            "(default 0; None leaves the global generator alone)",
    "grpc": "serve gRPC too, and require scripted payloads to pack into protobuf (default False; "
            "emu.grpc_target does the same on first use)",
    "scenario": "a scenario file (YAML or JSON; relative to the test's file) or document to load; its profile "
                "and start apply unless the marker gives its own, which must then agree",
    "auth": "require credentials: a bearer token, or a dict of token=, api_key=, forbidden= (default: none)",
    "intercept": "answer for Google's hosts, so clients built with default endpoints and credentials reach the "
                 "emulator: True for *.googleapis.com, or a list of host globs (default False)",
    "project": "the project google.auth.default() returns while intercepting (default 'test-project')",
}
#: The title of the report section a failing test gets.
REPORT_SECTION = "lro-emulator: operations, calls and faults"
_BACKDROP = pytest.StashKey["TimeBackdrop"]()
#: The seed of the global random generator a test's marker names (None: the generator is left alone).
_SEED = pytest.StashKey["int | float | str | bytes | None"]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` runs accept it."""
    options = ", ".join(f"{name}=..." for name in _OPTIONS)
    config.addinivalue_line("markers", f"lro_emulator({options}): options of the lro_emulator fixture")


def _backdrop(config: pytest.Config) -> TimeBackdrop:
    """The run's one time backdrop, made by the first test under virtual time (it imports freezegun)."""
    backdrop = config.stash.get(_BACKDROP, None)
    if backdrop is None:
        from lro_emulator.virtual_time import TimeBackdrop

        backdrop = config.stash[_BACKDROP] = TimeBackdrop()
    return backdrop


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a test that does not use virtual time, take freezegun's patches out.

    Consecutive tests under virtual time share freezegun's patches (see `TimeBackdrop`): installing
    them costs milliseconds, far more than the rest of the fixture. Every other test runs with the
    genuine time functions, as if the plugin were not there.
    """
    backdrop = item.config.stash.get(_BACKDROP, None)
    if backdrop is not None and not _uses_virtual_time(item):
        backdrop.remove()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave the process with the genuine time functions."""
    backdrop = config.stash.get(_BACKDROP, None)
    if backdrop is not None:
        backdrop.remove()


def _uses_virtual_time(item: pytest.Item) -> bool:
    if "lro_emulator" not in getattr(item, "fixturenames", ()):
        return False
    virtual = True
    for marker in reversed(list(item.iter_markers("lro_emulator"))):  # closest last, as the fixture reads them
        virtual = marker.kwargs.get("virtual_time", virtual)
    return bool(virtual)


@pytest.fixture(scope="session")
def lro_emulator_server() -> Iterator[Emulator]:
    """The emulator's servers, shared by the session: stopping a werkzeug server costs up to a second.

    gRPC starts on the first test that asks for it (``emu.grpc_target`` or the ``grpc`` marker option).
    """
    from lro_emulator import Emulator

    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def lro_emulator(request: pytest.FixtureRequest, lro_emulator_server: Emulator) -> Iterator[Emulator]:
    """A started `Emulator` with fresh state, under virtual time unless the marker says otherwise.

    Options come from ``@pytest.mark.lro_emulator(...)``: start, profile, virtual_time, seed, grpc, scenario,
    auth, intercept, project.
    The fixture is synchronous, so it serves ``async def`` tests under pytest-asyncio and anyio too;
    virtual time covers ``asyncio.sleep``.

    The object is the test's own view of the session's emulator: once the test has ended, it and every handle
    the test made raise `StaleHandle` naming the test, so a thread or a global that outlives the test cannot
    script the next one.
    """
    from lro_emulator.virtual_time import SeededRandom, VirtualTime

    options = _marker_options(request)
    emulator = lro_emulator_server._for_test(request.node.nodeid)
    try:
        scenario = _scenario(request, options)
        seed = options.get("seed", 0)
        request.node.stash[_SEED] = seed
        emulator.reset(start=options.get("start"), profile=options.get("profile"), seed=0 if seed is None else seed)
        _require_auth(emulator, options.get("auth"))
        if options.get("grpc", False):
            emulator.start_grpc()
        if scenario is not None:
            emulator.load_scenario(scenario)
        interception = _interception(emulator, options)
        try:
            virtual = options.get("virtual_time", True)
            time_context = (VirtualTime(emulator.clock, seed=seed, backdrop=_backdrop(request.config)) if virtual
                            else SeededRandom(seed))
        except TypeError as error:
            raise pytest.UsageError(f"@pytest.mark.lro_emulator: {error}") from None
        # The interception first: it imports the client libraries it patches, which must happen in real time.
        with interception, time_context:
            yield emulator
        # Problems recorded after the test body (during teardown) still fail the test's run.
        emulator.check()
    finally:
        emulator._end()  # a setup that failed ends it too: the test is over either way


def _scenario(request: pytest.FixtureRequest, options: dict[str, Any]) -> Scenario | None:
    """The marker's scenario, read and checked; its profile and start must agree with the marker's own."""
    from lro_emulator import Profile, Scenario
    from lro_emulator.wire.proto3_json import parse_timestamp

    source = options.get("scenario")
    if source is None:
        return None
    if isinstance(source, Mapping):
        scenario = Scenario.from_document(source)
    else:
        path = pathlib.Path(source)
        if not path.is_absolute():
            path = request.path.parent / path
        scenario = Scenario.read(path)
    for option, value in (("profile", scenario.profile), ("start", scenario.start)):
        given = options.get(option)
        if given is None or value is None:
            continue
        if option == "start":
            given = parse_timestamp(given)
        elif isinstance(given, Profile):
            given = given.name
        if given != value:
            raise pytest.UsageError(f"@pytest.mark.lro_emulator({option}={options[option]!r}) disagrees with the "
                                    f"scenario {scenario.source}, which says {value}; give one of them")
    return scenario


def _interception(emulator: Emulator, options: dict[str, Any]) -> contextlib.AbstractContextManager[object]:
    """The marker's interception (``intercept=True`` or host globs), or else the proxies bypassed (which an
    interception does too)."""
    from lro_emulator import ScriptError
    from lro_emulator.intercept import DEFAULT_PROJECT

    intercept = options.get("intercept", False)
    if intercept is False or intercept is None:
        if "project" in options:
            raise pytest.UsageError("@pytest.mark.lro_emulator(project=...) names what google.auth.default() returns "
                                    "while intercepting; add intercept=True")
        return emulator.bypass_proxies()
    if intercept is not True and (isinstance(intercept, str) or not isinstance(intercept, (list, tuple))):
        raise pytest.UsageError(f"@pytest.mark.lro_emulator(intercept=...) takes True or a list of host globs, "
                                f"e.g. ['*.googleapis.com']; got {intercept!r}")
    try:
        return emulator.intercept(None if intercept is True else intercept,
                                  project=options.get("project", DEFAULT_PROJECT))
    except ScriptError as error:
        raise pytest.UsageError(f"@pytest.mark.lro_emulator: {error}") from None


def _require_auth(emulator: Emulator, auth: object) -> None:
    if auth is None:
        return
    if isinstance(auth, str):
        auth = {"token": auth}
    if not isinstance(auth, Mapping) or set(auth) - {"token", "api_key", "forbidden"}:
        raise pytest.UsageError(f"@pytest.mark.lro_emulator(auth=...) takes a bearer token or a dict with token=, "
                                f"api_key=, forbidden=; got {auth!r}")
    try:
        emulator.require_auth(**auth)
    except ValueError as error:
        raise pytest.UsageError(f"@pytest.mark.lro_emulator(auth=...): {error}") from None


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    # Closest marker last, so a function's marker overrides its class's and module's.
    for marker in reversed(list(request.node.iter_markers("lro_emulator"))):
        if marker.args:
            raise pytest.UsageError("@pytest.mark.lro_emulator takes keyword options only, e.g. profile='vertex'")
        unknown = set(marker.kwargs) - set(_OPTIONS)
        if unknown:
            known = "; ".join(f"{name}: {text}" for name, text in _OPTIONS.items())
            from lro_emulator.wire.errors import did_you_mean  # not at import: see the module's docstring

            raise pytest.UsageError(f"unknown lro_emulator marker option(s) {sorted(unknown)}"
                                    f"{did_you_mean(sorted(unknown), _OPTIONS)}; known: {known}")
        options.update(marker.kwargs)
    return options


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    """Seed the global random generator again just before the test function runs.

    The fixture seeded it during setup, but a plugin may reseed it in its own runtest hooks after that
    (pytest-randomly reseeds in ``pytest_runtest_call``): the client's polling jitter would then follow that
    plugin's seed, and an hour-long test would poll a different number of times on every run. This hook runs
    inside the call phase, after every ``pytest_runtest_call``, when only the test function itself is left.
    """
    seed = pyfuncitem.stash.get(_SEED, None)
    if seed is not None:
        random.seed(seed)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail the test in which the emulator answered a response it should not have."""
    emulator = _emulator_of(item)
    try:
        result = yield
    except BaseException as failure:
        if emulator is not None and emulator.problems and hasattr(failure, "add_note"):
            failure.add_note(f"lro-emulator also recorded: {emulator.problems}")
        raise
    if emulator is not None:
        emulator.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Give a failing test that used the emulator a section showing what the emulator saw; a passing one none."""
    report = yield
    emulator = _emulator_of(item)
    if report.failed and emulator is not None:
        # A teardown's report comes after the test's emulator ended (it refuses use then): the session's one
        # describes the same state, which stays in force until the next test resets it.
        server = getattr(item, "funcargs", {}).get("lro_emulator_server")
        report.sections.append((REPORT_SECTION, (server if server is not None else emulator).describe()))
    return report


def _emulator_of(item: pytest.Item) -> Emulator | None:
    """The emulator the test got from the fixture, if it asked for one (then the package is imported already)."""
    emulator = getattr(item, "funcargs", {}).get("lro_emulator")
    if emulator is None:
        return None
    from lro_emulator import Emulator

    return emulator if isinstance(emulator, Emulator) else None
