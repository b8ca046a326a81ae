"""The Python version matrix: the suite on 3.10, 3.11, 3.12 and 3.13, each in a fresh virtual environment.

``nox -s tests-3.12`` runs the whole suite on one version (``nox -s tests`` on all four), installed from the checkout
as a wheel, with the README's command (``pytest -n 2``); ``nox -s smoke-3.12`` runs the smoke subset below. Arguments
after ``--`` replace the test selection: ``nox -s tests-3.13 -- -n 2 tests/test_grpc.py``.

What CI runs (``.ci/run``): the whole suite on 3.11, in its own environment (the README's command, verbatim), then
``smoke`` on 3.10, 3.12 and 3.13; ``tests-3.11`` is there for local use, CI does not run the suite twice. The whole
suite on the three other versions does not fit CI's 25 minutes (it takes 7 on 3.11 alone). Measured with this file
on the 2-core development machine, shared with other runs (load average 4 to 10, so slower than CI by up to 2x):
``pip install '.[test]'`` took 58 s (3.10, empty pip cache), 71 s (3.13) and 109 s (3.12); the whole suite took 8
minutes on 3.13 and 13 on 3.12, so 25 to 35 minutes for the three. The smoke subset (SMOKE, about 1,070 of 2,590
tests) runs at least one module of each layer, chosen where Python versions differ: the clock's and filters'
timestamps (``datetime.fromisoformat`` takes any fraction only from 3.11), the REST server over werkzeug's request
handler and its JSON errors, gRPC, the plugin and the installed package's layout, asyncio, scenarios, the command
line, hypothesis strategies, virtual time (freezegun), interception of the client libraries, real clients (the
contract test of google-api-core's operations clients; ``concurrent.futures.TimeoutError`` is a class of its own on
3.10) and the control plane's host checks (``ipaddress``'s idea of loopback changed in 3.13).

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
