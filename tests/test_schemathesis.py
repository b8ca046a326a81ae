"""schemathesis against the live emulator, from the OpenAPI document the emulator serves.

Every operation of the document (the Operations API, the service extras and the control plane) is
driven with schemathesis's examples, coverage and fuzzing phases, in positive and negative modes,
over loopback, and every answer is checked: no server error, a documented status, a body and
headers that match the document, and negative data rejected. The emulator is reset before each
case, so a case that loads a scenario or moves the clock cannot leak into the next.

Two checks are switched off, each because the emulator follows Google rather than a general REST
convention: ``unsupported_method`` and ``allow_header_conformance`` expect 405 and an Allow header
for a wrong method, where Google's frontends answer 404 (the emulator's message names the methods
the path takes). ``positive_data_acceptance`` is off because some schema-valid values are refused
by design with INVALID_ARGUMENT, which no schema can express: page tokens and filters are opaque or
parsed strings, a clock cannot move past year 9999 or backwards, and a scenario's names must be new.

The bodies of CreateOperation and LoadScenario are scenario documents, whose schema is large enough
that the coverage phase's combinations take minutes to enumerate: those two run the examples and
fuzzing phases only, which still send positive and negative bodies.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from lro_emulator import Emulator
from lro_emulator.wire.validation import load_schemas  # internal: the schemas the fuzzed document is built from

SCENARIO_BODIES = ["control_load", "control_create"]
CONFIG = schemathesis.Config.from_dict({
    "checks": {
        "unsupported_method": {"enabled": False},
        "allow_header_conformance": {"enabled": False},
        "positive_data_acceptance": {"enabled": False},
    },
    "operations": [
        {"include-operation-id": SCENARIO_BODIES,
         "phases": {"coverage": {"enabled": False}, "fuzzing": {"enabled": False}}},
    ],
})


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


def _served_document() -> dict[str, Any]:
    """The OpenAPI document as a live emulator serves it (read at collection, when the tests are made)."""
    with Emulator() as emulator, urllib.request.urlopen(f"{emulator.url}/_emulator/openapi.json", timeout=10) as answer:
        document: dict[str, Any] = json.load(answer)
    del document["servers"]  # that emulator is gone; each case is sent to the module's own
    return document


schema = schemathesis.openapi.from_dict(_served_document(), config=CONFIG)


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_keeps_its_documented_contract(case: Any, served: Emulator) -> None:
    served.reset()
    if not case.path.startswith("/_emulator/"):  # a scenario loads into a fresh emulator only
        served.add_operation("projects/p/locations/l/operations/existing")

    case.call_and_validate(base_url=served.url)

    assert served.problems == []


@pytest.mark.parametrize(
    ("path", "example"),
    [pytest.param("scenario:load", example, id=f"scenario-{number}")
     for number, example in enumerate(load_schemas().document("scenario")["examples"])]
    + [pytest.param("operations", example, id=f"operation-{number}")
       for number, example in enumerate(load_schemas().document("scenario")["$defs"]["operation"]["examples"])],
)
def test_the_documents_examples_are_accepted(served: Emulator, path: str, example: dict[str, Any]) -> None:
    """The request bodies schemathesis sends for the two scenario-bodied routes load as they stand."""
    served.reset()

    answer = requests.post(f"{served.url}/_emulator/v1/{path}", json=example, timeout=10)

    assert answer.status_code == 200, answer.text
