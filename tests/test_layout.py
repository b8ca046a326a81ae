"""The shape of the package: layers from folders, no import cycles, what an install holds, the public surface.

Each module's layer is the folder it sits in, so a new module is checked the moment it exists:

- ``wire/``: the wire contract (codes, errors, proto3 JSON, protobuf interop, profiles, routes, validation);
- ``core/``: the emulated service, on top of the wire contract;
- ``rest/`` and ``grpc/``: one transport each, on top of the core, never importing each other;
- ``intercept/``: the client libraries' entry points redirected to the emulator, on top of the core (it is handed
  the REST app and the gRPC target, and imports no transport);
- the package's top level: the facade, virtual time, the command line and the pytest plugin.

A module may import its own folder and the layers below it, nothing above. Imports made only for type
checkers count too: a cycle through annotations is still a cycle a reader has to untangle.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import json
import pathlib
import re
import sys
import typing
from collections.abc import Iterable, Mapping

import pytest

import lro_emulator

PACKAGE = pathlib.Path(lro_emulator.__file__).parent
#: The layers, lowest first; the top level is the last.
LAYERS = ("wire", "core", "rest", "grpc", "intercept", "")
#: Which layers each layer may import (besides itself).
BELOW = {"wire": set(), "core": {"wire"}, "rest": {"wire", "core"}, "grpc": {"wire", "core"},
         "intercept": {"wire", "core"}, "": {"wire", "core", "rest", "grpc", "intercept"}}
#: Libraries a layer must not import: the core and the wire contract are plain Python, and the transports keep apart.
FORBIDDEN = {
    "wire": {"werkzeug", "grpc", "grpc_status", "pytest", "_pytest", "freezegun"},
    "core": {"werkzeug", "grpc", "grpc_status", "pytest", "_pytest", "freezegun"},
    "rest": {"grpc", "grpc_status", "pytest", "_pytest", "freezegun"},
    "grpc": {"werkzeug", "pytest", "_pytest", "freezegun"},
    "intercept": {"werkzeug", "pytest", "_pytest", "freezegun"},
    "": set(),
}


def modules() -> list[str]:
    """Every module of the package, dotted from the package (``core.state``, ``emulator``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(".".join(parts))
    return [name for name in found if name]


def layer_of(module: str) -> str:
    """The folder a module sits in ("" for the top level)."""
    return module.split(".")[0] if "." in module or module in LAYERS else ""


def source_of(module: str) -> pathlib.Path:
    path = PACKAGE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports_of(
    module: str, known: Iterable[str] | None = None, *, text: str | None = None
) -> tuple[set[str], set[str]]:
    """(modules of the package, top-level external packages) that ``module`` imports anywhere in its text.

    ``text`` stands in for the module's source (the checker's own test reads a module that does not exist).
    """
    known = set(modules() if known is None else known)
    is_package = text is None and source_of(module).name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    internal: set[str] = set()
    external: set[str] = set()

    def add(dotted: str, names: Iterable[str]) -> None:
        # ``from .core import state`` imports the module core.state; ``from .core.state import X`` the module.
        for name in names:
            if f"{dotted}.{name}".strip(".") in known:
                internal.add(f"{dotted}.{name}".strip("."))
            elif dotted in known:
                internal.add(dotted)

    for node in ast.walk(ast.parse(source_of(module).read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                add(".".join([*base, *(node.module.split(".") if node.module else [])]),
                    [alias.name for alias in node.names])
            elif node.module and node.module.split(".")[0] == "lro_emulator":
                add(node.module.removeprefix("lro_emulator").lstrip("."), [alias.name for alias in node.names])
            elif node.module:
                external.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lro_emulator."):
                    internal.add(alias.name.removeprefix("lro_emulator."))
                else:
                    external.add(alias.name.split(".")[0])
    internal.discard(module)
    return internal, external


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, a]``), or None: a depth-first search for a back edge."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.mark.parametrize("module", modules())
def test_each_module_imports_only_its_layer_and_those_below(module: str) -> None:
    layer = layer_of(module)
    internal, external = imports_of(module)

    upward = {m for m in internal if layer_of(m) != layer and layer_of(m) not in BELOW[layer]}
    assert not upward, f"{module} ({layer or 'top'} layer) imports {sorted(upward)} from a layer above or beside it"
    assert not external & FORBIDDEN[layer], f"{module} imports {sorted(external & FORBIDDEN[layer])}"


def test_every_module_sits_in_a_known_layer() -> None:
    assert {layer_of(module) for module in modules()} <= set(LAYERS)
    assert {"wire.codes", "core.state", "rest.app", "grpc.server", "emulator"} <= set(modules())


def test_the_package_has_no_import_cycle() -> None:
    known = modules()
    graph = {module: imports_of(module, known)[0] for module in known}

    assert find_cycle(graph) is None


def test_the_checks_see_what_they_look_for() -> None:
    """The checker finds a forbidden library, an import made only for type checkers, and a cycle."""
    assert "werkzeug" in imports_of("rest.app")[1]
    assert "grpc" in imports_of("grpc.server")[1]
    assert "core.state" in imports_of("emulator")[0]
    assert [layer_of(m) for m in ("core.state", "emulator", "grpc")] == ["core", "", "grpc"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # Written nowhere: a file in the package would be seen by the other layout tests running beside this one.
    type_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..rest.app import RestApp\n"
    assert "rest.app" in imports_of("core.probe", text=type_only)[0]


def test_the_docs_show_every_module_where_it_is() -> None:
    """The docs' "How it is built" tree names each module under its folder, and nothing that does not exist."""
    page = (pathlib.Path(__file__).parents[1] / "docs" / "explanation" / "architecture.md").read_text()
    tree = page.split("```", 2)[1]
    shown: set[str] = set()
    folder = ""
    for line in tree.splitlines()[1:]:
        indent = len(line) - len(line.lstrip())
        names = re.split(r"\s{2,}", line.strip())[0].split(", ")  # "cli.py, demo.py   the command line ..."
        for name in names:
            if name.endswith("/"):
                folder = name.rstrip("/")
            elif name.endswith(".py") and name != "__init__.py":
                shown.add(name.removesuffix(".py") if indent == 2 else f"{folder}.{name.removesuffix('.py')}")

    actual = {m for m in modules() if not m.endswith("__init__") and m not in LAYERS}
    assert shown == actual


def installed_editable() -> bool:
    """Whether the package is installed in development mode (``pip install -e``)."""
    text = importlib.metadata.distribution("lro-emulator").read_text("direct_url.json")
    return bool(text) and bool(json.loads(text).get("dir_info", {}).get("editable"))


def test_the_package_holds_its_plugin_schemas_and_type_marker() -> None:
    """Whether installed from a wheel or in development mode, the package finds its own files."""
    assert (PACKAGE / "conftest_plugin.py").is_file()
    assert (PACKAGE / "schemas" / "operation.schema.json").is_file()
    assert (PACKAGE / "schemas" / "openapi.json").is_file()
    assert (PACKAGE / "wire" / "bindings" / "vertex.json").is_file()
    assert (PACKAGE / "py.typed").is_file()


def test_the_wheel_puts_nothing_but_lro_emulator_in_site_packages() -> None:
    if installed_editable():
        pytest.skip("installed in development mode: there is no wheel to look into (.ci/run checks both)")
    files = {str(f) for f in importlib.metadata.files("lro-emulator") or []}
    top_level = {f.split("/")[0] for f in files if not f.startswith(("lro_emulator-", "../", "__pycache__"))}

    assert top_level == {"lro_emulator"}
    assert "lro_emulator/conftest_plugin.py" in files
    assert "lro_emulator/schemas/operation.schema.json" in files
    assert "lro_emulator/core/state.py" in files
    assert "lro_emulator/py.typed" in files
    assert not any(f.startswith("tests/") for f in files)


def test_the_plugin_and_the_console_script_are_registered() -> None:
    entry_points = importlib.metadata.entry_points()

    plugins = {ep.name: ep.value for ep in entry_points.select(group="pytest11")}
    scripts = {ep.name: ep.value for ep in entry_points.select(group="console_scripts")}
    assert plugins["lro_emulator"] == "lro_emulator.plugin"
    assert scripts["lro-emulator"] == "lro_emulator.cli:main"


def test_the_public_surface_is_curated_and_documented() -> None:
    names = lro_emulator.__all__

    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), n.startswith("_"), n))
    for name in names:
        value = getattr(lro_emulator, name)
        # A type alias such as ParentOf (Callable[[StartRequest], str]) can carry no docstring of its own; Python
        # 3.10's inspect.isclass takes it for a class (3.11 and later do not), so it is left out on every version.
        if typing.get_origin(value) is None and (inspect.isclass(value) or inspect.isfunction(value)):
            assert inspect.getdoc(value), f"{name} has no docstring"
            for attribute, member in vars(value).items():
                if not attribute.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    assert inspect.getdoc(member), f"{name}.{attribute} has no docstring"
    assert lro_emulator.__version__ == importlib.metadata.version("lro-emulator")


def test_no_module_level_state_in_the_package() -> None:
    """No singletons: module globals are constants (UPPER_CASE) or type aliases (CapWords), never state."""
    for path in PACKAGE.rglob("*.py"):
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
