"""Protocol Buffers interop: message objects as proto3 JSON, and whether JSON packs into ``Any``.

The emulator keeps every payload as proto3 JSON. A test may hand it protobuf or proto-plus message
objects instead, and a gRPC client needs each ``@type`` to name a message this process has
registered (by importing the client library's types). protobuf is imported only when one of these
is needed: a REST-only user never needs it installed.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "canonical_json", "find_message_class", "is_message", "json_of", "message_class", "message_to_json",
    "pack_problem", "parse_into", "register_common_types",
]

_INSTALL_HINT = "protobuf is not installed; install lro-emulator[grpc] to use protobuf messages and gRPC"


def _is_proto_plus_class(kind: object) -> bool:
    return isinstance(kind, type) and hasattr(kind, "pb") and hasattr(kind, "meta")


def _is_protobuf_class(kind: object) -> bool:
    return isinstance(kind, type) and hasattr(kind, "DESCRIPTOR") and hasattr(kind, "FromString")


def is_message(value: object) -> bool:
    """Whether ``value`` is a protobuf message or a proto-plus message (without importing either)."""
    return _is_proto_plus_class(type(value)) or _is_protobuf_class(type(value))


def json_of(value: Any) -> Any:
    """A message as `message_to_json` gives it; anything else as it is."""
    return message_to_json(value) if is_message(value) else value


def message_to_json(value: Any) -> dict[str, Any]:
    """A message as the proto3 JSON of an ``Any`` packing it: its fields plus ``@type``.

    An ``Any`` is taken as it is, not packed twice.
    """
    from google.protobuf import any_pb2, json_format

    message = type(value).pb(value) if hasattr(value, "_pb") else value
    if message.DESCRIPTOR.full_name == "google.protobuf.Any":
        packed = message
    else:
        packed = any_pb2.Any()
        packed.Pack(message)
    document: dict[str, Any] = json_format.MessageToDict(packed)
    return document


def pack_problem(operation: dict[str, Any]) -> str | None:
    """Why ``operation`` (proto3 JSON) cannot become a ``google.longrunning.Operation``, or None if it can.

    Every ``@type`` inside must name a message registered in this process, and its fields must
    be that message's.
    """
    try:
        from google.longrunning import operations_pb2
        from google.protobuf import json_format
    except ImportError:
        return _INSTALL_HINT
    register_common_types()
    try:
        parse_into(operation, operations_pb2.Operation())
    except json_format.ParseError as error:
        text = str(error)
        if "Can not find message descriptor by type_url" in text:
            type_url = text.split("type_url:", 1)[1].split(" at ", 1)[0].strip()
            return (
                f"{type_url} is not a message type this process has registered, so gRPC cannot pack it into "
                "an Any; import the module that defines it (the client library's types) before scripting"
            )
        return f"it does not pack into protobuf messages: {text}"
    return None


def parse_into(document: dict[str, Any], message: Any) -> None:
    """``json_format.ParseDict(document, message)``, given a copy of ``document`` (`json_format.ParseError` too).

    ParseDict takes ``@type`` out of each ``Any`` it converts and puts it back after. The emulator's payloads are
    shared, between the operations scripted with the same one (`OperationStore.parsed`) and with the threads
    serving them outside the state lock: converted in place, another thread would find a payload without its type.
    """
    from google.protobuf import json_format

    json_format.ParseDict(json.loads(json.dumps(document)), message)


def register_common_types() -> None:
    """Import the well-known types and ``google.rpc`` details, so JSON naming them packs into ``Any``.

    A client process has them whenever it uses them; the emulator must not depend on the test
    having imported them first.
    """
    from google.protobuf import (  # noqa: F401  (imported for their registration)
        duration_pb2,
        empty_pb2,
        field_mask_pb2,
        struct_pb2,
        timestamp_pb2,
        wrappers_pb2,
    )
    from google.rpc import code_pb2, error_details_pb2, status_pb2  # noqa: F401


def canonical_json(message_class: Any, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` read as ``message_class`` and written back: the proto3 JSON a decoded gRPC request gives.

    Enums by name, int64 as strings, camelCase names. `ValueError` if it is not such a message.
    """
    from google.protobuf import json_format

    message = message_class()
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as error:
        raise ValueError(str(error)) from None
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result


def message_class(request_type: object) -> Any:
    """The protobuf class of a message class (protobuf or proto-plus) or a registered full name.

    `LookupError` saying what to import or pass otherwise.
    """
    if isinstance(request_type, str):
        return find_message_class(request_type)
    if _is_proto_plus_class(request_type):
        return request_type.pb()  # type: ignore[attr-defined]
    if _is_protobuf_class(request_type):
        return request_type
    raise LookupError(f"request_type= must be a protobuf or proto-plus message class or a full message name, "
                      f"got {request_type!r}")


def find_message_class(full_name: str) -> Any:
    """The protobuf class of a registered message type; `LookupError` saying what to import otherwise."""
    try:
        from google.protobuf import descriptor_pool, message_factory
    except ImportError:
        raise LookupError(_INSTALL_HINT) from None
    register_common_types()
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise LookupError(
            f"no message type {full_name} is registered in this process; import the client library that "
            "defines it first, or pass request_type= (a message class)"
        ) from None
    return message_factory.GetMessageClass(descriptor)
