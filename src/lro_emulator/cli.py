"""The ``lro-emulator`` command: ``serve`` the emulator (a demo when given nothing), ``validate`` scenario files."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO

from .core.calls import Call
from .core.clock import VirtualClock
from .core.scenario import Scenario, ScenarioError, agreed_setting
from .core.state import EmulatorState
from .demo import DEMO_PARENT, load_demo
from .emulator import DEFAULT_START, Emulator
from .rest.openapi import openapi_document
from .wire.profiles import PROFILES
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
    commands = parser.add_subparsers(dest="command", metavar="{serve,validate,openapi}")
    serve = commands.add_parser("serve", help="serve until interrupted (the default command)",
                                description="Serve the emulator until interrupted, printing a line per request.")
    serve.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                       help="scenario files (YAML or JSON) to load, in order")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"REST port (default: {DEFAULT_PORT}; 0: any)")
    serve.add_argument("--grpc-port", type=int, default=None, metavar="PORT",
                       help="serve gRPC too, on this port (0: any; needs lro-emulator[grpc])")
    serve.add_argument("--profile", choices=sorted(PROFILES), default=None,
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
    validate = commands.add_parser("validate", help="check scenario files; exit 1 with their faults",
                                   description="Check scenario files as loading them would, without serving.")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario files (YAML or JSON)")
    openapi = commands.add_parser("openapi", help="print the OpenAPI 3.1 document of the REST surface",
                                  description="Print the OpenAPI 3.1 document of the emulated API and the control "
                                              "plane (the package ships it as lro_emulator/schemas/openapi.json).")
    openapi.add_argument("--server", default=None, metavar="URL",
                         help="the emulator's address, written into the document's servers (default: none)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*_COMMANDS, "-h", "--help"):
        arguments.insert(0, "serve")  # `lro-emulator --port 9000` is `serve --port 9000`
    args = _parser().parse_args(arguments)
    if args.command == "validate":
        return _validate(args.files, sys.stdout, sys.stderr)
    if args.command == "openapi":
        print(json.dumps(openapi_document(load_schemas(), server_url=args.server), indent=2, ensure_ascii=False))
        return 0
    return _serve(args)


# -- validate ------------------------------------------------------------------------------------------


def _validate(files: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Check each file as `Emulator.load_scenario` would, on a fresh emulator of its profile."""
    failed = 0
    schemas = load_schemas()
    for path in files:
        try:
            scenario = Scenario.read(path)
            profile, start = agreed_setting([scenario])
            state = EmulatorState(clock=VirtualClock(start or DEFAULT_START), profile=profile or "generic",
                                  schemas=schemas)
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
                            manual=args.manual)
    except (ScenarioError, ValueError) as error:
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    demo = not scenarios and not args.no_demo and profile == "generic"
    try:
        for scenario in scenarios:
            emulator.load_scenario(scenario)
        if demo:
            load_demo(emulator)
        emulator.start()
        target = None if args.grpc_port is None else emulator.start_grpc()
    except ScenarioError as error:
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as error:  # a port in use, grpcio missing
        emulator.stop()
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        emulator.observe(_print_call)
    url = emulator.url
    clock = "manual clock" if args.manual else ("real-time clock" if args.speed == 1 else f"clock at {args.speed:g}x")
    grpc_note = "" if target is None else f" and gRPC on {target}"
    loaded = "".join(f"\n  loaded {s.source}" for s in scenarios)
    print(f"lro-emulator ({emulator.profile.name} profile, {clock}) serving on {url}{grpc_note}\n"
          f"  control plane: {url}{CONTROL_PREFIX}/v1  (OpenAPI: {url}{CONTROL_PREFIX}/openapi.json){loaded}",
          flush=True)
    if demo:
        print(f"""
Try:
  curl -s {url}/v1/{DEMO_PARENT}/operations
  curl -s {url}/v1/{DEMO_PARENT}/operations/training            # the fourth poll sees it done
  curl -s -X POST {url}/v1/{DEMO_PARENT}/operations/cancel-me:cancel
  curl -s '{url}/v1/{DEMO_PARENT}/operations?filter=done=true'
  curl -s -X POST {url}{CONTROL_PREFIX}/v1/clock:advance -d '{{"duration": "3600s"}}'   # an hour passes
  curl -s {url}/v1/{DEMO_PARENT}/operations/hour-long           # now done
Press Ctrl-C to stop.""", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        emulator.stop()
    print("lro-emulator: stopped", flush=True)
    return 0


def _print_call(call: Call) -> None:
    name = f" {call.name}" if call.name else ""
    print(f"[{format_timestamp(call.time)}] {call.transport:4} {call.method} {call.path} -> {call.status} {call.code}"
          f"  {call.rpc or '-'}{name}", flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
