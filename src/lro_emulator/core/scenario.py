"""Scenario files: the scripted behaviour of an emulator as data, in YAML or JSON.

A scenario names its profile and clock start, the operations to create with their timelines, and
the methods of the service that start operations (`schemas/scenario.schema.json` describes it, so
editors complete and check it). Reading one checks the syntax, every JSON Schema rule, and then
everything scripting would refuse, by playing it onto a scratch state first; each fault is
reported with the file, the line where the YAML parser knew it, and the JSON pointer. Applying it
is atomic: a scenario with any fault loads nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from ..wire.errors import LroEmulatorError, ScriptError
from ..wire.proto3_json import JSON, format_timestamp, json_pointer, json_problems, parse_timestamp, to_timedelta
from ..wire.validation import load_schemas
from .auth import AuthPolicy
from .clock import VirtualClock
from .faults import Fault, FaultBuilder
from .placeholders import placeholder_problems, render
from .timeline import DeclaredTypes

if TYPE_CHECKING:
    from .handle import OperationHandle
    from .starts import Starter, StartRequest
    from .state import EmulatorState

__all__ = [
    "YAML_MEDIA_TYPES",
    "LoadedScenario",
    "Scenario",
    "ScenarioError",
    "ScenarioProblem",
    "SettingConflict",
    "agreed_setting",
]

#: Media types under which the control plane accepts a scenario in YAML.
YAML_MEDIA_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
#: Enough faults to fix in one go; more would bury the first ones.
_MAX_PROBLEMS = 20
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_T = TypeVar("_T")



class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader, except that timestamps stay text (JSON has no date type, the schema wants RFC
    3339) and a key given twice in one mapping is an error (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: PyYAML's own error says so
                break
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} a second time (first on line {first}); give each key once",
                    key_node.start_mark)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


#: What a YAML document that is not a mapping is, in the words of YAML and JSON.
_YAML_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


@dataclasses.dataclass(frozen=True)
class ScenarioProblem:
    """One fault of a scenario: where (a JSON pointer, and the line when known) and what."""

    pointer: str
    message: str
    line: int | None = None

    def describe(self, source: str) -> str:
        """``file:line: /pointer: message``, as compilers print it."""
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.pointer or '/'}: {self.message}"


class ScenarioError(ScriptError):
    """A scenario with faults; nothing of it was loaded. ``problems`` lists each `ScenarioProblem`."""

    def __init__(self, source: str, problems: Sequence[ScenarioProblem], *, total: int | None = None) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems) if total is None else total
        lines = "\n".join("  " + problem.describe(source) for problem in self.problems)
        if count > len(self.problems):
            lines += f"\n  ... and {count - len(self.problems)} more"
        super().__init__(f"scenario {source} has {count} fault{'s' if count != 1 else ''}, so nothing was loaded:\n"
                         f"{lines}")
        self.pointer = self.problems[0].pointer if self.problems else ""


@dataclasses.dataclass(frozen=True)
class LoadedScenario:
    """What loading a scenario created: the operations' handles and the declared starting methods."""

    operations: list[OperationHandle]
    starters: list[Starter]
    faults: list[Fault] = dataclasses.field(default_factory=list)


class Scenario:
    """A scenario whose syntax and schema were checked. Read one with `read`, `from_text` or `from_document`."""

    def __init__(self, document: JSON, source: str, lines: Mapping[str, int] | None = None) -> None:
        self.document = document
        self.source = source
        self._lines = dict(lines or {})

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read and check a scenario file (YAML, or JSON, which YAML also reads)."""
        source = os.fspath(path)
        try:
            with open(source, "rb") as file:
                raw = file.read()
        except OSError as error:
            problem = ScenarioProblem("", f"cannot read the file: {error.strerror or error}")
            raise ScenarioError(source, [problem]) from None
        return cls.from_text(raw, source)

    @classmethod
    def from_text(cls, raw: bytes | str, source: str = "<scenario>") -> Scenario:
        """Parse and check a scenario given as YAML or JSON text."""
        document, lines = _parse(raw, source)
        return cls._checked(document, source, lines)

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], source: str = "<scenario>"
    ) -> Scenario:
        """Check a scenario given as data (what ``json.load`` or ``yaml.safe_load`` returns)."""
        if not isinstance(document, Mapping):
            problem = ScenarioProblem("", f"a scenario is an object, not {type(document).__name__}")
            raise ScenarioError(source, [problem])
        copied = dict(document)
        problems = [ScenarioProblem(where, message) for where, message in json_problems(copied)]
        if problems:
            raise ScenarioError(source, problems[:_MAX_PROBLEMS], total=len(problems))
        return cls._checked(json.loads(json.dumps(copied)), source, {})

    @classmethod
    def _checked(cls, document: JSON, source: str, lines: Mapping[str, int]) -> Scenario:
        scenario = cls(document, source, lines)
        violations = load_schemas().errors("scenario", document)
        if violations:
            raise scenario._error([(v.pointer, v.message) for v in violations],
                                  [_unexpected_key(v.pointer, v.message) for v in violations])
        if "start" in document:
            try:
                parse_timestamp(document["start"])
            except ValueError as error:
                raise scenario._error([("/start", str(error))]) from None
        return scenario

    # -- what it asks for ------------------------------------------------------------------------

    @property
    def profile(self) -> str | None:
        """The profile the scenario names, if any."""
        return self.document.get("profile")

    @property
    def start(self) -> datetime | None:
        """Where the scenario's clock starts, if it says."""
        text = self.document.get("start")
        return None if text is None else parse_timestamp(text)

    def error(self, pointer: str, message: str) -> ScenarioError:
        """A `ScenarioError` about this scenario at ``pointer`` (for checks made by whoever loads it)."""
        return self._error([(pointer, message)])

    # -- applying ----------------------------------------------------------------------------------

    def _check(self, state: EmulatorState) -> None:
        """Play the scenario onto a scratch copy of ``state``'s setting: everything scripting would refuse.

        Operation names already taken in ``state`` are faults too, so a scenario that passes this
        check applies to ``state`` without error.
        """
        from .state import EmulatorState  # the state imports scripting, which this module must not need at import

        scratch = EmulatorState(clock=VirtualClock(state.clock.now()), profile=state.profile, schemas=state.schemas)
        scratch.typed = state.typed
        scratch.faults.in_process = state.faults.in_process
        scratch.starts = state.starts.copy()  # so that a start declared twice is a fault here too
        problems = [
            (f"/operations/{index}/name", f"an operation named {spec['name']!r} already exists in the emulator")
            for index, spec in enumerate(self.document.get("operations", []))
            if "name" in spec and state.store.find(spec["name"]) is not None
        ]
        if problems:
            raise self._error(problems)
        loaded = self._play(scratch)
        for index, starter in enumerate(loaded.starters):
            self._check_template(state, index, starter, typed=state.typed)

    def _check_template(self, state: EmulatorState, index: int, starter: Starter, *, typed: bool) -> None:
        """Play a start's template once on a scratch operation, where its faults can be named.

        It is played on every operation the start creates later; ``typed`` checks that its payloads pack into
        protobuf messages (what gRPC sends), as loading does once gRPC serves and `EmulatorState.require_types`
        does when gRPC starts after the scenario was loaded.
        """
        from .state import EmulatorState

        template = self.document.get("starts", [])[index].get("operation")
        if not template:
            return
        base = f"/starts/{index}/operation"
        problems = placeholder_problems(template, starter.request_type)
        if problems:
            raise self._error([(base + pointer, message) for pointer, message in problems])
        scratch = EmulatorState(clock=VirtualClock(state.clock.now()), profile=state.profile, schemas=state.schemas)
        scratch.typed = typed
        operation = scratch.add_operation(parent=scratch.profile.default_parent)
        if starter.method is not None:  # the types its method declares hold for the template too
            record = scratch.store.find(operation.name)
            assert record is not None
            record.declared = DeclaredTypes(starter.method, starter.response_type, starter.metadata_type)
        sample = render(template, {}, parent=scratch.profile.default_parent, name=operation.name)
        try:
            with self._at(base):
                _play_timeline(operation, sample, functools.partial(self._under, base), initial_metadata=True)
        except ScenarioError as error:  # the scratch operation stands for every operation the start creates
            named = f"operation {operation.name!r}"
            renamed = [dataclasses.replace(problem, message=problem.message.replace(named, "an operation it starts"))
                       for problem in error.problems]
            raise ScenarioError(error.source, renamed) from None

    def _apply(self, state: EmulatorState, *, checked: bool = False) -> LoadedScenario:
        """Create the scenario's operations and declare its starts in ``state``, all or nothing.

        It is checked first, unless ``checked`` says `check` just passed on a state of the same setting.
        """
        if not checked:
            self._check(state)
        with state.lock:
            store_mark, starts_mark = state.store.checkpoint(), state.starts.checkpoint()
            faults_mark, auth = state.faults.checkpoint(), state.auth
            try:
                return self._play(state)
            except BaseException:  # cannot happen after `check`; if it does, leave nothing half-loaded
                state.store.rollback(store_mark)
                state.starts.rollback(starts_mark)
                state.faults.rollback(faults_mark)
                state.auth = auth
                raise

    def _play(self, state: EmulatorState) -> LoadedScenario:
        operations: list[OperationHandle] = []
        for index, spec in enumerate(self.document.get("operations", [])):
            base = f"/operations/{index}"
            where = next((f"/{key}" for key in ("name", "parent") if key in spec), "")
            with self._at(base + where, inner=base):
                operation = state.add_operation(spec.get("name"), spec.get("metadata"), parent=spec.get("parent"))
            with self._at(base):
                _play_timeline(operation, spec, located=functools.partial(self._under, base))
            operations.append(operation)
        starters: list[Starter] = []
        for index, spec in enumerate(self.document.get("starts", [])):
            mixed = [key for key in ("http", "grpc", "body", "requestType") if key in spec]
            if "method" in spec and mixed:
                with self._at(f"/starts/{index}/{mixed[0]}"):
                    raise ScriptError(f"give method, or {', '.join(mixed)}, not both: the method's own definitions "
                                      "say its bindings, body, gRPC method and request type")
            script = _TemplateScript(spec.get("operation", {}))
            with self._at(f"/starts/{index}"):
                starter = state.declare_start(
                    spec.get("method"),
                    http=spec.get("http"),
                    grpc=spec.get("grpc"),
                    body=spec.get("body", "*"),
                    request_type=spec.get("requestType"),
                    parent=spec.get("parent"),
                    script=script,
                )
            starter.check_types = functools.partial(self._check_template, index=index, starter=starter, typed=True)
            starters.append(starter)
        faults = [self._fault(state, index, spec) for index, spec in enumerate(self.document.get("faults", []))]
        if "auth" in self.document:
            auth = self.document["auth"]
            with self._at("/auth"):
                state.auth = AuthPolicy.build(auth.get("token"), auth.get("apiKey"), auth.get("forbidden", ()))
        return LoadedScenario(operations, starters, faults)

    def _fault(self, state: EmulatorState, index: int, spec: Mapping[str, Any]) -> Fault:
        """Add one fault of the ``faults`` list (the schema allowed exactly one effect)."""
        aim = {key: spec[key] for key in ("rpc", "name", "transport", "nth", "first", "during", "probability", "seed")
               if key in spec}
        with self._at(f"/faults/{index}"):
            builder = FaultBuilder(state.faults, state.clock.now(), state.check_error, **aim)
            if "error" in spec:
                error = spec["error"]
                retry = error.get("retryDelay")
                return builder.error(error["code"], error.get("message"), details=error.get("details", ()),
                                     retry_delay=retry)
            if "delay" in spec:
                return builder.delay(spec["delay"])
            if "hang" in spec:
                return builder.hang(**spec["hang"])
            if "respond" in spec:
                return builder.respond(spec["respond"]["body"], status=spec["respond"].get("status", 200))
            effect = next(key for key in ("reset", "disconnect", "malformed", "truncate") if key in spec)
            fault: Fault = getattr(builder, effect)()
            return fault

    # -- faults ----------------------------------------------------------------------------------

    def _under(self, base: str, pointer: str) -> Any:
        return self._at(base + pointer)

    @contextmanager
    def _at(self, pointer: str, *, inner: str | None = None) -> Iterator[None]:
        """Turn a `ScriptError` raised inside into a `ScenarioError` at ``pointer``.

        With ``inner``, an error that names its own pointer (``/metadata/...`` inside the operation
        ``add_operation`` builds) is placed there under ``inner`` instead.
        """
        try:
            yield
        except ScenarioError:
            raise
        except ScriptError as error:
            where = inner + error.pointer if inner is not None and error.pointer else pointer
            raise self._error([(where, str(error))]) from None

    def _error(self, faults: Sequence[tuple[str, str]], near: Sequence[str] = ()) -> ScenarioError:
        """The error of ``faults`` (pointer, message); ``near`` may name a more precise pointer for each line."""
        lines = [self._line(near[i] if i < len(near) else pointer) for i, (pointer, _) in enumerate(faults)]
        problems = [ScenarioProblem(pointer, message, line)
                    for (pointer, message), line in zip(faults, lines, strict=True)][:_MAX_PROBLEMS]
        return ScenarioError(self.source, problems, total=len(faults))

    def _line(self, pointer: str) -> int | None:
        """The line of ``pointer``, or of its nearest ancestor the parser saw (a missing key's object)."""
        while True:
            if pointer in self._lines:
                return self._lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


class SettingConflict(LroEmulatorError, ValueError):
    """Scenarios, or a scenario and a setting already made, name different profiles or clock starts.

    ``field`` is ``"profile"`` or ``"start"``; ``values`` lists who named what, as (who, value written out).
    """

    def __init__(self, field: str, values: Sequence[tuple[str, str]]) -> None:
        listed = ", ".join(f"{who}: {value}" for who, value in values)
        super().__init__(f"the {field} differs between {listed}; they must agree")
        self.field = field
        self.values = list(values)

    @property
    def pointer(self) -> str:
        """Where a scenario names the field: ``/profile`` or ``/start``."""
        return json_pointer(self.field)


def agreed_setting(
    scenarios: Iterable[Scenario],
    *,
    profile: tuple[str, str] | None = None,
    start: tuple[str, datetime] | None = None,
) -> tuple[str | None, datetime | None]:
    """The profile and clock start ``scenarios`` are written for; each None when no one names it.

    ``profile`` and ``start``, as (who set it, value), are settled already: the command line's flags, or what
    an emulator serves; the scenarios must name the same, and they are what is returned when given.
    `SettingConflict` names the first field anyone disagrees on, the profile before the start.
    """
    scenarios = list(scenarios)
    profiles = [profile] if profile is not None else []
    profiles += [(scenario.source, scenario.profile) for scenario in scenarios if scenario.profile is not None]
    starts = [start] if start is not None else []
    for scenario in scenarios:
        if (own := scenario.start) is not None:
            starts.append((scenario.source, own))
    return _agreed("profile", profiles, str), _agreed("start", starts, format_timestamp)


def _agreed(field: str, values: Sequence[tuple[str, _T]], spell: Callable[[_T], str]) -> _T | None:
    if len({value for _, value in values}) > 1:
        raise SettingConflict(field, [(who, spell(value)) for who, value in values])
    return values[0][1] if values else None


class _TemplateScript:
    """The script of a scenario's starting method: the same timeline on every operation it starts."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self._template = template

    def __call__(self, operation: OperationHandle, request: StartRequest) -> None:
        rendered = render(self._template, request.message, parent=request.parent, name=operation.name)
        _play_timeline(operation, rendered, initial_metadata=True)

    def __repr__(self) -> str:
        return f"<scenario timeline {json.dumps(self._template)[:80]}>"


def _play_timeline(
    operation: OperationHandle,
    spec: Mapping[str, Any],
    located: Callable[[str], Any] | None = None,
    *,
    initial_metadata: bool = False,
) -> None:
    """Script ``spec``'s steps and cancel behaviour on ``operation``, and with ``initial_metadata`` its metadata.

    ``located(pointer)`` is a context manager naming where a fault sits (relative to ``spec``).
    """

    @contextmanager
    def nowhere(pointer: str) -> Iterator[None]:
        yield

    at = located or nowhere
    if initial_metadata and "metadata" in spec:
        with at("/metadata"):
            operation.update(metadata=spec["metadata"])
    # Scripted in the order they fire (a stable sort: ties keep the file's order), so that each step is
    # checked against the metadata it will really meet, whatever order the file lists them in.
    for index, step in sorted(enumerate(spec.get("steps", [])), key=lambda item: _firing_order(item[1])):
        with at(f"/steps/{index}"):
            trigger: JSON = {}
            if "at" in step:
                trigger["at"] = step["at"]
            if "afterPolls" in step:
                trigger["after_polls"] = step["afterPolls"]
            metadata = step.get("metadata")
            if "error" in step:
                error = step["error"]
                operation.fail(error["code"], error.get("message", ""), details=error.get("details", ()),
                               metadata=metadata, **trigger)
            elif "response" in step or step.get("done"):
                operation.succeed(step.get("response"), metadata=metadata, **trigger)
            else:
                operation.update(metadata=metadata, **trigger)
    cancel = spec.get("cancel")
    if cancel is not None:
        with at("/cancel"):
            options = {key: cancel[key] for key in ("after", "code", "message", "metadata") if key in cancel}
            operation.on_cancel(cancel.get("mode", "accept"), **options)


def _firing_order(step: Mapping[str, Any]) -> tuple[int, float, bool]:
    """By time (no trigger: at creation), then by poll count; a result after the other steps of its instant."""
    terminal = "response" in step or "error" in step or bool(step.get("done"))
    if step.get("afterPolls"):  # afterPolls: 0 fires at creation, like a step with no trigger
        return 2, float(step["afterPolls"]), terminal
    if "at" in step:
        try:
            return 1, to_timedelta(step["at"]).total_seconds(), terminal
        except ValueError:  # reported where it is scripted
            return 1, 0.0, terminal
    return 1, 0.0, terminal  # at creation: at 0s


# -- parsing -------------------------------------------------------------------------------------------


def _parse(raw: bytes | str, source: str) -> tuple[JSON, dict[str, int]]:
    """The object a YAML or JSON text holds, and the line of each JSON pointer in it."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ScenarioError(source, [ScenarioProblem("", f"the file is not UTF-8 text: {error}")]) from None
    else:
        text = raw
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # it reads the first characters already: a control character is an error here
        node = loader.get_single_node()
        if node is not None:
            _check_aliases(node, source)  # before anything is expanded: composing cost as much as the text
        document = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        problem = ScenarioProblem("", message or str(error), None if mark is None else mark.line + 1)
        raise ScenarioError(source, [problem]) from None
    except yaml.YAMLError as error:
        raise ScenarioError(source, [ScenarioProblem("", str(error))]) from None
    except RecursionError:
        raise ScenarioError(source, [ScenarioProblem("", "the document is nested too deeply")]) from None
    except (ValueError, TypeError, LookupError) as error:
        # PyYAML's constructors fail this way on a value its tag cannot read: !!int x, !!bool maybe, !!map 1, or
        # an integer past the interpreter's 4,300 digits. The advice on raising that limit is not for the author.
        reason = str(error).partition("; use sys.set_int_max_str_digits()")[0]
        message = f"a value cannot be read as its type or tag says ({type(error).__name__}: {reason})"
        raise ScenarioError(source, [ScenarioProblem("", message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[str, int] = {}
    if node is not None:
        _index_lines(node, "", lines)
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"{_YAML_KINDS.get(type(document), 'a value')}, not an object"
        problem = ScenarioProblem("", f"a scenario is an object (a YAML mapping); this document is {kind}",
                                  lines.get(""))
        raise ScenarioError(source, [problem])
    problems = [ScenarioProblem(where, message, _nearest(lines, where)) for where, message in json_problems(document)]
    if problems:
        raise ScenarioError(source, problems[:_MAX_PROBLEMS], total=len(problems))
    return document, lines


#: How many values a YAML document may hold once its aliases are expanded: far above any scenario, far below
#: what a "billion laughs" of a few hundred bytes expands to.
MAX_EXPANDED_VALUES = 100_000


def _check_aliases(root: yaml.Node, source: str) -> None:
    """`ScenarioError` if aliases (``*name``) expand the document past `MAX_EXPANDED_VALUES` or into itself.

    PyYAML composes an alias as a second reference to its anchor's node, so the node graph is as small as the
    text; expanding it (constructing, validating, serializing) is what explodes. Each node's expanded size is
    counted once, bottom-up, without recursion.
    """
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            entered.discard(key)
            sizes[key] = min(1 + sum(sizes[id(child)] for child in children), MAX_EXPANDED_VALUES + 1)
            continue
        if key in sizes:
            continue
        entered.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in entered:
                line = child.start_mark.line + 1
                raise ScenarioError(source, [ScenarioProblem("", "an alias refers to a value that contains it, so "
                                                                 "the document would never end", line)])
            if id(child) not in sizes:
                stack.append((child, False))
    if sizes[id(root)] > MAX_EXPANDED_VALUES:
        raise ScenarioError(source, [ScenarioProblem(
            "", f"the document expands to more than {MAX_EXPANDED_VALUES:,} values through its aliases (*name); "
                "write the values out, or alias less", root.start_mark.line + 1)])


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _index_lines(node: yaml.Node, pointer: str, lines: dict[str, int]) -> None:
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                child = pointer + json_pointer(key.value)
                lines[child] = key.start_mark.line + 1  # the key's line is where a person looks for the field
                _index_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, pointer + json_pointer(index), lines)


def _unexpected_key(pointer: str, message: str) -> str:
    """For "('bogus' was unexpected)", the pointer of that key: its line is the one to show."""
    found = re.search(r"\('([^']*)'(?:, '[^']*')* (?:was|were) unexpected\)", message)
    return pointer if found is None else pointer + json_pointer(found.group(1))


def _nearest(lines: Mapping[str, int], pointer: str) -> int | None:
    while pointer not in lines and pointer:
        pointer = pointer.rsplit("/", 1)[0]
    return lines.get(pointer)
