"""The shape of the package: what the core may import, what the wheel holds, the public surface."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import pathlib
import sys

import pytest

import lro_emulator

PACKAGE = pathlib.Path(lro_emulator.__file__).parent
# The core decides everything and knows no transport; each of these modules is checked with all it imports.
CORE = ("timeline", "scripting", "store", "service", "state", "filters", "paging", "clock", "codes",
        "errors", "profiles", "protojson", "schemas", "calls", "routes", "starts", "protos", "scenario",
        "control", "openapi", "discovery", "faults", "auth", "report")
FORBIDDEN = {"werkzeug", "grpc", "pytest", "_pytest"}


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(modules of the package, top-level external packages) that ``module`` imports at run time."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    internal: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []  # imports only for type checkers are not run
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                internal.update(name.split(".")[0] for name in names if name)
            elif node.module:
                external.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            external.update(alias.name.split(".")[0] for alias in node.names)
    return internal, external


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_transport_and_no_pytest(module: str) -> None:
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        internal, external = imports_of(current)
        assert not external & FORBIDDEN, f"{current} (imported by {module}) imports {external & FORBIDDEN}"
        todo.extend(internal)
    assert not seen & {"rest", "server", "grpcserver", "emulator", "cli", "conftest_plugin"}, seen


@pytest.mark.parametrize(("transport", "other"), [("rest", "grpc"), ("server", "grpc"), ("grpcserver", "werkzeug")])
def test_the_transports_keep_apart(transport: str, other: str) -> None:
    internal, external = imports_of(transport)

    assert other not in external
    assert not internal & {"rest", "server", "grpcserver"} - {transport}


def test_the_import_checker_sees_a_forbidden_import() -> None:
    assert "werkzeug" in imports_of("rest")[1]
    assert "server" not in imports_of("service")[0]


def test_the_wheel_puts_nothing_but_lro_emulator_in_site_packages() -> None:
    files = {str(f) for f in importlib.metadata.files("lro-emulator") or []}
    top_level = {f.split("/")[0] for f in files if not f.startswith(("lro_emulator-", "../", "__pycache__"))}

    assert top_level == {"lro_emulator"}
    assert "lro_emulator/conftest_plugin.py" in files
    assert "lro_emulator/schemas/operation.schema.json" in files
    assert "lro_emulator/py.typed" in files
    assert not any(f.startswith("tests/") for f in files)


def test_the_plugin_and_the_console_script_are_registered() -> None:
    entry_points = importlib.metadata.entry_points()

    plugins = {ep.name: ep.value for ep in entry_points.select(group="pytest11")}
    scripts = {ep.name: ep.value for ep in entry_points.select(group="console_scripts")}
    assert plugins["lro_emulator"] == "lro_emulator.conftest_plugin"
    assert scripts["lro-emulator"] == "lro_emulator.cli:main"


def test_the_public_surface_is_curated_and_documented() -> None:
    names = lro_emulator.__all__

    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), n.startswith("_"), n))
    for name in names:
        value = getattr(lro_emulator, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"
            for attribute, member in vars(value).items():
                if not attribute.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    assert inspect.getdoc(member), f"{name}.{attribute} has no docstring"
    assert lro_emulator.__version__ == importlib.metadata.version("lro-emulator")


def test_no_module_level_state_in_the_package() -> None:
    """No singletons: module globals are constants (UPPER_CASE) or type aliases (CapWords), never state."""
    for path in PACKAGE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and not target.id.startswith("__"):
                    assert target.id.lstrip("_")[:1].isupper(), f"{path.name}: module-level {target.id}"


def test_python_version_is_supported() -> None:
    requires = importlib.metadata.metadata("lro-emulator")["Requires-Python"]
    assert requires == ">=3.10"
    assert sys.version_info >= (3, 10)
