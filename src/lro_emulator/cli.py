"""The ``lro-emulator`` command: ``serve`` the emulator (a demo when given nothing), ``validate`` scenario files."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TextIO

from . import __version__
from .core.calls import Call
from .core.clock import VirtualClock
from .core.scenario import Scenario, ScenarioError, agreed_setting
from .core.state import EmulatorState
from .demo import DEMO_PARENT, load_demo
from .emulator import DEFAULT_MAX_CALLS, DEFAULT_START, Emulator
from .rest.openapi import openapi_document
from .wire.addresses import is_loopback
from .wire.errors import ScriptError, did_you_mean
from .wire.profiles import PROFILES, get_profile
from .wire.proto3_json import format_timestamp, parse_timestamp
from .wire.routes import CONTROL_PREFIX
from .wire.validation import load_schemas

__all__ = ["main"]

DEFAULT_PORT = 8089
_COMMANDS = ("serve", "validate", "openapi")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lro-emulator",
        description="Emulate Google's long-running Operations API. With no arguments, serve a demo.",
    )
    # The version written in the package, not read from the installed metadata (importlib.metadata is slow to import).
    parser.add_argument("--version", action="version", version=f"lro-emulator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,validate,openapi}")
    serve = commands.add_parser("serve", help="serve until interrupted (the default command)",
                                description="Serve the emulator until interrupted, printing a line per request.")
    serve.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                       help="scenario files (YAML or JSON) to load, in order")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    serve.add_argument("--control-token", metavar="TOKEN", default=os.environ.get("LRO_EMULATOR_CONTROL_TOKEN") or None,
                       help="require 'Authorization: Bearer TOKEN' on the control plane (/_emulator/); default: "
                            "$LRO_EMULATOR_CONTROL_TOKEN, else open")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"REST port (default: {DEFAULT_PORT}; 0: any)")
    serve.add_argument("--grpc-port", type=int, default=None, metavar="PORT",
                       help="serve gRPC too, on this port (0: any; needs lro-emulator[grpc])")
    serve.add_argument("--profile", choices=sorted(PROFILES), type=_profile_name, default=None,
                       help="service profile (default: the scenarios', else generic)")
    serve.add_argument("--start", default=None,
                       help=f"where the clock starts, RFC 3339 or 'now' (default: the scenarios', "
                            f"else {DEFAULT_START})")
    pace = serve.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0,
                      help="virtual seconds per real second (default: 1, real time; 60: a minute a second)")
    pace.add_argument("--manual", action="store_true", help="the clock moves only when the control plane moves it")
    serve.add_argument("--no-demo", action="store_true", help="without scenarios, start with no operations")
    serve.add_argument("--quiet", action="store_true", help="do not print a line per request")
    serve.add_argument("--max-calls", type=int, default=DEFAULT_MAX_CALLS, metavar="N",
                       help=f"keep the last N calls in the call log (default: {DEFAULT_MAX_CALLS:,}); older ones "
                            "are dropped and counted")
    serve.add_argument("--ready-file", default=None, metavar="PATH",
                       help='once every transport accepts connections, write {"rest": URL, "grpc": TARGET or null, '
                            '"pid": N} to PATH (atomically); removed on exit')
    _add_type_sources(serve)
    validate = commands.add_parser("validate", help="check scenario files; exit 1 with their faults",
                                   description="Check scenario files as loading them would, without serving.")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario files (YAML or JSON)")
    validate.add_argument("--grpc", action="store_true",
                          help="check too that every payload packs into protobuf messages, as serving gRPC needs")
    _add_type_sources(validate)
    openapi = commands.add_parser("openapi", help="print the OpenAPI 3.1 document of the REST surface",
                                  description="Print the OpenAPI 3.1 document of the emulated API and the control "
                                              "plane (the package ships it as lro_emulator/schemas/openapi.json).")
    openapi.add_argument("--server", default=None, metavar="URL",
                         help="the emulator's address, written into the document's servers (default: none)")
    return parser


def _profile_name(text: str) -> str:
    """``--profile``'s value: a profile's name, or the error that names the closest one (argparse's own invalid
    choice suggests nothing before Python 3.14)."""
    try:
        return get_profile(text).name
    except ScriptError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extras: Sequence[str]) -> str:
    """argparse's "unrecognized arguments" message, naming the closest option of each misspelt one.

    argparse suggests nothing for a misspelt option (before Python 3.14's ``suggest_on_error``), and the error comes
    from the top-level parser, which does not know the command's options: they are read here from the parsers
    themselves. argparse lists a parser's actions only in ``_actions``; it has no public accessor for them.
    """
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action.choices, Mapping) and command in action.choices:
            parsers.append(action.choices[command])
    options = [option for each in parsers for action in each._actions for option in action.option_strings
               if option.startswith("--")]
    # An option spelt right but out of its place (`serve --version`) gets no suggestion of itself.
    dashed = [word.split("=", 1)[0] for word in extras if word.startswith("--")]
    return f"unrecognized arguments: {' '.join(extras)}{did_you_mean(dashed, options, show=str)}"


def _add_type_sources(command: argparse.ArgumentParser) -> None:
    command.add_argument("--descriptor-set", action="append", default=[], metavar="FILE",
                         help="a serialized google.protobuf.FileDescriptorSet to load the services and messages of "
                              "(protoc --include_imports --descriptor_set_out, buf build -o); repeatable")
    command.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                         help="a Python module to import first, e.g. a client library's types "
                              "(google.cloud.run_v2); repeatable")


def _load_types(args: argparse.Namespace) -> None:
    """Import the modules and load the descriptor sets the command line names; `ValueError` says what failed."""
    for module in args.imports:
        try:
            importlib.import_module(module)
        except SystemExit as error:  # not an exit of ours: checking nothing and passing would be a false pass
            raise ValueError(f"--import {module}: the module called sys.exit({error.code!r})") from None
        except Exception as error:  # an import runs the module's code: whatever it raises, say so
            raise ValueError(f"--import {module}: {type(error).__name__}: {error}") from None
    for path in args.descriptor_set:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise ValueError(f"--descriptor-set {path}: {error.strerror or error}") from None
        try:
            from .wire.methods import load_descriptor_set

            load_descriptor_set(data, source=path)
        except ImportError:
            raise ValueError(f"--descriptor-set {path}: protobuf is not installed; "
                             "install lro-emulator[grpc]") from None
        except LookupError as error:
            raise ValueError(f"--descriptor-set {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*_COMMANDS, "-h", "--help", "--version"):
        arguments.insert(0, "serve")  # `lro-emulator --port 9000` is `serve --port 9000`
    parser = _parser()
    args, extras = parser.parse_known_args(arguments)
    if extras:
        parser.error(_unrecognized(parser, args.command, extras))
    if args.command == "serve" and args.ready_file is not None:
        # A file left by an earlier run would send a harness to a server that is gone, whatever fails next.
        try:
            _remove_quietly(args.ready_file)
        except OSError as error:
            print(f"lro-emulator: --ready-file {args.ready_file}: {error.strerror or error}", file=sys.stderr)
            return 2
    if args.command in ("serve", "validate"):
        try:
            _load_types(args)
        except ValueError as error:
            print(f"lro-emulator: {error}", file=sys.stderr)
            return 2
    if args.command == "validate":
        return _validate(args.files, sys.stdout, sys.stderr, typed=args.grpc)
    if args.command == "openapi":
        print(json.dumps(openapi_document(load_schemas(), server_url=args.server), indent=2, ensure_ascii=False))
        return 0
    return _serve(args)


# -- validate ------------------------------------------------------------------------------------------


def _validate(files: Sequence[str], out: TextIO, err: TextIO, *, typed: bool = False) -> int:
    """Check each file as `Emulator.load_scenario` would, on a fresh emulator of its profile (serving gRPC too, when
    ``typed``)."""
    failed = 0
    schemas = load_schemas()
    for path in files:
        try:
            scenario = Scenario.read(path)
            profile, start = agreed_setting([scenario])
            state = EmulatorState(clock=VirtualClock(start or DEFAULT_START), profile=profile or "generic",
                                  schemas=schemas)
            state.typed = typed
            scenario._check(state)
        except ScenarioError as error:
            failed += 1
            print(str(error), file=err)
            continue
        operations, starts = (len(scenario.document.get(key, [])) for key in ("operations", "starts"))
        print(f"{path}: ok ({operations} operation{'s' if operations != 1 else ''}, "
              f"{starts} starting method{'s' if starts != 1 else ''})", file=out)
    return 1 if failed else 0


# -- serve ---------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    try:
        scenarios = [Scenario.read(path) for path in args.scenarios]
        flag = None if args.profile is None else ("--profile", args.profile)
        agreed_setting(scenarios, profile=flag)  # a clash of profiles is reported before a malformed --start
        given = None
        if args.start is not None:
            given = datetime.now(timezone.utc) if args.start == "now" else parse_timestamp(args.start)
        agreed_profile, start = agreed_setting(scenarios, profile=flag,
                                               start=None if given is None else ("--start", given))
        profile = agreed_profile or "generic"
        emulator = Emulator(start=start or DEFAULT_START, profile=profile, host=args.host, port=args.port,
                            grpc_port=args.grpc_port or 0, speed=None if args.manual else args.speed,
                            manual=args.manual, max_calls=args.max_calls, control_token=args.control_token)
    except (ScenarioError, ValueError) as error:
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        protection = ("it requires the --control-token you gave" if args.control_token else
                      "protect it with --control-token TOKEN (or $LRO_EMULATOR_CONTROL_TOKEN)")
        print(f"lro-emulator: warning: --host {args.host} is beyond loopback: every machine that reaches it can call "
              f"the emulated API and its control plane, which reads every call and resets, loads or moves "
              f"everything; {protection}", file=sys.stderr, flush=True)
    demo = not scenarios and not args.no_demo and profile == "generic"
    try:
        for scenario in scenarios:
            emulator.load_scenario(scenario)
        if demo:
            load_demo(emulator)
        emulator.start()
        target = None if args.grpc_port is None else emulator.start_grpc()
    except (OSError, ValueError, RuntimeError) as error:  # a scenario's fault, a port in use, grpcio missing
        emulator.stop()
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    url = emulator.url
    stopped = threading.Event()
    # Before the ready file: a harness may stop the server as soon as it reads it.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    log = _Log()  # before the ready file, which nothing may fail between writing and the try that removes it
    if args.ready_file is not None:
        try:
            _write_ready_file(args.ready_file, {"rest": url, "grpc": target, "pid": os.getpid()})
        except OSError as error:
            emulator.stop()
            print(f"lro-emulator: --ready-file {args.ready_file}: {error.strerror or error}", file=sys.stderr)
            return 2
    try:
        clock = ("manual clock" if args.manual else
                 ("real-time clock" if args.speed == 1 else f"clock at {args.speed:g}x"))
        grpc_note = "" if target is None else f" and gRPC on {target}"
        loaded = "".join(f"\n  loaded {s.source}" for s in scenarios)
        # A client's wait would otherwise seem to hang: nothing it does moves a manual clock.
        manual = ("\n  manual clock: it moves only through the control plane, so a :wait (WaitOperation) blocks until "
                  "its timeout or until the clock is moved to the operation's next step; "
                  f"curl -s {url}{CONTROL_PREFIX}/v1/clock:advance --json '{{\"duration\": \"60s\"}}'"
                  "   # a minute passes (clock:set sets it)") if args.manual else ""
        # Through the log, before the request lines start: none of them can come first or cut into it.
        log.put(f"lro-emulator ({emulator.profile.name} profile, {clock}) serving on {url}{grpc_note}\n"
                f"  control plane: {url}{CONTROL_PREFIX}/v1  (OpenAPI: {url}{CONTROL_PREFIX}/openapi.json)"
                f"{manual}{loaded}")
        if demo:
            log.put(f"""
Try:
  curl -s {url}/v1/{DEMO_PARENT}/operations
  curl -s {url}/v1/{DEMO_PARENT}/operations/training            # the fourth poll sees it done
  curl -s -X POST {url}/v1/{DEMO_PARENT}/operations/cancel-me:cancel
  curl -s '{url}/v1/{DEMO_PARENT}/operations?filter=done=true'
  curl -s {url}{CONTROL_PREFIX}/v1/clock:advance --json '{{"duration": "3600s"}}'   # an hour passes
  curl -s {url}/v1/{DEMO_PARENT}/operations/hour-long           # now done
Press Ctrl-C to stop.""")
        if not args.quiet:
            emulator.observe(lambda call: log.put(_call_line(call)))
        # In slices: the kernel may deliver SIGINT to another thread (the log writer, a request's), and then nothing
        # interrupts a main thread blocked without a timeout; its handler runs at the next slice instead.
        while not stopped.wait(0.2):
            pass
    finally:  # however it ends (a signal, a closed stdout), the ready file goes with the server
        if args.ready_file is not None:
            _remove_quietly(args.ready_file)
        emulator.stop()
        log.put("lro-emulator: stopped")
        log.close()
    return 0


def _write_ready_file(path: str, content: dict[str, object]) -> None:
    """Write ``content`` as JSON to ``path`` at once: a reader sees no file or the whole of it, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(content, file)
            file.write("\n")
        os.replace(temporary, path)  # atomic on POSIX and Windows
    finally:
        _remove_quietly(temporary)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _call_line(call: Call) -> str:
    name = f" {_printable(call.name)}" if call.name else ""
    return (f"[{format_timestamp(call.time)}] {call.transport:4} {_printable(call.method)} {_printable(call.path)} -> "
            f"{call.status} {call.code}  {_printable(call.rpc or '-')}{name}")


class _Log:
    """Lines for standard output, written by a thread of their own, so that a reader that stops reading (a harness
    that never drains the pipe) can never stop the server: past `CAPACITY` waiting lines, new ones are counted and
    dropped, and the count is printed once the output moves again.

    The thread writes to the file descriptor itself, not through ``sys.stdout``, whose lock it would otherwise hold
    while blocked, and which the interpreter flushes as it exits.
    """

    CAPACITY = 10_000

    def __init__(self) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue(self.CAPACITY)
        self._dropped = 0
        self._lock = threading.Lock()
        # No standard output with a file descriptor (started with it closed, or run where it was replaced): the
        # lines go nowhere, and serving goes on.
        self._fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            self._fd = sys.stdout.fileno()
        self._encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        self._thread = threading.Thread(target=self._write, name="lro-emulator-log", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        """Print ``line`` soon, or count it dropped if the output has stopped moving; never blocks."""
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            with self._lock:
                self._dropped += 1

    def close(self, timeout: float = 2.0) -> None:
        """Let the lines waiting go out, for up to ``timeout`` seconds (a pipe nobody reads never takes them)."""
        with contextlib.suppress(queue.Full):
            self._lines.put_nowait(None)
        self._thread.join(timeout)

    def _write(self) -> None:
        while (line := self._lines.get()) is not None:
            with self._lock:
                dropped, self._dropped = self._dropped, 0
            text = (f"lro-emulator: {dropped:,} lines not printed: standard output was not read\n" if dropped else ""
                    ) + line + "\n"
            data = text.encode(self._encoding, "backslashreplace")
            if self._fd is None:
                continue
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError:  # the reader has gone (a closed pipe): nothing more can be printed
                return


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x0a``): a client's path must not start a line of the log,
    nor move the cursor or recolour the console with ANSI escapes."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
