"""What a service declares about a method that starts an operation, read from the service's own definitions.

A test names the method; the emulator reads the rest where the service's client library or descriptors keep it:

- a **protobuf descriptor** (``_pb2``-generated services, descriptor sets loaded with `load_descriptor_set`):
  the ``google.api.http`` option with its ``additional_bindings``, the input type, and
  ``google.longrunning.operation_info`` (the operation's response and metadata types);
- a **generated (proto-plus) client**, which registers its messages but not its services in the descriptor pool,
  so the same facts are read from its generated code: the gRPC transport names the method's path, the REST
  transport lists every HTTP binding (``_get_http_options()``), and the client method checks its request type
  and wraps the answer with ``operation.from_gapic(..., ResponseType, metadata_type=MetadataType)``. The method's
  source is read with `ast`, never run.

A full method name (``google.cloud.run.v2.Services.CreateService``) is looked up in the descriptor pool first, then
in the generated client library that the naming convention of Google's generated clients places it in
(``google.cloud.run_v2.services.services``).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Iterable
from typing import Any

from .errors import ScriptError
from .http_rules import HttpRule
from .protobuf import find_message_class, message_class, register_common_types

__all__ = ["MethodInfo", "load_descriptor_set", "resolve_method"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FULL_NAME = re.compile(rf"/?((?:{_IDENT}\.)+)({_IDENT})[./]({_IDENT})")
_OPERATION = "google.longrunning.Operation"
#: The generated clients' methods of the Operations mixin: what the emulator serves, never a start.
_OPERATIONS_MIXINS = frozenset({"get_operation", "list_operations", "cancel_operation", "delete_operation",
                                "wait_operation"})
#: The longest full method name looked up (protobuf allows any length; real ones are under 200 characters).
_MAX_NAME = 512


@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """One method of a service, as the emulator serves a start of it.

    ``full_name`` is ``package.Service.Method``; ``request_type`` the request's protobuf class; ``bindings``
    every HTTP binding (the main one first, then the additional ones); ``response_type`` and ``metadata_type``
    the full names of the operation's response and metadata messages (None when the service does not say).
    """

    full_name: str
    request_type: Any
    bindings: tuple[HttpRule, ...]
    response_type: str | None
    metadata_type: str | None

    @property
    def grpc_path(self) -> str:
        """The gRPC method path, ``/package.Service/Method``."""
        service, method = self.full_name.rsplit(".", 1)
        return f"/{service}/{method}"


def resolve_method(method: object) -> MethodInfo:
    """Read what the service declares about ``method``; `ScriptError` says what to give instead.

    ``method`` is a generated client's method (``DatasetServiceClient.create_dataset``, bound or not, sync or
    async), a full method name (``google.cloud.run.v2.Services.CreateService``, or the gRPC form with ``/``),
    or a protobuf ``MethodDescriptor``.
    """
    __tracebackhide__ = True
    try:
        if isinstance(method, str):
            return _by_name(method)
        if _is_method_descriptor(method):
            return _from_descriptor(method)
        function: Any = inspect.unwrap(getattr(method, "__func__", method))  # type: ignore[arg-type]
        if callable(function) and ".services." in str(getattr(function, "__module__", "")):
            return _from_generated_client(function)
    except LookupError as error:
        raise ScriptError(str(error)) from None
    except ScriptError:
        raise
    except Exception as error:  # generated code read in unforeseen shapes, objects that raise on inspection
        raise ScriptError(f"what the service declares about {method!r} cannot be read: "
                          f"{type(error).__name__}: {error}") from None
    raise ScriptError(
        "on_start()'s method must be a generated client's method (aiplatform_v1.DatasetServiceClient.create_dataset),"
        " a full method name ('google.cloud.run.v2.Services.CreateService') or a protobuf MethodDescriptor; "
        f"got {method!r}"
    )


def load_descriptor_set(data: bytes, source: str = "the descriptor set") -> list[str]:
    """Add a serialized ``google.protobuf.FileDescriptorSet`` to the process's descriptor pool; its file names.

    Files the pool holds already (``google/longrunning/operations.proto``, ``google/api/*.proto``: any process
    using gRPC has them) are skipped: the process's copy serves, as the client libraries in it expect.
    `LookupError` says what is wrong.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool
    from google.protobuf.message import DecodeError

    register_common_types()
    _register_options()
    files = descriptor_pb2.FileDescriptorSet()
    try:
        files.ParseFromString(data)
    except DecodeError as error:
        raise LookupError(f"{source} is not a serialized google.protobuf.FileDescriptorSet: {error}") from None
    if not files.file:
        raise LookupError(f"{source} holds no files; write it with protoc --include_imports --descriptor_set_out "
                          "(or buf build -o)")
    pool = descriptor_pool.Default()
    added = []
    for file in _in_dependency_order(files.file, source):
        try:
            pool.FindFileByName(file.name)
            continue  # the process's own copy serves: another release of a common proto differs only in comments
        except KeyError:
            pass
        try:
            pool.Add(file)
        except (TypeError, ValueError) as error:  # a conflicting definition, or a name its imports lack
            raise LookupError(f"{source}: {file.name} cannot be loaded beside what this process has: {error}") from None
        added.append(file.name)
    return added


def _in_dependency_order(files: Iterable[Any], source: str) -> list[Any]:
    """The files with each after the files it imports (those in the set), iteratively: a set may be deep."""
    by_name: dict[str, Any] = {}
    for file in files:
        if file.name in by_name:
            raise LookupError(f"{source} holds {file.name} twice")
        by_name[file.name] = file
    ordered: list[Any] = []
    done: set[str] = set()
    for root in by_name:
        if root in done:
            continue
        path = [root]  # the chain being followed, for a cycle's message
        stack = [(root, iter(by_name[root].dependency))]
        while stack:
            name, dependencies = stack[-1]
            dependency = next((d for d in dependencies if d in by_name and d not in done), None)
            if dependency is None:
                stack.pop()
                path.pop()
                done.add(name)
                ordered.append(by_name[name])
            elif dependency in path:
                raise LookupError(f"{source}: {dependency} imports itself through {' -> '.join([*path, dependency])}")
            else:
                path.append(dependency)
                stack.append((dependency, iter(by_name[dependency].dependency)))
    return ordered


def _register_options() -> None:
    """Import the option extensions the emulator reads, so that descriptors parse them."""
    from google.api import annotations_pb2  # noqa: F401  (google.api.http)
    from google.longrunning import operations_proto_pb2  # noqa: F401  (google.longrunning.operation_info)


# -- by name -----------------------------------------------------------------------------------------------------


def _by_name(text: str) -> MethodInfo:
    found = _FULL_NAME.fullmatch(text.strip()) if len(text) <= _MAX_NAME else None
    if found is None:
        raise LookupError(f"{text!r} is not a full method name like 'google.cloud.run.v2.Services.CreateService'")
    package, service, method = found.group(1).rstrip("."), found.group(2), found.group(3)
    full_name = f"{package}.{service}.{method}"
    descriptor = _find_descriptor(full_name)
    if descriptor is not None:
        return _from_descriptor(descriptor)
    module = _client_module(package, service)
    tried = f"the generated client library module {module}"
    try:
        client = importlib.import_module(f"{module}.client")
    except ModuleNotFoundError:
        client = None
    except Exception as error:  # importing runs the library's code: a conflict with a loaded descriptor set, ...
        raise LookupError(f"{full_name}: importing the client library module {module}.client failed with "
                          f"{type(error).__name__}: {error}") from None
    if client is not None:
        function = getattr(getattr(client, f"{service}Client", None), _snake(method), None)
        if function is not None:
            info = _from_generated_client(function)
            if info.full_name == full_name:
                return info
            tried += f" (whose {_snake(method)} is {info.full_name})"
    raise LookupError(
        f"no method {full_name} is known to this process: no descriptor in the descriptor pool and not {tried}; "
        "import its client library first, or load its descriptors (lro-emulator serve --descriptor-set FILE)"
    )


def _find_descriptor(full_name: str) -> Any:
    try:
        from google.protobuf import descriptor_pool
    except ImportError:
        return None
    register_common_types()
    try:
        return descriptor_pool.Default().FindMethodByName(full_name)
    except KeyError:
        return None


def _client_module(package: str, service: str) -> str:
    """Where Google's generated Python clients put a service: ``google.cloud.run.v2`` ``Services`` is
    ``google.cloud.run_v2.services.services``."""
    head, _, version = package.rpartition(".")
    python_package = f"{head}_{version}" if head else package
    return f"{python_package}.services.{_snake(service)}"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


# -- from a descriptor ---------------------------------------------------------------------------------------------


def _is_method_descriptor(value: object) -> bool:
    return all(hasattr(value, attribute) for attribute in ("containing_service", "input_type", "output_type",
                                                           "full_name", "GetOptions"))


def _from_descriptor(descriptor: Any) -> MethodInfo:
    from google.protobuf import message_factory

    _register_options()
    from google.api import annotations_pb2
    from google.longrunning import operations_proto_pb2

    full_name = descriptor.full_name
    options = descriptor.GetOptions()
    bindings: list[HttpRule] = []
    if options.HasExtension(annotations_pb2.http):
        rule = options.Extensions[annotations_pb2.http]
        for binding in (rule, *rule.additional_bindings):
            bindings.append(_rule_of(binding, full_name))
    response = metadata = None
    if descriptor.output_type.full_name != _OPERATION:
        raise LookupError(f"{full_name} does not start a long-running operation: it answers "
                          f"{descriptor.output_type.full_name}, not {_OPERATION}")
    if options.HasExtension(operations_proto_pb2.operation_info):
        info = options.Extensions[operations_proto_pb2.operation_info]
        package = descriptor.containing_service.file.package
        response = _qualified(info.response_type, package) if info.response_type else None
        metadata = _qualified(info.metadata_type, package) if info.metadata_type else None
    return MethodInfo(full_name, message_factory.GetMessageClass(descriptor.input_type), tuple(bindings),
                      response, metadata)


def _rule_of(binding: Any, method: str) -> HttpRule:
    kind = binding.WhichOneof("pattern")
    if kind is None:
        raise LookupError(f"{method}: a google.api.http binding has no path")
    if kind == "custom":
        verb, template = binding.custom.kind, binding.custom.path
    else:
        verb, template = kind, getattr(binding, kind)
    try:
        return HttpRule.of(verb, template, binding.body or None)
    except ScriptError as error:
        raise LookupError(f"{method}: its google.api.http binding {verb.upper()} {template}: {error}") from None


def _qualified(name: str, package: str) -> str:
    """An operation_info type as a full name: a name the pool knows in the method's package, else as written if
    qualified (AIP-151: types of other packages are written in full), else in the method's package."""
    name = name.lstrip(".")
    local = f"{package}.{name}" if package else name
    for candidate in (local, name):
        try:
            find_message_class(candidate)
            return candidate
        except LookupError:
            pass
    return name if "." in name else local


# -- from a generated client ---------------------------------------------------------------------------------------


def _from_generated_client(function: Any) -> MethodInfo:
    module = sys.modules.get(function.__module__)
    if module is None or ".services." not in module.__name__:
        raise LookupError(f"{function!r} is not a method of a generated client")
    package = module.__name__.rsplit(".", 1)[0]  # google.cloud.aiplatform_v1.services.dataset_service
    name = function.__name__
    label = f"{package}: {getattr(function, '__qualname__', name)}"
    if name in _OPERATIONS_MIXINS:
        raise LookupError(f"{label} is the Operations API the emulator itself serves; declare the method of your "
                          "service that starts an operation")
    tree = _function_tree(function, label)
    request = _request_class(tree, module, label)
    response, metadata = _operation_types(tree, module, label)
    path = _grpc_path(package, name, label)
    service, method = path.strip("/").split("/")
    bindings = _http_bindings(package, method, service)
    return MethodInfo(f"{service}.{method}", request, bindings, response, metadata)


def _function_tree(function: Any, label: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as error:
        raise LookupError(f"{label}: its source cannot be read ({error})") from None
    node = ast.parse(source).body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise LookupError(f"{label} is not a function")
    return node


def _request_class(tree: ast.AST, module: Any, label: str) -> Any:
    """The message class in ``if not isinstance(request, <class>)``: the request type the method builds."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
                and len(node.args) == 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == "request"
                and not (isinstance(node.args[1], ast.Name) and node.args[1].id in ("dict", "list", "str"))):
            return message_class(_evaluate(node.args[1], module, label))
    raise LookupError(f"{label}: the method does not say its request type (no isinstance(request, ...))")


def _operation_types(tree: ast.AST, module: Any, label: str) -> tuple[str | None, str | None]:
    """The types in ``operation.from_gapic(response, client, <Response>, metadata_type=<Metadata>)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_gapic":
            if len(node.args) < 3:
                raise LookupError(f"{label}: from_gapic() is called without a response type")
            response = _type_name(_evaluate(node.args[2], module, label))
            metadata = next((_type_name(_evaluate(keyword.value, module, label)) for keyword in node.keywords
                             if keyword.arg == "metadata_type"), None)
            return response, metadata
    raise LookupError(f"{label} does not start a long-running operation: its client does not wrap the answer in "
                      "an operation (operation.from_gapic)")


def _evaluate(node: ast.expr, module: Any, label: str) -> Any:
    """A dotted name (``dataset_service.CreateDatasetRequest``) looked up in the client module's globals."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise LookupError(f"{label}: {ast.unparse(node)} is not a name")
    parts.append(node.id)
    value: Any = module
    for index, part in enumerate(reversed(parts)):
        value = getattr(value, part, None) if index else vars(module).get(part)
        if value is None:
            raise LookupError(f"{label}: {'.'.join(reversed(parts))} is not defined in {module.__name__}")
    return value


def _type_name(kind: Any) -> str:
    full_name: str = message_class(kind).DESCRIPTOR.full_name
    return full_name


def _grpc_path(package: str, name: str, label: str) -> str:
    """The path the gRPC transport calls for ``name``, as in
    ``"/google.cloud.aiplatform.v1.DatasetService/CreateDataset"``."""
    try:
        transport = importlib.import_module(f"{package}.transports.grpc")
        source = inspect.getsource(transport)
    except (ImportError, OSError) as error:
        raise LookupError(f"{label}: its gRPC transport cannot be read ({error})") from None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for inner in ast.walk(node):
                if (isinstance(inner, ast.Constant) and isinstance(inner.value, str)
                        and re.fullmatch(rf"/(?:{_IDENT}\.)+{_IDENT}/{_IDENT}", inner.value)):
                    return inner.value
    raise LookupError(f"{label}: its gRPC transport has no method path for {name}")


def _http_bindings(package: str, method: str, service: str) -> tuple[HttpRule, ...]:
    """Every binding the REST transport lists for ``method``; none if the library has no REST transport.

    Recent generated clients keep them in ``transports/rest_base.py`` (``_Base<Method>._get_http_options()``); older
    ones inline the same list in ``transports/rest.py`` (``http_options = [...]`` in the class ``_<Method>``), read
    there with `ast`.
    """
    label = f"{service}.{method}"
    try:
        base = importlib.import_module(f"{package}.transports.rest_base")
    except ModuleNotFoundError:
        base = None
    options: Any = None
    if base is not None:
        transports = [value for key, value in vars(base).items()
                      if key.startswith("_Base") and key.endswith("RestTransport") and isinstance(value, type)]
        holder = next((getattr(t, f"_Base{method}") for t in transports if hasattr(t, f"_Base{method}")), None)
        options = None if holder is None else holder._get_http_options()
    else:
        options = _inline_http_options(package, method, label)
    if options is None:
        return ()
    rules = []
    for option in options:
        try:
            rules.append(HttpRule.of(option["method"], option["uri"], option.get("body")))
        except (KeyError, TypeError, ScriptError) as error:
            raise LookupError(f"{label}: its REST binding {option!r} cannot be read: {error}") from None
    return tuple(rules)


def http_options_in(source: str, method: str) -> list[dict[str, str]] | None:
    """The literal ``http_options`` list of the class ``_<method>`` in a generated ``rest.py``'s source, or None."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == f"_{method}":
            for inner in ast.walk(node):
                value: ast.expr | None = None
                if isinstance(inner, ast.AnnAssign) and isinstance(inner.target, ast.Name):
                    name, value = inner.target.id, inner.value
                elif isinstance(inner, ast.Assign) and len(inner.targets) == 1 and isinstance(inner.targets[0],
                                                                                             ast.Name):
                    name, value = inner.targets[0].id, inner.value
                else:
                    continue
                if name == "http_options" and value is not None:
                    options: list[dict[str, str]] = ast.literal_eval(value)
                    return options
    return None


def _inline_http_options(package: str, method: str, label: str) -> Any:
    """``http_options`` as ``transports/rest.py`` of an older generated client writes it; None without a REST
    transport; `LookupError` if there is one but it lists no binding for the method."""
    try:
        rest = importlib.import_module(f"{package}.transports.rest")
        source = inspect.getsource(rest)
    except ModuleNotFoundError:
        return None
    except OSError as error:
        raise LookupError(f"{label}: its REST transport cannot be read ({error})") from None
    options = http_options_in(source, method)
    if options is not None:
        return options
    raise LookupError(f"{label}: the library has a REST transport, but its bindings for {method} cannot be found "
                      "in it; declare the start with http= and grpc=")
