"""``bench/run.py --profile N``: where the emulator's side of benchmark N spends its time.

With py-spy (it samples every thread, and the pytest subprocesses of benchmark 4), the benchmark runs
again in a child process with only its emulator side (``--emulator-only``) and the samples are summed
per function: the ten with the most own time, and the ten lro_emulator functions with the most time
inclusive, for the serving threads and the main thread apart. Without py-spy, pyinstrument profiles the
benchmark in this process, which sees the main thread only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

TOP = 10
#: Benchmarks whose profile only counts the stacks through this frame (and the serving threads): the
#: measured runs of benchmark 3, not the imports before; the tests' own run in benchmark 4, not pytest's
#: start-up and collection (the same with the fixture or without).
FOCUS = {3: "hour_long", 4: "runtestprotocol"}
_THREAD = re.compile(r"^thread \((?P<id>[^)]*)\)(?::\s*(?P<name>.*))?$")
_PROCESS = re.compile(r"^process (?P<pid>\d+)")


def profile_benchmark(script: Path, number: int, quick: bool, run_here: Callable[[], None]) -> int:
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return _pyinstrument(number, run_here)
    with tempfile.TemporaryDirectory(prefix="lro-bench-profile-") as tmp:
        raw = Path(tmp) / "samples.txt"
        benchmark = [sys.executable, str(script), "--only", str(number), "--emulator-only"]
        benchmark += ["--quick"] if quick else []
        command = [spy, "record", "--function", "--format", "raw", "--rate", "1000", "--threads", "--gil",
                   "--subprocesses", "--output", str(raw), "--", *benchmark]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not raw.exists():
            print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
            return 1
        focus = FOCUS.get(number)
        title = f"benchmark {number}, emulator side, py-spy" + (f", main thread: through {focus} only" if focus else "")
        print(summarize(raw.read_text().splitlines(), title, focus))
    return 0


def summarize(lines: list[str], title: str, focus: str | None = None) -> str:
    """Own and inclusive time per function from py-spy's raw output (collapsed stacks, ``--threads``)."""
    parsed: list[tuple[str, list[str], int]] = []
    main_threads: set[str] = set()
    for line in lines:
        stack, _, weight = line.rpartition(" ")
        if not stack or not weight.isdigit():
            continue
        parts = stack.split(";")
        process = next((m for p in parts if (m := _PROCESS.match(p))), None)
        thread = next((m for p in parts if (m := _THREAD.match(p))), None)
        frames = [p for p in parts if not p.startswith(("process ", "thread "))]
        thread_id = thread.group("id") if thread else ""
        # py-spy names threads by their native id (the main thread's is the process id); a name is not always known.
        if thread and ((thread.group("name") or "").strip() == "MainThread"
                       or (process is not None and process.group("pid") == thread_id)):
            main_threads.add(thread_id)
        parsed.append((thread_id, frames, int(weight)))
    groups: dict[str, list[tuple[list[str], int]]] = {"serving threads": [], "main thread": []}
    for thread_id, frames, count in parsed:
        main = thread_id in main_threads
        if main and focus is not None and not any(frame.startswith(focus + " ") for frame in frames):
            continue
        groups["main thread" if main else "serving threads"].append((frames, count))
    out = [f"profile: {title}"]
    for group, samples in groups.items():
        total = sum(count for _, count in samples)
        if not total:
            continue
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        for frames, count in samples:
            if frames:
                own[frames[-1]] += count
            for frame in set(frames):
                if "lro_emulator/" in frame:
                    inclusive[frame] += count
        out.append(f"\n{group}: {total} samples (busy only)")
        out.append(f"  top {TOP} by own time:")
        out += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(TOP)]
        if inclusive:
            out.append(f"  top {TOP} lro_emulator functions by inclusive time:")
            out += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(TOP)]
    return "\n".join(out)


def _pyinstrument(number: int, run_here: Callable[[], None]) -> int:
    from pyinstrument import Profiler

    profiler = Profiler()
    with profiler:
        run_here()
    print(f"profile: benchmark {number}, pyinstrument (main thread only: py-spy is not installed)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0
