"""Contract: a client in another language, Node.js's @google-cloud/run (google-gax), against ``lro-emulator serve``.

The server has no library for Cloud Run: it loads the service from a descriptor set compiled from the protos the
npm packages ship (``--descriptor-set``), declares ``CreateService`` by its full name in a scenario, and tells the
Node.js process where it listens through ``--ready-file``. The client creates a service over gRPC (insecure
credentials) and over gax's REST fallback, polls, and receives the service the scenario's template names after
its request. The npm packages are installed once into a cache folder (``LRO_EMULATOR_NODE_CACHE``, by default
``~/.cache/lro-emulator-tests/node``); without ``node`` and ``npm`` the test is skipped, saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import console_script

#: The npm packages, pinned so that every run compiles the same protos.
PACKAGES = {"@google-cloud/run": "3.3.0", "google-gax": "5.0.8"}
SCRIPT = Path(__file__).parent / "node" / "create_service.js"
PARENT = "projects/my-project/locations/us-central1"
GUARD_SECONDS = 120.0
GUIDE = (Path(__file__).parents[1] / "docs" / "how-to" / "standalone-server.md").read_text(encoding="utf-8")
#: The scenario and the commands are the standalone server guide's ("Clients in other languages"): what it shows is
#: what runs here.
SCENARIO = re.search(r"```yaml\n# file: run\.yaml\n(.*?)```", GUIDE, flags=re.DOTALL).group(1)  # type: ignore[union-attr]


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed, so no Node.js client can be run")
    return node, npm


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The cache folder with the pinned npm packages installed (once; a lock keeps parallel workers apart)."""
    _, npm = _tools()
    default = Path.home() / ".cache" / "lro-emulator-tests" / "node"
    folder = Path(os.environ.get("LRO_EMULATOR_NODE_CACHE", default))
    folder.mkdir(parents=True, exist_ok=True)
    wanted = json.dumps({"private": True, "dependencies": PACKAGES}, indent=2, sort_keys=True) + "\n"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = folder / "node_modules" / ".installed"
        if not installed.exists() or installed.read_text() != wanted:
            (folder / "package.json").write_text(wanted)
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True,
                           timeout=600, stdin=subprocess.DEVNULL)
            installed.write_text(wanted)
    return folder / "node_modules"


@pytest.fixture(scope="module")
def run_descriptor_set(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """google/cloud/run/v2/service.proto and its imports, compiled by protoc from the protos the packages ship."""
    import grpc_tools

    out = tmp_path_factory.mktemp("run") / "run.pb"
    includes = [node_modules / "@google-cloud" / "run" / "build" / "protos", node_modules / "google-gax" / "build" /
                "protos", Path(grpc_tools.__file__).parent / "_proto"]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", *(f"-I{folder}" for folder in includes),
                    "--include_imports", f"--descriptor_set_out={out}", "google/cloud/run/v2/service.proto"],
                   check=True, timeout=GUARD_SECONDS, stdin=subprocess.DEVNULL)
    return out


@pytest.fixture
def server(run_descriptor_set: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``lro-emulator serve --descriptor-set run.pb --ready-file ... run.yaml`` on free ports; its ready file."""
    scenario, ready = tmp_path / "run.yaml", tmp_path / "ready.json"
    scenario.write_text(SCENARIO, encoding="utf-8")
    process = subprocess.Popen(
        [console_script(), "serve", "--port", "0", "--grpc-port", "0", "--quiet", "--descriptor-set",
         str(run_descriptor_set), "--ready-file", str(ready), str(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(GUARD_SECONDS * 2, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # printed once the ready file is written
        assert banner.startswith("lro-emulator"), process.stderr.read() if process.stderr else banner
        address: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
        yield {**address, "ready_file": ready}
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=GUARD_SECONDS) == 0
        watchdog.cancel()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        assert not ready.exists()


def test_the_guide_installs_the_packages_this_test_pins() -> None:
    pinned = " ".join(f"{name}@{version}" for name, version in PACKAGES.items())
    assert f"npm install {pinned}\n" in GUIDE
    assert "--descriptor-set run.pb --port 0 --grpc-port 0 --ready-file ready.json" in GUIDE


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_the_node_client_creates_a_service_through_a_declared_start(
    node_modules: Path, server: dict[str, Any], transport: str
) -> None:
    node, _ = _tools()
    environment = {
        **os.environ,
        "NODE_PATH": str(node_modules),
        # No metadata-server probe (google-auth-library looks for one on Google Cloud): loopback traffic only.
        "METADATA_SERVER_DETECTION": "none",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    ran = subprocess.run([node, str(SCRIPT), transport, str(server["ready_file"]), PARENT, f"svc-{transport}"],
                         capture_output=True, text=True, timeout=GUARD_SECONDS, env=environment,
                         cwd=node_modules.parent, stdin=subprocess.DEVNULL)

    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["service"] == {"name": f"{PARENT}/services/svc-{transport}", "uri": f"https://svc-{transport}.run.app"}
    assert result["operation"] == f"{PARENT}/operations/op-1"
