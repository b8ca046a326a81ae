"""Virtual time covers asyncio: the ``lro_emulator`` fixture in ``async def`` tests under pytest-asyncio and anyio.

Inside the fixture ``asyncio.sleep`` advances the emulator's clock (frozen ``datetime``/``time`` follow
it) and yields to the event loop once, so other tasks keep doing real I/O while the event loop itself
keeps real time. Virtual sleeps are advances made when each sleep starts, so concurrent sleeps add up.
``anyio.sleep`` is not virtual: anyio's asyncio backend bound the real ``asyncio.sleep`` when it was
imported. After the fixture, passing or failing, ``asyncio.sleep`` and time are the real ones again.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.request
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import freezegun.api
import pytest

from lro_emulator import Emulator

from .helpers import WALL_GUARD_SECONDS, struct, wall

HOUR = 3600
# A bound on real waits for loopback I/O, so that a hang fails instead of blocking the run.
IO_TIMEOUT_SECONDS = 5.0

T = TypeVar("T")


async def bounded(awaitable: Awaitable[T]) -> T:
    """Await with a real-time bound (``wait_for`` runs on the event loop's clock, which stays real)."""
    return await asyncio.wait_for(awaitable, timeout=IO_TIMEOUT_SECONDS)


async def get_json(url: str, path: str) -> tuple[int, dict[str, Any]]:
    """GET over an asyncio stream to the emulator's HTTP port: I/O that only the event loop can drive."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {address.netloc}\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def post_wait(url: str, name: str, timeout: str) -> dict[str, Any]:
    """WaitOperation over REST, blocking (for an executor thread)."""
    request = urllib.request.Request(f"{url}/v1/{name}:wait?timeout={timeout}", method="POST")
    with urllib.request.urlopen(request, timeout=IO_TIMEOUT_SECONDS) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.fixture
def anyio_backend() -> str:
    """anyio tests run on asyncio only (trio is not a dependency)."""
    return "asyncio"


# -- pytest-asyncio ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_asyncio_sleep_moves_the_clock_and_frozen_time_by_exactly_the_delay(lro_emulator: Emulator) -> None:
    started = wall()
    start = lro_emulator.clock.now()
    epoch = time.time()
    monotonic = time.monotonic()

    await bounded(asyncio.sleep(HOUR))

    assert lro_emulator.clock.now() - start == timedelta(hours=1)
    assert datetime.now(timezone.utc) == lro_emulator.clock.now()
    assert time.time() == epoch + HOUR == lro_emulator.clock.now().timestamp()
    assert time.monotonic() - monotonic == HOUR
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.parametrize(
    ("delay", "moved"),
    [
        (HOUR, HOUR),
        (0.25, 0.25),
        (0, 0),
        (0.0, 0),
        (-1, 0),
        (-HOUR, 0),
    ],
)
@pytest.mark.asyncio
async def test_asyncio_sleep_returns_its_result_and_moves_only_forward(
    lro_emulator: Emulator, delay: float, moved: float
) -> None:
    start = lro_emulator.clock.now()
    result = object()

    assert await bounded(asyncio.sleep(delay, result)) is result
    assert await bounded(asyncio.sleep(delay)) is None

    assert lro_emulator.clock.now() - start == timedelta(seconds=2 * moved)


@pytest.mark.asyncio
async def test_the_event_loop_keeps_real_time(lro_emulator: Emulator) -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()

    await bounded(asyncio.sleep(HOUR))

    assert 0 <= loop.time() - before < WALL_GUARD_SECONDS
    assert abs(loop.time() - freezegun.api.real_monotonic()) < WALL_GUARD_SECONDS


@pytest.mark.asyncio
async def test_concurrent_sleeps_are_sequential_advances(lro_emulator: Emulator) -> None:
    start = lro_emulator.clock.now()

    results = await bounded(asyncio.gather(asyncio.sleep(10, "ten"), asyncio.sleep(20, "twenty")))

    assert results == ["ten", "twenty"]
    assert lro_emulator.clock.now() - start == timedelta(seconds=30)


@pytest.mark.asyncio
async def test_other_tasks_do_real_io_while_the_test_sleeps_virtually(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(metadata=struct(step="copy"))
    start = lro_emulator.clock.now()
    request = asyncio.create_task(get_json(lro_emulator.url, f"/v1/{op.name}"))

    async def sleep_until_answered() -> int:
        sleeps = 0
        while not request.done() and sleeps < 100_000:
            await asyncio.sleep(1)
            sleeps += 1
        return sleeps

    sleeps = await bounded(sleep_until_answered())

    status, body = await bounded(request)
    assert status == 200
    assert body["name"] == op.name
    assert body["metadata"]["value"] == {"step": "copy"}
    assert lro_emulator.clock.now() - start == timedelta(seconds=sleeps)


@pytest.mark.asyncio
async def test_a_poller_over_an_asyncio_stream_sees_the_operation_finish_after_a_virtual_hour(
    lro_emulator: Emulator,
) -> None:
    op = lro_emulator.add_operation().succeed(struct(rows=1000), at=HOUR)
    start = lro_emulator.clock.now()

    async def poll_until_done() -> list[bool]:
        seen: list[bool] = []
        for _ in range(20):
            _, body = await get_json(lro_emulator.url, f"/v1/{op.name}")
            seen.append(body.get("done", False))
            if seen[-1]:
                assert body["response"]["value"] == {"rows": 1000}
                break
            await asyncio.sleep(600)
        return seen

    seen = await bounded(poll_until_done())

    assert seen == [False] * 6 + [True]
    assert op.polls == 7
    assert lro_emulator.clock.now() - start == timedelta(hours=1)


@pytest.mark.asyncio
async def test_a_scripted_operation_is_done_after_sleeping_until_its_instant(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation().succeed(struct(rows=1000), at=HOUR)

    await bounded(asyncio.sleep(HOUR - 1))
    assert not op.done
    await bounded(asyncio.sleep(1))

    assert op.done
    status, body = await bounded(get_json(lro_emulator.url, f"/v1/{op.name}"))
    assert status == 200
    assert body["done"] is True
    assert body["response"]["value"] == {"rows": 1000}


@pytest.mark.asyncio
async def test_a_wait_in_an_executor_thread_moves_the_time_the_loop_sees(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation().succeed(struct(rows=1), at=300)
    start = lro_emulator.clock.now()
    loop = asyncio.get_running_loop()

    answer = await bounded(loop.run_in_executor(None, post_wait, lro_emulator.url, op.name, "600s"))

    assert answer["done"] is True
    assert time.time() == start.timestamp() + 300
    await bounded(asyncio.sleep(60))
    assert datetime.now(timezone.utc) == lro_emulator.clock.now() == start + timedelta(seconds=360)


@pytest.mark.asyncio
async def test_sleeping_forever_waits_until_cancelled(lro_emulator: Emulator) -> None:
    start = lro_emulator.clock.now()
    forever = asyncio.create_task(asyncio.sleep(math.inf))

    finished, _ = await asyncio.wait({forever}, timeout=0.05)
    forever.cancel()
    [outcome] = await bounded(asyncio.gather(forever, return_exceptions=True))

    assert not finished, f"asyncio.sleep(math.inf) must wait until cancelled, as the real one does: {outcome!r}"
    assert isinstance(outcome, asyncio.CancelledError)
    assert lro_emulator.clock.now() == start


# -- anyio (asyncio backend) -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_asyncio_sleep_is_virtual_in_an_anyio_test(lro_emulator: Emulator) -> None:
    started = wall()
    start = lro_emulator.clock.now()
    monotonic = time.monotonic()

    assert await bounded(asyncio.sleep(HOUR, "slept")) == "slept"

    assert lro_emulator.clock.now() - start == timedelta(hours=1)
    assert datetime.now(timezone.utc) == lro_emulator.clock.now()
    assert time.monotonic() - monotonic == HOUR
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.anyio
async def test_concurrent_sleeps_in_an_anyio_task_group_add_up(lro_emulator: Emulator) -> None:
    start = lro_emulator.clock.now()

    with anyio.fail_after(IO_TIMEOUT_SECONDS):
        async with anyio.create_task_group() as group:
            group.start_soon(asyncio.sleep, 10)
            group.start_soon(asyncio.sleep, 20)

    assert lro_emulator.clock.now() - start == timedelta(seconds=30)


@pytest.mark.anyio
async def test_a_scripted_operation_is_done_after_a_virtual_hour_in_an_anyio_test(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation().succeed(struct(rows=1000), at=HOUR)

    await bounded(asyncio.sleep(HOUR))

    assert op.done
    with anyio.fail_after(IO_TIMEOUT_SECONDS):
        status, body = await get_json(lro_emulator.url, f"/v1/{op.name}")
    assert (status, body["done"]) == (200, True)


@pytest.mark.anyio
async def test_anyio_sleep_is_real_time_not_virtual(lro_emulator: Emulator) -> None:
    start = lro_emulator.clock.now()
    frozen = time.time()
    loop_start = anyio.current_time()

    with anyio.move_on_after(0.05) as scope:
        await anyio.sleep(HOUR)

    assert scope.cancelled_caught, "anyio.sleep returned at once: it went through the virtual asyncio.sleep"
    assert lro_emulator.clock.now() == start
    assert time.time() == frozen
    assert 0 < anyio.current_time() - loop_start < WALL_GUARD_SECONDS


# -- a user's suite (pytester) -------------------------------------------------------------------------

USERS_HEADER = """
import asyncio, datetime, time
import anyio, pytest
from freezegun.api import real_perf_counter

REAL_ASYNC_SLEEP = asyncio.sleep
REAL_SLEEP = time.sleep

@pytest.fixture
def anyio_backend():
    return "asyncio"

async def assert_time_is_real():
    assert asyncio.sleep is REAL_ASYNC_SLEEP
    assert time.sleep is REAL_SLEEP
    assert datetime.datetime.now().year < 2030
    started, monotonic = real_perf_counter(), time.monotonic()
    await asyncio.wait_for(asyncio.sleep(0.01), timeout=5)
    assert 0.01 <= time.monotonic() - monotonic < 10
    assert 0.01 <= real_perf_counter() - started < 10
"""

USERS_PASSING_SUITE = USERS_HEADER + """
@pytest.mark.asyncio
async def test_virtual_under_pytest_asyncio(lro_emulator):
    start = lro_emulator.clock.now()
    await asyncio.wait_for(asyncio.sleep(3600), timeout=5)
    assert lro_emulator.clock.now() - start == datetime.timedelta(hours=1)
    assert asyncio.sleep is not REAL_ASYNC_SLEEP

@pytest.mark.asyncio
async def test_real_after_the_pytest_asyncio_test():
    await assert_time_is_real()

@pytest.mark.anyio
async def test_virtual_under_anyio(lro_emulator):
    start = lro_emulator.clock.now()
    await asyncio.wait_for(asyncio.sleep(3600), timeout=5)
    assert lro_emulator.clock.now() - start == datetime.timedelta(hours=1)

@pytest.mark.anyio
async def test_real_after_the_anyio_test():
    await assert_time_is_real()

@pytest.mark.lro_emulator(virtual_time=False)
@pytest.mark.asyncio
async def test_the_marker_leaves_asyncio_sleep_real(lro_emulator):
    start = lro_emulator.clock.now()
    await assert_time_is_real()
    assert lro_emulator.clock.now() == start
"""

USERS_FAILING_SUITE = USERS_HEADER + """
@pytest.mark.asyncio
async def test_fails_under_pytest_asyncio(lro_emulator):
    await asyncio.wait_for(asyncio.sleep(3600), timeout=5)
    assert False, "pytest-asyncio test failed after a virtual hour"

@pytest.mark.asyncio
async def test_real_after_the_failed_pytest_asyncio_test():
    await assert_time_is_real()

@pytest.mark.anyio
async def test_fails_under_anyio(lro_emulator):
    await asyncio.wait_for(asyncio.sleep(3600), timeout=5)
    raise RuntimeError("anyio test failed after a virtual hour")

@pytest.mark.anyio
async def test_real_after_the_failed_anyio_test():
    await assert_time_is_real()
"""


@pytest.mark.usefixtures("users_project")
def test_a_users_async_suite_gets_virtual_time_in_the_fixture_and_real_time_outside(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_users_async=USERS_PASSING_SUITE)

    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=5)


@pytest.mark.usefixtures("users_project")
def test_a_failing_async_test_still_restores_asyncio_sleep_and_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_users_async=USERS_FAILING_SUITE)

    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "E *AssertionError: pytest-asyncio test failed after a virtual hour",
        "E *RuntimeError: anyio test failed after a virtual hour",
    ])


def test_sleeps_captured_while_time_was_virtual_are_real_after_it() -> None:
    # Code imported during a test may hold `from time import sleep` / `from asyncio import sleep` aliases.
    from lro_emulator import VirtualClock, VirtualTime

    clock = VirtualClock("2030-01-01T00:00:00Z")
    with VirtualTime(clock):
        captured_sleep, captured_async_sleep = time.sleep, asyncio.sleep
        captured_sleep(60)
    assert clock.now() == datetime(2030, 1, 1, 0, 1, tzinfo=timezone.utc)

    started = wall()
    captured_sleep(0.01)
    assert asyncio.run(captured_async_sleep(0.01, "real")) == "real"

    assert clock.now() == datetime(2030, 1, 1, 0, 1, tzinfo=timezone.utc)
    assert 0.02 <= wall() - started < WALL_GUARD_SECONDS
    assert (time.sleep, asyncio.sleep) != (captured_sleep, captured_async_sleep)
