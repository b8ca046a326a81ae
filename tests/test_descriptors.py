"""Services the process has no client library for: descriptor sets, ``--import``, and what loading checks.

A serialized FileDescriptorSet (what ``protoc --include_imports --descriptor_set_out`` writes) declares a service
with ``google.api.http`` and ``google.longrunning.operation_info``; the emulator reads its starts from it, in process
and through ``lro-emulator serve/validate --descriptor-set``. Start templates fill ``{request.FIELD}`` in per call.
A start whose template cannot be sent over gRPC is refused when gRPC starts, never at the first call. ``serve
--ready-file`` tells a harness in another language where the emulator listens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api import annotations_pb2
from google.cloud import workflows_v1
from google.longrunning import operations_pb2, operations_proto_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from werkzeug.test import Client

from lro_emulator import Emulator, OperationHandle, Scenario, ScenarioError, ScriptError, StartRequest
from lro_emulator.wire.methods import http_options_in, load_descriptor_set  # internal: the readers under test

from .helpers import console_script

PACKAGE = "lro_emulator_test.builds.v1"
FILE = "lro_emulator_test/builds/v1/builds.proto"
METHOD = f"{PACKAGE}.Builds.CreateBuild"
GUARD_SECONDS = 30.0


def _field(message: Any, name: str, number: int, json_name: str, type_name: str | None = None) -> None:
    kind = descriptor_pb2.FieldDescriptorProto
    message.field.add(name=name, number=number, json_name=json_name, label=kind.LABEL_OPTIONAL,
                      type=kind.TYPE_MESSAGE if type_name else kind.TYPE_STRING, type_name=type_name)


def builds_file() -> descriptor_pb2.FileDescriptorProto:
    """``Builds.CreateBuild``, a method of a service no library in this process defines, as protoc describes it."""
    file = descriptor_pb2.FileDescriptorProto(name=FILE, package=PACKAGE, syntax="proto3",
                                              dependency=["google/api/annotations.proto",
                                                          "google/longrunning/operations.proto"])
    build = file.message_type.add(name="Build")
    _field(build, "name", 1, "name")
    _field(build, "image", 2, "image")
    _field(file.message_type.add(name="BuildMetadata"), "step", 1, "step")
    request = file.message_type.add(name="CreateBuildRequest")
    _field(request, "parent", 1, "parent")
    _field(request, "build_id", 2, "buildId")
    _field(request, "build", 3, "build", f".{PACKAGE}.Build")
    method = file.service.add(name="Builds").method.add(
        name="CreateBuild", input_type=f".{PACKAGE}.CreateBuildRequest", output_type=".google.longrunning.Operation")
    rule = method.options.Extensions[annotations_pb2.http]
    rule.post, rule.body = "/v1/{parent=projects/*}/builds", "build"
    rule.additional_bindings.add(post="/v1/{parent=projects/*/locations/*}/builds", body="build")
    rule.additional_bindings.add(post="/v1/{parent=folders/*}/builds", body="*")  # same path shape, another body
    file.service[0].method.add(name="GetBuild", input_type=f".{PACKAGE}.CreateBuildRequest",
                               output_type=f".{PACKAGE}.Build")
    info = method.options.Extensions[operations_proto_pb2.operation_info]
    info.response_type, info.metadata_type = "Build", "BuildMetadata"
    return file


def descriptor_set() -> bytes:
    """The file and everything it imports, in dependency order (``--include_imports``): common files included."""
    pool = descriptor_pool.Default()
    ordered: list[descriptor_pb2.FileDescriptorProto] = []

    def add(name: str) -> None:
        if any(file.name == name for file in ordered):
            return
        proto = descriptor_pb2.FileDescriptorProto()
        pool.FindFileByName(name).CopyToProto(proto)
        for dependency in proto.dependency:
            add(dependency)
        ordered.append(proto)

    for dependency in builds_file().dependency:
        add(dependency)
    return descriptor_pb2.FileDescriptorSet(file=[*ordered, builds_file()]).SerializeToString()


@pytest.fixture(scope="module")
def builds_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("descriptors") / "builds.pb"
    path.write_bytes(descriptor_set())
    return path


@pytest.fixture
def loaded(builds_set: Path) -> None:
    """The set in this process's descriptor pool (once per process: loading it again adds nothing)."""
    load_descriptor_set(builds_set.read_bytes(), str(builds_set))


def message(name: str) -> Any:
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(f"{PACKAGE}.{name}"))


def build_any(name: str) -> dict[str, str]:
    return {"@type": f"type.googleapis.com/{PACKAGE}.Build", "name": name}


# -- loading ------------------------------------------------------------------------------------------------


def test_a_set_loads_its_own_files_and_skips_the_common_ones() -> None:
    own = descriptor_pb2.FileDescriptorProto(name=f"lro_emulator_test/own_{uuid.uuid4().hex}.proto",
                                             package=f"lro_emulator_test.own{uuid.uuid4().hex}",
                                             dependency=["google/longrunning/operations.proto"])
    common = descriptor_pb2.FileDescriptorProto()
    descriptor_pool.Default().FindFileByName("google/longrunning/operations.proto").CopyToProto(common)
    data = descriptor_pb2.FileDescriptorSet(file=[common, own]).SerializeToString()

    assert load_descriptor_set(data, "own.pb") == [own.name]  # the process had operations.proto already
    assert load_descriptor_set(data, "own.pb") == []


def chain(length: int, tag: str) -> bytes:
    """A set of ``length`` files, each importing the one before, listed last first."""
    files = [descriptor_pb2.FileDescriptorProto(name=f"lro_emulator_test/{tag}/f{index}.proto",
                                                package=f"lro_emulator_test.{tag}{index}",
                                                dependency=[f"lro_emulator_test/{tag}/f{index - 1}.proto"] if index
                                                else []) for index in range(length)]
    return descriptor_pb2.FileDescriptorSet(file=list(reversed(files))).SerializeToString()


def test_a_deep_set_loads_in_dependency_order() -> None:
    tag = f"chain{uuid.uuid4().hex}"  # the pool is the process's: a name of its own each run

    added = load_descriptor_set(chain(3000, tag), "chain.pb")

    assert added == [f"lro_emulator_test/{tag}/f{index}.proto" for index in range(3000)]


@pytest.mark.parametrize(("data", "fragment"), [
    (descriptor_pb2.FileDescriptorSet(file=[descriptor_pb2.FileDescriptorProto(name="lro_emulator_test/twice.proto")]
                                      * 2).SerializeToString(), "builds.pb holds lro_emulator_test/twice.proto twice"),
    (b"\xff\xff\xff", "builds.pb is not a serialized google.protobuf.FileDescriptorSet"),
    (b"", "builds.pb holds no files; write it with protoc --include_imports"),
    (descriptor_pb2.FileDescriptorSet(file=[descriptor_pb2.FileDescriptorProto(
        name="lro_emulator_test/orphan.proto", package="lro_emulator_test.orphan",
        dependency=["lro_emulator_test/missing.proto"])]).SerializeToString(),
     "builds.pb: lro_emulator_test/orphan.proto cannot be loaded beside what this process has"),
])
def test_a_bad_set_says_what_is_wrong(data: bytes, fragment: str) -> None:
    with pytest.raises(LookupError, match=fragment.replace(".", r"\.")):
        load_descriptor_set(data, "builds.pb")


# -- a start declared from the descriptors ---------------------------------------------------------------------


def builds_in_a_minute(op: OperationHandle, request: StartRequest) -> None:
    op.update(metadata={"@type": f"type.googleapis.com/{PACKAGE}.BuildMetadata", "step": "fetch"})
    op.succeed(build_any(f"{request.parent}/builds/{request.message['buildId']}"), at=60)


@pytest.mark.usefixtures("loaded")
def test_a_start_declared_by_full_name_serves_rest_and_grpc(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(METHOD, script=builds_in_a_minute)
    http = Client(lro_emulator.wsgi_app)

    rest = http.post("/v1/projects/p/builds?buildId=b1", json={"image": "gcr.io/x"})
    nested = http.post("/v1/projects/p/locations/l/builds?buildId=b2", json={"image": "gcr.io/y"})
    # The same path shape with body "*": the body is the whole request, not the build.
    whole = http.post("/v1/folders/f/builds", json={"buildId": "b4", "build": {"image": "gcr.io/z"}})
    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        create = channel.unary_unary(f"/{PACKAGE}.Builds/CreateBuild",
                                     request_serializer=lambda value: value.SerializeToString(),
                                     response_deserializer=operations_pb2.Operation.FromString)
        answer = create(message("CreateBuildRequest")(parent="projects/p", build_id="b3"), timeout=GUARD_SECONDS)

    assert (rest.status_code, nested.status_code, whole.status_code) == (200, 200, 200), whole.get_json()
    assert [request.message for request in starter.requests] == [
        {"parent": "projects/p", "buildId": "b1", "build": {"image": "gcr.io/x"}},
        {"parent": "projects/p/locations/l", "buildId": "b2", "build": {"image": "gcr.io/y"}},
        {"parent": "folders/f", "buildId": "b4", "build": {"image": "gcr.io/z"}},
        {"parent": "projects/p", "buildId": "b3"},
    ]
    assert answer.name == "projects/p/operations/op-4"
    assert (starter.response_type, starter.metadata_type) == (f"{PACKAGE}.Build", f"{PACKAGE}.BuildMetadata")
    lro_emulator.clock.advance(60)
    assert lro_emulator.operation(answer.name).snapshot()["response"] == build_any("projects/p/builds/b3")


@pytest.mark.usefixtures("loaded")
def test_a_template_of_another_type_than_operation_info_says_is_refused_at_load(lro_emulator: Emulator) -> None:
    scenario = Scenario.from_document({"starts": [{"method": METHOD, "operation": {"steps": [
        {"at": "1s", "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}]}}]})

    with pytest.raises(ScenarioError) as error:
        lro_emulator.load_scenario(scenario)

    (problem,) = error.value.problems
    assert problem.pointer == "/starts/0/operation/steps/0"
    assert problem.message == (f"{METHOD} answers response of type {PACKAGE}.Build, not google.protobuf.Empty "
                               "(at /response/@type)")
    assert lro_emulator.starters == []


# -- placeholders ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("loaded")
def test_a_template_names_each_resource_after_its_request(lro_emulator: Emulator) -> None:
    lro_emulator.load_scenario(Scenario.from_document({"starts": [{"method": METHOD, "operation": {
        "metadata": {"@type": f"type.googleapis.com/{PACKAGE}.BuildMetadata", "step": "building {name}"},
        "steps": [{"at": "10s", "response": build_any("{request.parent}/builds/{request.buildId}{{x}}")}]}}]}))
    http = Client(lro_emulator.wsgi_app)

    first = http.post("/v1/projects/p/builds?buildId=one", json={}).get_json()
    second = http.post("/v1/projects/p/builds?buildId=two", json={}).get_json()
    nameless = http.post("/v1/projects/p/builds", json={}).get_json()
    lro_emulator.clock.advance(10)

    responses = [lro_emulator.operation(op["name"]).snapshot()["response"]["name"] for op in (first, second, nameless)]
    assert responses == ["projects/p/builds/one{x}", "projects/p/builds/two{x}", "projects/p/builds/{x}"]
    assert first["metadata"]["step"] == f"building {first['name']}"


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(("text", "fragment"), [
    ("{request.buildID}",
     f"{{request.buildID}}: {PACKAGE}.CreateBuildRequest has no field 'buildID' (it has build, buildId, parent)"),
    ("{request.build.image.x}", "request.build.image is not a message, so .x names nothing"),
    ("{request.parent[0]}", "request.parent is not a list, so [0] names nothing"),
    ("{now}", "{now} is not a placeholder; use {request.FIELD}, {parent} or {name}"),
    ("a { b", "a lone '{' in 'a { b'"),
    ("{request.build.name.first}", "request.build.name is not a message, so .first names nothing"),
])
def test_a_placeholder_that_names_no_field_is_a_load_time_fault(lro_emulator: Emulator, text: str, fragment: str
                                                                ) -> None:
    scenario = Scenario.from_document({"starts": [{"method": METHOD, "operation": {"steps": [
        {"at": "1s", "response": build_any(text)}]}}]})

    with pytest.raises(ScenarioError) as error:
        lro_emulator.load_scenario(scenario)

    (problem,) = error.value.problems
    assert problem.pointer == "/starts/0/operation/steps/0/response/name"
    assert fragment in problem.message
    assert lro_emulator.starters == []


# -- packing for gRPC, checked when gRPC starts ----------------------------------------------------------------


UNPACKABLE_START = {"starts": [{"http": "POST /v1/{parent=projects/*}/widgets", "operation": {"steps": [
    {"at": "1s", "response": {"@type": "type.googleapis.com/nowhere.Widget", "name": "w"}}]}}]}


def test_a_start_loaded_before_grpc_is_checked_when_grpc_starts() -> None:
    with Emulator() as emu:
        emu.load_scenario(Scenario.from_document(UNPACKABLE_START, source="widgets.yaml"))

        with pytest.raises(ScenarioError) as error:
            emu.start_grpc()

        (problem,) = error.value.problems
        assert problem.pointer == "/starts/0/operation/steps/0"
        assert problem.message.startswith("an operation it starts cannot be served over gRPC: "
                                          "type.googleapis.com/nowhere.Widget is not a message type this process has "
                                          "registered")
        assert "widgets.yaml" in str(error.value)


def test_a_start_loaded_while_grpc_serves_is_checked_at_load(lro_emulator: Emulator) -> None:
    assert lro_emulator.grpc_target

    with pytest.raises(ScenarioError, match=r"nowhere\.Widget is not a message type"):
        lro_emulator.load_scenario(Scenario.from_document(UNPACKABLE_START))
    assert lro_emulator.starters == []


# -- the command line ------------------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([console_script(), *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def builds_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "builds.yaml"
    path.write_text(f"""\
starts:
  - method: {METHOD}
    operation:
      steps:
        - afterPolls: 1
          response:
            "@type": type.googleapis.com/{PACKAGE}.Build
            name: "{{request.parent}}/builds/{{request.buildId}}"
""", encoding="utf-8")
    return path


def test_validate_resolves_a_method_from_a_descriptor_set(builds_set: Path, builds_scenario: Path) -> None:
    without = run("validate", str(builds_scenario))
    with_set = run("validate", "--descriptor-set", str(builds_set), "--grpc", str(builds_scenario))

    assert without.returncode == 1
    assert f"no method {METHOD} is known to this process" in without.stderr
    assert "--descriptor-set FILE" in without.stderr
    assert (with_set.returncode, with_set.stdout.strip()) == (0, f"{builds_scenario}: ok (0 operations, 1 starting "
                                                                  "method)")


@pytest.mark.parametrize(("args", "fragment"), [
    (["--descriptor-set", "/nonexistent/x.pb"], "--descriptor-set /nonexistent/x.pb: No such file or directory"),
    (["--import", "lro_emulator_test_no_such_module"], "--import lro_emulator_test_no_such_module: "
                                                      "ModuleNotFoundError"),
])
def test_a_type_source_that_fails_is_a_usage_error(builds_scenario: Path, args: list[str], fragment: str) -> None:
    for command in ("validate", "serve"):
        result = run(command, *args, str(builds_scenario), *(["--port", "0"] if command == "serve" else []))
        assert (result.returncode, result.stdout) == (2, ""), command
        assert fragment in result.stderr, command


def test_an_import_that_exits_is_not_a_pass(builds_scenario: Path, tmp_path: Path) -> None:
    (tmp_path / "lro_emulator_test_exits.py").write_text("import sys\nsys.exit(0)\n")

    result = subprocess.run([console_script(), "validate", "--import", "lro_emulator_test_exits", str(builds_scenario)],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})

    assert (result.returncode, result.stdout) == (2, "")
    assert "--import lro_emulator_test_exits: the module called sys.exit(0)" in result.stderr


@pytest.mark.parametrize("failing", [["missing.yaml"], ["--descriptor-set", "missing.pb"], ["--import", "missing_mod"]])
def test_a_stale_ready_file_is_removed_even_when_serving_fails(tmp_path: Path, failing: list[str]) -> None:
    stale = tmp_path / "ready.json"
    stale.write_text('{"rest": "http://127.0.0.1:1", "grpc": null, "pid": 1}\n')

    result = run("serve", "--port", "0", "--ready-file", str(stale),
                 *(str(tmp_path / arg) if arg.startswith("missing.") else arg for arg in failing))

    assert result.returncode == 2
    assert not stale.exists()


def test_import_registers_the_message_types_of_a_grpc_start(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("starts:\n  - grpc: google.cloud.run.v2.Services/CreateService\n", encoding="utf-8")

    without = run("validate", str(path))
    imported = run("validate", "--import", "google.cloud.run_v2", str(path))

    assert without.returncode == 1
    assert "no message type google.cloud.run.v2.CreateServiceRequest is registered" in without.stderr
    assert imported.returncode == 0, imported.stderr


def test_serve_refuses_a_start_grpc_cannot_send_and_serves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "widgets.json"
    path.write_text(json.dumps(UNPACKABLE_START), encoding="utf-8")

    rest_only = run("validate", str(path))
    served = run("serve", "--port", "0", "--grpc-port", "0", str(path))

    assert rest_only.returncode == 0
    assert served.returncode == 2
    assert f"{path}:1: /starts/0/operation/steps/0: an operation it starts cannot be served over gRPC" in served.stderr
    assert served.stdout == ""


class Served:
    """``lro-emulator serve ... --ready-file``: started, its ready file read once it appears; killed at the end."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.ready = tmp_path / "ready.json"
        self.process = subprocess.Popen([console_script(), *args, "--ready-file", str(self.ready), "--quiet"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        text=True)
        self.watchdog = threading.Timer(GUARD_SECONDS * 2, self.process.kill)
        self.watchdog.start()
        self.address = self._wait_for_ready()

    def _wait_for_ready(self) -> dict[str, Any]:
        # The banner goes out after the ready file is written: once it is read, the file is there.
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        assert banner.startswith("lro-emulator"), (banner, self.process.stderr.read() if self.process.stderr else "")
        content: dict[str, Any] = json.loads(self.ready.read_text(encoding="utf-8"))
        return content

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=GUARD_SECONDS)
        self.watchdog.cancel()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return status


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    servers: list[Served] = []
    yield servers
    for server in servers:
        server.close()


def test_serve_with_a_descriptor_set_serves_its_start_and_writes_a_ready_file(
    tmp_path: Path, builds_set: Path, builds_scenario: Path, served: list[Served], loaded: None
) -> None:
    server = Served(tmp_path, "serve", "--port", "0", "--grpc-port", "0", "--descriptor-set", str(builds_set),
                    str(builds_scenario))
    served.append(server)
    rest, target = server.address["rest"], server.address["grpc"]

    assert server.address == {"rest": rest, "grpc": target, "pid": server.process.pid}
    assert rest.startswith("http://127.0.0.1:")
    assert target.startswith("127.0.0.1:")
    names = []
    for build_id in ("a", "b"):
        request = urllib.request.Request(f"{rest}/v1/projects/p/builds?buildId={build_id}", data=b"{}",
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=GUARD_SECONDS) as response:
            names.append(json.loads(response.read())["name"])
    with grpc.insecure_channel(target) as channel:
        create = channel.unary_unary(f"/{PACKAGE}.Builds/CreateBuild",
                                     request_serializer=lambda value: value.SerializeToString(),
                                     response_deserializer=operations_pb2.Operation.FromString)
        created = create(message("CreateBuildRequest")(parent="projects/p", build_id="c"), timeout=GUARD_SECONDS)
        get = channel.unary_unary("/google.longrunning.Operations/GetOperation",
                                  request_serializer=operations_pb2.GetOperationRequest.SerializeToString,
                                  response_deserializer=operations_pb2.Operation.FromString)
        for name in [*names, created.name]:  # the first poll sees each running; after it, the step fires
            assert not get(operations_pb2.GetOperationRequest(name=name), timeout=GUARD_SECONDS).done
        results = [get(operations_pb2.GetOperationRequest(name=name), timeout=GUARD_SECONDS)
                   for name in [*names, created.name]]

    built = [message("Build").FromString(result.response.value).name for result in results]
    assert built == ["projects/p/builds/a", "projects/p/builds/b", "projects/p/builds/c"]
    assert server.close() == 0
    assert not server.ready.exists()


def test_the_ready_file_names_no_grpc_target_without_grpc(tmp_path: Path, served: list[Served]) -> None:
    server = Served(tmp_path, "serve", "--port", "0", "--no-demo")
    served.append(server)

    assert server.address["grpc"] is None
    assert server.address["rest"].startswith("http://127.0.0.1:")
    assert [path.name for path in tmp_path.iterdir()] == ["ready.json"]  # no temporary file left beside it


# -- naming the method -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize("method", [METHOD, f"{PACKAGE}.Builds/CreateBuild", f"/{PACKAGE}.Builds/CreateBuild"])
def test_a_method_is_named_by_its_full_name_in_either_form(lro_emulator: Emulator, method: str) -> None:
    assert lro_emulator.on_start(method).method == METHOD


@pytest.mark.usefixtures("loaded")
def test_a_method_descriptor_names_the_method(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(descriptor_pool.Default().FindMethodByName(METHOD))

    assert (starter.method, starter.grpc_method) == (METHOD, f"/{PACKAGE}.Builds/CreateBuild")
    assert [rule.text for rule in starter.bindings] == ["POST /v1/{parent=projects/*}/builds",
                                                        "POST /v1/{parent=projects/*/locations/*}/builds",
                                                        "POST /v1/{parent=folders/*}/builds"]


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(("method", "keywords", "fragment"), [
    ("google.longrunning.Operations.GetOperation", {}, "is the Operations API the emulator itself serves"),
    ("lro_emulator_test.nowhere.v1.Things.MakeThing", {},
     "no method lro_emulator_test.nowhere.v1.Things.MakeThing is known to this process"),
    ("MakeThing", {}, "'MakeThing' is not a full method name"),
    (print, {}, "on_start()'s method must be a generated client's method"),
    (METHOD, {"http": "POST /v1/things"}, "give on_start() the method, or http=, grpc=, body= and request_type=, "
                                          "not both"),
    (f"{PACKAGE}.Builds.GetBuild", {}, f"{PACKAGE}.Builds.GetBuild does not start a long-running operation: it "
                                       f"answers {PACKAGE}.Build, not google.longrunning.Operation"),
    ("a." * 400 + "B.C", {}, "is not a full method name"),
])
def test_a_method_that_cannot_be_read_says_what_to_give(
    lro_emulator: Emulator, method: object, keywords: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ScriptError) as error:
        lro_emulator.on_start(method, **keywords)

    assert fragment in str(error.value)
    assert lro_emulator.starters == []


def test_a_client_library_that_fails_to_import_is_named(
    lro_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = tmp_path / "lro_emulator_test_broken_v1" / "services" / "things" / "client.py"
    client.parent.mkdir(parents=True)
    for folder in (client.parent, client.parent.parent, client.parent.parent.parent):
        (folder / "__init__.py").write_text("")
    client.write_text("1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ScriptError) as error:
        lro_emulator.on_start("lro_emulator_test_broken.v1.Things.MakeThing")

    assert str(error.value) == (
        "lro_emulator_test_broken.v1.Things.MakeThing: importing the client library module "
        "lro_emulator_test_broken_v1.services.things.client failed with ZeroDivisionError: division by zero")


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize("key", ["http", "grpc", "body", "requestType"])
def test_a_scenario_start_names_its_method_or_describes_it_not_both(lro_emulator: Emulator, key: str) -> None:
    values = {"http": "POST /v1/{parent=projects/*}/builds", "grpc": f"{PACKAGE}.Builds/CreateBuild", "body": "*",
              "requestType": f"{PACKAGE}.CreateBuildRequest"}

    with pytest.raises(ScenarioError) as error:
        lro_emulator.load_scenario(Scenario.from_document({"starts": [{"method": METHOD, key: values[key]}]}))

    (problem,) = error.value.problems
    assert problem.pointer == f"/starts/0/{key}"
    assert problem.message.startswith(f"give method, or {key}, not both")


OLD_REST_TRANSPORT = """
class WorkflowsRestTransport:
    class _CreateWorkflow(WorkflowsRestStub):
        def __call__(self, request, *, retry=None, timeout=None, metadata=()):
            http_options: List[Dict[str, str]] = [
                {
                    "method": "post",
                    "uri": "/v1/{parent=projects/*/locations/*}/workflows",
                    "body": "workflow",
                },
            ]
            request, metadata = self._interceptor.pre_create_workflow(request, metadata)
"""


def test_bindings_are_read_from_an_older_clients_rest_transport() -> None:
    """Generated clients before transports/rest_base.py inlined each method's bindings in transports/rest.py (as
    google-cloud-workflows 1.10.0 does); they are read from there, without running it."""
    assert http_options_in(OLD_REST_TRANSPORT, "CreateWorkflow") == [
        {"method": "post", "uri": "/v1/{parent=projects/*/locations/*}/workflows", "body": "workflow"}]
    assert http_options_in(OLD_REST_TRANSPORT, "DeleteWorkflow") is None


def test_a_method_that_starts_no_operation_is_refused(lro_emulator: Emulator) -> None:
    with pytest.raises(ScriptError, match="does not start a long-running operation"):
        lro_emulator.on_start(workflows_v1.WorkflowsClient.get_workflow)


@pytest.mark.usefixtures("loaded")
def test_a_script_giving_another_type_than_operation_info_fails_at_its_line(lro_emulator: Emulator) -> None:
    refused: list[ScriptError] = []

    def script(op: OperationHandle, request: StartRequest) -> None:
        with pytest.raises(ScriptError) as error:
            op.succeed({"@type": "type.googleapis.com/google.protobuf.Empty"}, at=5)  # this line
        refused.append(error.value)
        op.succeed(build_any("projects/p/builds/x"), at=5)

    lro_emulator.on_start(METHOD, script=script)
    answer = Client(lro_emulator.wsgi_app).post("/v1/projects/p/builds", json={})

    assert answer.status_code == 200
    (error,) = refused
    assert str(error) == (f"{METHOD} answers response of type {PACKAGE}.Build, not google.protobuf.Empty "
                          "(at /response/@type)")
