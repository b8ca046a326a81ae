"""Clocks that move outside tests: ``Emulator(speed=X)`` follows real time at X virtual seconds per real second,
and ``Emulator(manual=True)`` moves only when told. In both, WaitOperation blocks in real time (bounded) instead
of jumping the clock, and a blocked wait returns as soon as the clock passes the step that ends the operation.
These tests use `Emulator` directly, never the ``lro_emulator`` fixture, so time is real here.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from lro_emulator import Emulator, Pacing, VirtualClock

JSON = dict[str, Any]
NAME = "projects/p/operations/export-1"
EMPTY = "type.googleapis.com/google.protobuf.Empty"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
GUARD = 10.0


def create(emu: Emulator, at: float) -> JSON:
    """An operation done ``at`` virtual seconds after now, created through the control plane."""
    response = requests.post(f"{emu.url}/_emulator/v1/operations",
                             json={"name": NAME, "steps": [{"at": at, "done": True}]}, timeout=5)
    assert response.status_code == 200, response.text
    document: JSON = response.json()
    return document


def get(emu: Emulator) -> JSON:
    response = requests.get(f"{emu.url}/v1/{NAME}", timeout=5)
    assert response.status_code == 200, response.text
    document: JSON = response.json()
    return document


def wait(emu: Emulator, timeout: str) -> tuple[JSON, float]:
    """WaitOperation over REST: the answer and the real seconds it took."""
    started = time.monotonic()
    response = requests.post(f"{emu.url}/v1/{NAME}:wait", json={"timeout": timeout}, timeout=GUARD + 5)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    document: JSON = response.json()
    return document, elapsed


def clock(emu: Emulator) -> datetime:
    response = requests.get(f"{emu.url}/_emulator/v1/clock", timeout=5)
    return datetime.fromisoformat(response.json()["time"].replace("Z", "+00:00"))


# -- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [0, 0.0, -1, -0.5, float("inf"), float("-inf"), float("nan"), True, False, "60"],
                         ids=repr)
def test_a_speed_that_is_not_a_positive_finite_number_is_refused(speed: Any) -> None:
    with pytest.raises(ValueError, match="speed must be a positive number of virtual seconds per real second"):
        Emulator(speed=speed)
    with pytest.raises(ValueError, match=f"not {speed!r}$"):
        Pacing(VirtualClock(START), speed)


def test_speed_and_manual_together_are_refused() -> None:
    with pytest.raises(ValueError, match=r"give speed= .* or manual=True .*, not both"):
        Emulator(speed=60, manual=True)


@pytest.mark.parametrize(
    ("options", "mode", "speed", "shown"),
    [
        pytest.param({}, None, None, {"mode": "virtual"}, id="virtual"),
        pytest.param({"speed": 60}, "real", 60.0, {"mode": "real", "speed": 60.0}, id="speed-60"),
        pytest.param({"speed": 0.5}, "real", 0.5, {"mode": "real", "speed": 0.5}, id="slow-motion"),
        pytest.param({"manual": True}, "manual", None, {"mode": "manual"}, id="manual"),
        pytest.param({"manual": False}, None, None, {"mode": "virtual"}, id="manual-false"),
    ],
)
def test_status_shows_how_the_clock_moves(
    options: JSON, mode: str | None, speed: float | None, shown: JSON
) -> None:
    with Emulator(**options) as emu:
        status = requests.get(f"{emu.url}/_emulator/v1", timeout=5).json()
        pacing = emu.pacing

    assert status["clock"] == shown
    if mode is None:
        assert pacing is None
    else:
        assert pacing is not None
        assert (pacing.mode, pacing.speed) == (mode, speed)


# -- speed -----------------------------------------------------------------------------------------------------------


def test_a_fast_clock_finishes_an_hour_long_operation_in_a_tenth_of_a_real_second() -> None:
    with Emulator(speed=36000) as emu:
        started = time.monotonic()
        created = create(emu, at=3600)
        answers = [get(emu)]
        while not answers[-1].get("done") and time.monotonic() - started < GUARD:
            answers.append(get(emu))
        elapsed = time.monotonic() - started
        now = clock(emu)
        record = emu.operation(NAME)

    assert created == {"name": NAME}
    assert answers[-1] == {"name": NAME, "done": True, "response": {"@type": EMPTY}}
    assert 3600 / 36000 <= elapsed < GUARD
    assert now - record.created >= timedelta(seconds=3600)
    assert [t.kind for t in record.history] == ["created", "succeed"]
    assert record.history[-1].time == record.created + timedelta(seconds=3600)


def test_a_wait_blocks_in_real_time_until_the_operation_is_done() -> None:
    with Emulator(speed=3600) as emu:
        started = time.monotonic()
        create(emu, at=3600)
        answer, waited = wait(emu, "7200s")
        elapsed = time.monotonic() - started
        created = emu.operation(NAME).created
        now = clock(emu)

    assert answer == {"name": NAME, "done": True, "response": {"@type": EMPTY}}
    assert 1.0 <= elapsed < GUARD
    assert waited < GUARD
    assert timedelta(seconds=3600) <= now - created < timedelta(seconds=7200)


def test_a_wait_returns_not_done_at_its_virtual_deadline() -> None:
    with Emulator(speed=3600) as emu:
        create(emu, at=7200)
        answer, elapsed = wait(emu, "1800s")
        created = emu.operation(NAME).created
        now = clock(emu)
        later = get(emu)

    assert answer == {"name": NAME}
    assert later == {"name": NAME}
    assert 0.5 <= elapsed < GUARD
    assert timedelta(seconds=1800) <= now - created < timedelta(seconds=7200)


def test_a_paced_clock_keeps_what_the_control_plane_adds() -> None:
    with Emulator(speed=1) as emu:
        create(emu, at=3600)
        before = get(emu)
        moved = requests.post(f"{emu.url}/_emulator/v1/clock:advance", json={"duration": "3600s"}, timeout=5)
        after = get(emu)
        now = clock(emu)
        created = emu.operation(NAME).created

    assert before == {"name": NAME}
    assert moved.status_code == 200
    assert after["done"] is True
    assert now - created >= timedelta(seconds=3600)


def test_an_operation_added_in_python_is_created_at_the_paced_clocks_current_instant() -> None:
    with Emulator(speed=3600) as paced, Emulator(manual=True) as other:
        other.add_operation(NAME)
        first = paced.clock.now()
        _, blocked = wait(other, "1s")
        op = paced.add_operation()

    assert blocked >= 1.0
    assert op.created - first >= timedelta(seconds=3599)


# -- manual ----------------------------------------------------------------------------------------------------------


def test_a_manual_wait_gives_up_after_its_timeout_in_real_seconds_and_the_clock_stays() -> None:
    with Emulator(manual=True) as emu:
        create(emu, at=60)
        answer, elapsed = wait(emu, "1s")
        now = clock(emu)
        status = requests.get(f"{emu.url}/_emulator/v1", timeout=5).json()
        later = get(emu)

    assert answer == {"name": NAME}
    assert later == {"name": NAME}
    assert 1.0 <= elapsed < GUARD
    assert now == START
    assert status["time"] == "2030-01-01T00:00:00Z"


def test_a_blocked_manual_wait_returns_done_once_the_control_plane_passes_the_step() -> None:
    outcome: JSON = {}
    sent = threading.Event()
    with Emulator(manual=True) as emu:
        create(emu, at=60)
        port = urllib.parse.urlsplit(emu.url).port

        def blocked_wait() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD + 5)
            try:
                connection.request("POST", f"/v1/{NAME}:wait", body=b'{"timeout": "8s"}',
                                   headers={"Content-Type": "application/json"})
                sent.set()
                response = connection.getresponse()
                outcome["status"] = response.status
                outcome["answer"] = json.loads(response.read())
            finally:
                connection.close()

        waiter = threading.Thread(target=blocked_wait, daemon=True)
        waiter.start()
        assert sent.wait(GUARD)
        started = time.monotonic()
        advanced = requests.post(f"{emu.url}/_emulator/v1/clock:advance", json={"duration": "60s"}, timeout=5)
        waiter.join(GUARD)
        elapsed = time.monotonic() - started
        now = clock(emu)

    assert not waiter.is_alive()
    assert advanced.json() == {"time": "2030-01-01T00:01:00Z"}
    assert outcome == {"status": 200, "answer": {"name": NAME, "done": True, "response": {"@type": EMPTY}}}
    assert elapsed < 8
    assert now == START + timedelta(seconds=60)


def test_a_manual_clock_moves_only_when_told() -> None:
    with Emulator(manual=True) as emu:
        create(emu, at=90)
        untouched = [clock(emu), get(emu)]
        requests.post(f"{emu.url}/_emulator/v1/clock:set", json={"time": "2030-01-01T00:01:30Z"}, timeout=5)
        answer, _ = wait(emu, "5s")

    assert untouched == [START, {"name": NAME}]
    assert answer["done"] is True


def test_without_pacing_a_wait_jumps_the_virtual_clock_to_the_step() -> None:
    with Emulator() as emu:
        create(emu, at=3600)
        answer, _ = wait(emu, "7200s")
        now = clock(emu)

    assert answer["done"] is True
    assert now == START + timedelta(seconds=3600)
