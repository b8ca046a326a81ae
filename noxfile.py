"""The Python version matrix: the suite on 3.10, 3.11, 3.12 and 3.13, each in a fresh virtual environment.

``nox -s tests-3.12`` runs the whole suite on one version (``nox -s tests`` on all four), installed from the checkout
as a wheel, with the README's command (``pytest -n 2``); ``nox -s smoke-3.12`` runs the smoke subset below. Arguments
after ``--`` replace the test selection: ``nox -s tests-3.13 -- -n 2 tests/test_grpc.py``.

What CI runs (``.ci/run``): the whole suite on 3.11, in its own environment (the README's command, verbatim), then
``smoke`` on 3.10, 3.11, 3.12 and 3.13; ``tests-3.11`` is there for local use, CI does not run the suite twice.

Why a smoke subset and not the whole suite everywhere: measured on the 2-core development machine (2026-12-04),
``pip install '.[test]'`` takes 38 to 48 s per version once CI's own install has filled pip's cache (58 to 109 s
with an empty cache or under load), and ``pytest -n 2`` on the whole suite (2,587 tests) 230 s on 3.13, 302 s on
3.10 and 240 s on 3.11 with the machine otherwise quiet, but 8 to 13 minutes per version when other runs shared it
(load average 4 to 10). The whole suite on the three versions is thus 15 minutes at best, and .ci/run about 21 of
its 25-minute budget, 30 or more on a busy machine; the smoke subset (SMOKE, about 1,090 tests) made the matrix 5
minutes and .ci/run 10 min 42 s in all. It runs at least one module of each layer, chosen where Python versions
differ: the clock's and filters' timestamps (``datetime.fromisoformat`` takes any fraction only from 3.11), the REST
server over werkzeug's request handler and its JSON errors (3.10 words the integer digit limit differently), gRPC,
the plugin and the installed package's layout (``inspect.isclass`` of a type alias differs on 3.10), asyncio,
scenarios, the command line, hypothesis strategies, virtual time (freezegun), interception of the client libraries,
real clients (google-api-core's operations clients; ``concurrent.futures.TimeoutError`` is a class of its own on
3.10), the control plane's host checks (``ipaddress``'s idea of loopback changed in 3.13) and the README's examples.
Of the seven version differences the whole suite found on 3.10 and 3.13, all seven fail a smoke module. To run the
whole suite everywhere in CI instead, name the ``tests`` sessions in .ci/run.

Every test dependency installs from wheels on 3.10 and 3.13 alike; google-api-core and the generated clients warn at
import on 3.10 (past its end of life), which pyproject's ``filterwarnings`` lets through (see there).

An interpreter nox cannot find is an error, never a skipped session. The environments live under ``.nox/`` unless
``--envdir`` says otherwise (CI puts them outside the checkout, in its temporary folder).
"""

from __future__ import annotations

import time

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

#: One module or more of each layer, the ones where Python versions differ first (see the docstring).
SMOKE = [
    "tests/test_control.py",
    "tests/test_filters.py",
    "tests/test_scripting.py",
    "tests/test_server.py",
    "tests/test_bad_requests.py",
    "tests/test_grpc.py",
    "tests/test_plugin.py",
    "tests/test_layout.py",
    "tests/test_async.py",
    "tests/test_scenario.py",
    "tests/test_cli.py",
    # Not the whole module: its 200-example runs of every client are most of its time (6 of 10 minutes of the smoke
    # subset's test time on 3.10, loaded); one real client (gRPC) and the scenario round trip draw timelines here.
    "tests/test_strategies.py::test_google_api_core_futures_end_with_every_outcome[grpc]",
    "tests/test_strategies.py::test_a_timeline_becomes_a_scenario_that_validates_and_ends_the_same",
    "tests/test_strategies.py::test_mistaken_arguments_are_script_errors",
    "tests/test_strategies.py::test_importing_the_package_or_its_plugin_imports_no_hypothesis",
    "tests/test_virtual_time.py",
    "tests/test_intercept.py",
    "tests/test_contract_operations_clients.py",
    "tests/adversarial/test_control_plane.py",
    # The README's and the docs' examples, run as a user would (the report example caught google-api-core's 3.10
    # warning), and the tutorial followed in a fresh venv of this session's Python.
    "tests/test_docs.py",
    "tests/test_tutorial.py",
]

nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "venv"  # the standard library's: nothing else (uv, conda) is assumed
nox.options.sessions = ["tests"]


def _install(session: nox.Session) -> None:
    started = time.monotonic()
    session.install("--upgrade", "pip")
    session.install(".[test]")  # from the checkout, as a wheel into site-packages: the tests check they run from there
    session.log(f"installed in {time.monotonic() - started:.0f} s")  # CI's time budget is spent here and in pytest


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite, as the README runs it."""
    _install(session)
    session.run("pytest", *(session.posargs or ["-n", "2"]))


@nox.session(python=PYTHONS)
def smoke(session: nox.Session) -> None:
    """A module or more of each layer (SMOKE), two workers."""
    _install(session)
    session.run("pytest", *(session.posargs or ["-n", "2", *SMOKE]))
