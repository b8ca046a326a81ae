"""The curated public surface: complete, sorted, one exception base, no internals reachable, old names warn."""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib
import inspect
import pathlib
import pickle
import re
import warnings
from typing import Any

import pytest

import lro_emulator

PACKAGE = pathlib.Path(lro_emulator.__file__).parent


def package_names() -> dict[str, str]:
    """Every public class and type alias the package defines at module level: ``{name: module path}``."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, str(path.relative_to(PACKAGE)))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name[:1].isupper() and not name.isupper():  # CapWords: a type alias, not a constant
                    found.setdefault(name, str(path.relative_to(PACKAGE)))
    return {name: where for name, where in found.items() if not name.startswith("_")}


#: Modules users import by name: each needs an extra (hypothesis), so the package's lazy __init__ leaves them out.
PUBLIC_MODULES = ("lro_emulator.strategies",)

#: Handed out by the emulator, never built by a user: their constructors are the package's own business.
HANDED_OUT = {"Call", "CallList", "Fault", "FaultBuilder", "Interception", "LoadedScenario", "OperationCalls",
              "OperationHandle", "OperationList", "Starter"}


def annotations_of(value: object) -> list[tuple[str, str]]:
    """``(where, annotation text)`` for every public signature and field a public class or function shows."""
    found: list[tuple[str, str]] = []

    def signature(where: str, function: object) -> None:
        try:
            sig = inspect.signature(function)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        for parameter in sig.parameters.values():
            if parameter.annotation is not inspect.Parameter.empty:
                found.append((f"{where}({parameter.name})", str(parameter.annotation)))
        if sig.return_annotation is not inspect.Signature.empty:
            found.append((f"{where} ->", str(sig.return_annotation)))

    if inspect.isfunction(value):
        signature(value.__name__, value)
        return found
    assert inspect.isclass(value)
    for field, text in vars(value).get("__annotations__", {}).items():
        if not field.startswith("_"):
            found.append((f"{value.__name__}.{field}", str(text)))
    if value.__name__ not in HANDED_OUT:
        signature(f"{value.__name__}.__init__", value.__init__)
    for attribute, member in vars(value).items():
        if attribute.startswith("_"):
            continue
        if isinstance(member, property) and member.fget is not None:
            signature(f"{value.__name__}.{attribute}", member.fget)
        elif isinstance(member, (staticmethod, classmethod)):
            signature(f"{value.__name__}.{attribute}", member.__func__)
        elif inspect.isfunction(member):
            signature(f"{value.__name__}.{attribute}", member)
    return found


def test_every_type_a_public_signature_names_is_exported() -> None:
    defined = package_names()
    exported = set(lro_emulator.__all__)
    missing: dict[str, list[str]] = {}
    for name in lro_emulator.__all__:
        value = getattr(lro_emulator, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        for where, text in annotations_of(value):
            for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
                if word in defined and word not in exported:
                    missing.setdefault(word, []).append(where)

    assert not missing, "public signatures name types that are not exported: " + "; ".join(
        f"{word} ({defined[word]}) in {', '.join(sorted(set(places))[:3])}" for word, places in sorted(missing.items()))


def test_the_completeness_check_sees_an_unexported_type() -> None:
    texts = [text for _, text in annotations_of(lro_emulator.Emulator)]
    assert any("FaultBuilder" in text for text in texts)
    assert any("OperationHandle" in text for text in texts)
    assert "EmulatorState" in package_names()


def test_all_is_sorted_constants_first() -> None:
    names = list(lro_emulator.__all__)
    assert names == sorted(names, key=lambda n: (not n.isupper(), n.startswith("_"), n))
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(lro_emulator, name), name


def test_every_exception_of_the_package_derives_from_one_base() -> None:
    classes = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module == "__init__" or module.endswith("__init__") or module == "grpc.server":
            continue
        imported = __import__(f"lro_emulator.{module}", fromlist=["_"])
        classes += [value for value in vars(imported).values()
                    if inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == imported.__name__]

    assert len(classes) >= 7, classes
    for exception in classes:
        assert issubclass(exception, lro_emulator.LroEmulatorError), exception
    assert issubclass(lro_emulator.EmulatorFailure, AssertionError)
    assert issubclass(lro_emulator.ScriptError, ValueError)
    assert issubclass(lro_emulator.ScenarioError, lro_emulator.ScriptError)


def test_internals_are_not_public_attributes() -> None:
    for name in ("state", "control", "report"):
        assert not hasattr(lro_emulator.Emulator, name), name
    assert not hasattr(lro_emulator.CallList, "record")
    for name, member in vars(lro_emulator.Emulator).items():
        if isinstance(member, property) and not name.startswith("_"):
            assert member.fget is not None
            returned = str(inspect.signature(member.fget).return_annotation)
            assert "EmulatorState" not in returned, (name, returned)
            assert "RestApp" not in returned, (name, returned)


@pytest.mark.parametrize(("old", "new"), [("Operation", "OperationHandle"), ("RpcError", "StatusError")])
def test_renamed_names_still_work_with_a_deprecation_warning(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"lro_emulator.{old} is renamed {new}"):
        value = getattr(lro_emulator, old)

    assert value is getattr(lro_emulator, new)
    assert old not in lro_emulator.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from lro_emulator import OperationHandle, StatusError  # noqa: F401  # the new names never warn


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = lro_emulator.Nothing  # type: ignore[attr-defined]


def test_public_dataclasses_show_no_private_types() -> None:
    for name in lro_emulator.__all__:
        value = getattr(lro_emulator, name)
        if inspect.isclass(value) and dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                assert "EmulatorState" not in str(field.type), (name, field.name)


def test_tests_import_only_public_names_unless_they_say_why() -> None:
    """A test reaching into a module of the package says on that line that it tests an internal, and why."""
    unmarked = []
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (re.match(r"\s*(from lro_emulator\.\S+ import|import lro_emulator\.)", line) and "# internal" not in line
                    and not re.match(rf"\s*from ({'|'.join(map(re.escape, PUBLIC_MODULES))}) import", line)):
                unmarked.append(f"{path.name}:{number}: {line.strip()}")

    assert not unmarked, "\n".join(unmarked)


@pytest.mark.parametrize(
    ("call", "also"),
    [
        pytest.param(lambda: lro_emulator.Emulator(port=-1), ValueError, id="bad-port"),
        pytest.param(lambda: lro_emulator.Emulator(speed=2, manual=True), ValueError, id="speed-and-manual"),
        pytest.param(lambda: lro_emulator.Emulator(profile="nope"), ValueError, id="unknown-profile"),
        pytest.param(lambda: lro_emulator.Emulator().clock.advance(-1), ValueError, id="clock-backwards"),
        pytest.param(lambda: lro_emulator.Emulator().operation("projects/p/operations/x"), KeyError, id="no-operation"),
        pytest.param(lambda: lro_emulator.StatusError("OK", "fine"), ValueError, id="status-error-of-ok"),
        pytest.param(lambda: lro_emulator.Emulator().url, RuntimeError, id="url-before-start"),
        pytest.param(lambda: lro_emulator.Emulator().add_operation("x"), ValueError, id="bad-name"),
    ],
)
def test_mistakes_raise_our_base_and_the_builtin_python_expects(call: Any, also: type[Exception]) -> None:
    with pytest.raises(lro_emulator.LroEmulatorError) as raised:
        call()

    assert isinstance(raised.value, also)


def test_an_unknown_operation_names_what_exists_without_keyerror_quotes() -> None:
    emu = lro_emulator.Emulator()
    emu.add_operation("projects/p/operations/a")

    with pytest.raises(lro_emulator.OperationNotFound) as raised:
        emu.operation("projects/p/operations/b")

    assert str(raised.value) == ("no operation named 'projects/p/operations/b'; the emulator has "
                                 "['projects/p/operations/a']")


def test_our_errors_survive_pickle_and_copy() -> None:
    """A test may hand an error to another process (multiprocessing, a process pool) or copy it."""
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
    status = lro_emulator.StatusError("NOT_FOUND", "gone", reason="GONE", metadata={"k": "v"}, details=[retry])
    violation = lro_emulator.SchemaViolation(schema="operation", title="Operation", pointer="/done",
                                             rule="type at operation.schema.json#/properties/done/type",
                                             message="'yes' is not of type 'boolean'")

    for copied in (pickle.loads(pickle.dumps(status)), copy.copy(status), copy.deepcopy(status)):
        assert (copied.code, copied.message, copied.reason, copied.metadata, copied.details) == (
            status.code, status.message, status.reason, status.metadata, status.details)
    for copied_violation in (pickle.loads(pickle.dumps(violation)), copy.deepcopy(violation)):
        assert str(copied_violation) == str(violation)
        assert (copied_violation.pointer, copied_violation.rule) == (violation.pointer, violation.rule)


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_an_opt_in_module_documents_its_public_surface(module: str) -> None:
    imported = importlib.import_module(module)
    defined = package_names()
    assert inspect.getdoc(imported)
    for name in imported.__all__:
        value = getattr(imported, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module}.{name} has no docstring"
            for attribute, member in vars(value).items():
                if not attribute.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    assert inspect.getdoc(member), f"{module}.{name}.{attribute} has no docstring"
        # The types its signatures name are its own or the package's public ones.
        for where, text in annotations_of(value) if inspect.isclass(value) or inspect.isfunction(value) else ():
            for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
                if word in defined:
                    assert word in imported.__all__ or word in lro_emulator.__all__, f"{word} in {where}"
