"""The ``lro-emulator`` command: run the emulator as a server (with a demo when given nothing)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from .demo import DEMO_PARENT, load_demo
from .emulator import DEFAULT_START, Emulator
from .profiles import PROFILES

__all__ = ["main"]

DEFAULT_PORT = 8089


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lro-emulator",
        description="Emulate Google's long-running Operations API. With no arguments, serve a demo.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any)")
    parser.add_argument("--grpc-port", type=int, default=None, metavar="PORT",
                        help="serve gRPC too, on this port (0: any; needs lro-emulator[grpc])")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="generic", help="service profile")
    parser.add_argument("--start", default=DEFAULT_START, help="where the virtual clock starts (RFC 3339)")
    parser.add_argument("--no-demo", action="store_true", help="start with no operations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        emulator = Emulator(start=args.start, profile=args.profile, host=args.host, port=args.port,
                            grpc_port=args.grpc_port or 0)
    except ValueError as error:
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    demo = not args.no_demo and args.profile == "generic"
    try:
        if demo:
            load_demo(emulator.state)
        emulator.start()
        target = None if args.grpc_port is None else emulator.start_grpc()
    except (OSError, ValueError, RuntimeError) as error:  # a port in use, grpcio missing
        emulator.stop()
        print(f"lro-emulator: {error}", file=sys.stderr)
        return 2
    url = emulator.url
    grpc_note = "" if target is None else f" and gRPC on {target}"
    print(f"lro-emulator ({args.profile} profile) serving on {url}{grpc_note}", flush=True)
    if demo:
        print(f"""
Try:
  curl -s {url}/v1/{DEMO_PARENT}/operations
  curl -s {url}/v1/{DEMO_PARENT}/operations/training            # the fourth poll sees it done
  curl -s -X POST {url}/v1/{DEMO_PARENT}/operations/hour-long:wait?timeout=3600s
  curl -s -X POST {url}/v1/{DEMO_PARENT}/operations/cancel-me:cancel
  curl -s '{url}/v1/{DEMO_PARENT}/operations?filter=done=true'
The clock is virtual: it moves only when a :wait asks it to. Press Ctrl-C to stop.""", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
