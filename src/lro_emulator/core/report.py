"""The failure report: each operation's timeline on the virtual clock beside the calls the client made.

A failing test that used the emulator shows this text (the pytest plugin adds it as a report
section), so that a person sees at a glance what the server did and what the client asked, when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from ..wire.proto3_json import format_timestamp
from .calls import Call, format_offset

if TYPE_CHECKING:
    from .state import EmulatorState
    from .timeline import OperationRecord, Step, Transition

__all__ = ["describe"]

#: Columns of the time axis.
WIDTH = 60
#: Operations drawn in full; the rest are counted.
MAX_OPERATIONS = 12
_MARKS = {"created": "o", "update": "m", "succeed": "*", "fail": "X", "cancel": "C"}
_LEGEND = ("steps: o created, m metadata, * succeeded, X failed, C cancelled; "
           "calls: | answered, ! error or fault, 2-9/+ several in one column")


def describe(state: EmulatorState, origin: datetime) -> str:
    """The report of ``state``, whose clock started at ``origin``."""
    with state.lock:
        now = state.clock.now()
        records = list(state.store)
        for record in records:
            record.settle(now)
        histories = {record.name: (record, list(record.history), list(record.pending)) for record in records}
    calls = list(state.calls)
    by_name: dict[str | None, list[Call]] = {}
    for call in calls:
        by_name.setdefault(call.name, []).append(call)
    span_end = max([now, *(call.time for call in calls)])
    lines = [
        f"lro-emulator: {state.profile.name} profile; virtual clock {format_timestamp(origin)} -> "
        f"{format_timestamp(now)} (+{format_offset((now - origin).total_seconds())}); "
        f"{len(records)} operation(s), {len(calls)} call(s)",
    ]
    if records:
        lines.append(f"  {_LEGEND}")
    for record, history, pending in (histories[r.name] for r in records[:MAX_OPERATIONS]):
        lines.extend(_operation(record, history, pending, by_name.get(record.name, []), origin, span_end))
    if len(records) > MAX_OPERATIONS:
        lines.append(f"... and {len(records) - MAX_OPERATIONS} more operation(s)")
    known = {record.name for record in records}
    others = [call for call in calls if call.name not in known]
    if others:
        lines.append(f"other calls (collections, starts, deleted or unknown operations): {_tally(others)}")
        lines.extend(_listed(_notable(others, keep=3), origin, names=True))
    faults = list(state.faults)
    lines.append("faults:" + (" none scripted" if not faults else ""))
    for fault in faults:
        # Its private fields: a report is also wanted once the test has ended, when the public ones refuse.
        fired = ", ".join(f"+{format_offset((call.time - origin).total_seconds())}" for call in list(fault._fired)[:10])
        more = "" if len(fault._fired) <= 10 else f", ... ({len(fault._fired)} in all)"
        lines.append(f"  {fault.describe()}: fired {len(fault._fired)} of {fault._matched} aimed call(s)"
                     + (f" at {fired}{more}" if fired else ""))
    problems = list(state.problems)
    lines.append("schema violations and emulator failures:" + (" none" if not problems else ""))
    lines.extend(f"  - {type(problem).__name__}: {problem}" for problem in problems)
    return "\n".join(lines)


def _operation(
    record: OperationRecord,
    history: list[Transition],
    pending: list[Step],
    calls: list[Call],
    origin: datetime,
    end: datetime,
) -> list[str]:
    if record.done:
        kind, _ = record.result or ("", None)
        fired = next((t for t in reversed(history) if t.done), None)
        outcome = "cancelled" if fired is not None and fired.kind == "cancel" else f"done with {kind}"
        state = outcome + (f" at +{_offset(fired.time, origin)}" if fired else "")
    else:
        state = "not done" + (f", {len(pending)} step(s) pending" if pending else ", nothing more scripted")
    lines = [f"{record.name}  ({state}; {record.polls} poll(s) answered)"]
    left, right = "0s", f"+{_offset(end, origin)}"
    lines.append(f"  time  [{left}{right:>{WIDTH - len(left)}}]")
    steps = [" "] * WIDTH
    for transition in history:
        steps[_column(transition.time, origin, end)] = _MARKS.get(transition.kind, "?")
    lines.append(f"  steps [{''.join(steps)}]")
    lines.append(f"  calls [{_call_row(calls, origin, end)}]")
    told = ", ".join(f"+{_offset(t.time, origin)} {t.kind}" for t in history)
    lines.append(f"  fired: {told}")
    if pending:
        lines.append("  pending: " + ", ".join(_pending(step, origin) for step in pending))
    if calls:
        lines.append(f"  calls: {_tally(calls)}")
        lines.extend(_listed(_notable(calls, keep=1), origin))
    return lines


def _pending(step: Step, origin: datetime) -> str:
    """A pending step on the report's axis (from the clock's start, like everything else in it)."""
    if step.due is not None:
        return f"{step.kind.value} at +{_offset(step.due, origin)}"
    return f"{step.kind.value} after {step.after_polls} poll{'s' if step.after_polls != 1 else ''}"


def _call_row(calls: Iterable[Call], origin: datetime, end: datetime) -> str:
    counts: Counter[int] = Counter()
    bad: set[int] = set()
    for call in calls:
        column = _column(call.time, origin, end)
        counts[column] += 1
        if call.code != "OK" or call.fault is not None:
            bad.add(column)
    row = []
    for column in range(WIDTH):
        count = counts[column]
        if column in bad:
            row.append("!")
        elif count == 0:
            row.append(" ")
        elif count == 1:
            row.append("|")
        else:
            row.append(str(count) if count < 10 else "+")
    return "".join(row)


def _column(moment: datetime, origin: datetime, end: datetime) -> int:
    span = (end - origin).total_seconds()
    if span <= 0:
        return 0
    fraction = (moment - origin).total_seconds() / span
    return min(WIDTH - 1, max(0, int(fraction * (WIDTH - 1) + 0.5)))


def _offset(moment: datetime, origin: datetime) -> str:
    return format_offset((moment - origin).total_seconds())


def _tally(calls: list[Call]) -> str:
    """``GetOperation 12 (2 UNAVAILABLE), CancelOperation 1``."""
    rpcs: Counter[str] = Counter(call.rpc or f"{call.method} (no route)" for call in calls)
    parts = []
    for rpc, count in rpcs.items():
        failed = Counter(call.code for call in calls if (call.rpc or f"{call.method} (no route)") == rpc
                         and call.code != "OK")
        faulted = sum(1 for call in calls if (call.rpc or f"{call.method} (no route)") == rpc and call.fault)
        notes = [f"{n} {code}" for code, n in failed.items()] + ([f"{faulted} faulted"] if faulted else [])
        parts.append(f"{rpc} {count}" + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(parts)


def _listed(calls: list[Call], origin: datetime, *, names: bool = False) -> list[str]:
    """One line per call; past 40, the first and last 20 and how many were left out between."""
    lines = [f"    {call.line(origin)}" + (f"  {call.name}" if names and call.name else "") for call in calls]
    if len(lines) > 40:
        lines = [*lines[:20], f"    ... {len(lines) - 40} more failed or faulted call(s) ...", *lines[-20:]]
    return lines


def _notable(calls: list[Call], *, keep: int) -> list[Call]:
    """The first and last ``keep`` calls and every failed or faulted one between (40 at most)."""
    chosen = [call for index, call in enumerate(calls)
              if index < keep or index >= len(calls) - keep or call.code != "OK" or call.fault is not None]
    return chosen
