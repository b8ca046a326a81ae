"""The schemas of the discovery documents are the package's JSON Schemas, in discovery's words.

Each message a discovery document describes (Operation, Status, ListOperationsResponse, Empty and the
request bodies) is the JSON Schema titled with its name: every field of the JSON Schema is a property
of the discovery schema, with the matching discovery type and the JSON Schema's description, and
nothing else is. A field added to a JSON Schema shows up in every profile's document, under the
service's own schema names; the shapes match Google's real documents; and what discovery cannot say
stops the translation instead of vanishing from it.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from typing import Any

import pytest
from googleapiclient import discovery

from lro_emulator import PROFILES
from lro_emulator.rest.discovery import discovery_document, naming_of  # internal: the discovery builder under test
from lro_emulator.wire.validation import Schemas, load_schemas  # internal: the discovery builder under test

JSON = dict[str, Any]
ROOT = "http://emulator.invalid/"
#: The messages the documents take from JSON Schemas, by kind; Earth Engine's algorithms have none.
MESSAGES = {"Operation", "Status", "ListOperationsResponse", "Empty", "CancelOperationRequest", "WaitOperationRequest"}
#: The joined (``GoogleLongrunningOperation``) and underscored (``GoogleLongrunning__Operation``) styles' prefixes.
PREFIX = re.compile(r"^Google(?:Longrunning|Rpc|Protobuf)(?:__)?")
DOCUMENTS = [
    pytest.param(profile, version, id=f"{profile}-{version}")
    for profile in sorted(PROFILES)
    for version in naming_of(PROFILES[profile]).versions or ("v1",)
]


def kind_of(name: str) -> str:
    """A discovery schema name without the service's prefix: ``GoogleRpc__Status`` -> ``Status``."""
    return PREFIX.sub("", name)


def json_schemas(schemas: Schemas) -> dict[str, JSON]:
    """The package's JSON Schemas by title."""
    documents = (schemas.document(name) for name in schemas.names)
    return {document["title"]: document for document in documents if "title" in document}


def document_of(profile: str, version: str = "v1", schemas: Schemas | None = None) -> JSON:
    """``profile``'s discovery document, its messages translated from ``schemas`` (the package's by default)."""
    return discovery_document(PROFILES[profile], ROOT, version, schemas=schemas)


def messages_of(document: JSON) -> dict[str, JSON]:
    """The message schemas of a discovery document, by kind."""
    return {kind_of(name): schema for name, schema in document["schemas"].items() if kind_of(name) in MESSAGES}


def expected_type(schema: Any) -> tuple[Any, ...]:
    """What a JSON Schema field is, as this test reads it: (type, format) or ("$ref", kind), or an array of one."""
    reference = schema.get("$ref", "")
    if reference in ("any.schema.json", "error-details.schema.json"):  # an Any, or a detail (an Any too)
        return ("object", "any")
    if reference == "duration.schema.json":
        return ("string", "google-duration")
    if reference == "timestamp.schema.json":
        return ("string", "google-datetime")
    if reference:
        return ("$ref", load_schemas().document(reference.removesuffix(".schema.json"))["title"])
    if schema["type"] == "array":
        return ("array", *expected_type(schema["items"]))
    if schema["type"] == "integer":
        formats = {(-(2**31), 2**31 - 1): "int32", (0, 2**32 - 1): "uint32"}
        return ("integer", formats[(schema["minimum"], schema["maximum"])])
    return (schema["type"], None)


def served_type(schema: JSON) -> tuple[Any, ...]:
    """What a discovery property is: (type, format) or ("$ref", kind), or an array of one."""
    if "$ref" in schema:
        return ("$ref", kind_of(schema["$ref"]))
    if schema["type"] == "array":
        return ("array", *served_type(schema["items"]))
    if schema["type"] == "object" and "additionalProperties" in schema:
        return ("object", schema["additionalProperties"]["type"])
    return (schema["type"], schema.get("format"))


def without_descriptions(node: Any) -> Any:
    """``node`` with every ``description`` left out: its shape, which clients read."""
    if isinstance(node, dict):
        return {key: without_descriptions(value) for key, value in node.items() if key != "description"}
    if isinstance(node, list):
        return [without_descriptions(value) for value in node]
    return node


def with_changes(**changed: JSON) -> Schemas:
    """The package's schemas with some files replaced (``operation=...``), validated like the real ones."""
    schemas = load_schemas()
    documents = {name: schemas.document(name) for name in schemas.names}
    documents.update({name.replace("_", "-"): document for name, document in changed.items()})
    return Schemas(documents)


@pytest.mark.parametrize(("profile", "version"), DOCUMENTS)
def test_every_message_is_its_json_schema_field_for_field_and_nothing_else(profile: str, version: str) -> None:
    document = document_of(profile, version)
    sources = json_schemas(load_schemas())
    messages = messages_of(document)

    assert {"Operation", "Status", "ListOperationsResponse", "Empty"} <= set(messages)
    for kind, served in messages.items():
        source = sources[kind]
        fields = source.get("properties", {})
        assert served["type"] == "object"
        assert served["description"] == source["description"], kind
        assert set(served["properties"]) == set(fields), kind
        for field, schema in fields.items():
            assert served_type(served["properties"][field]) == expected_type(schema), f"{kind}.{field}"
            assert served["properties"][field].get("description") == schema.get("description"), f"{kind}.{field}"


@pytest.mark.parametrize(("profile", "version"), DOCUMENTS)
def test_an_any_is_an_open_object_of_any_values_as_google_spells_it(profile: str, version: str) -> None:
    messages = messages_of(document_of(profile, version))
    any_object = {
        "additionalProperties": {"description": "Properties of the object. Contains field @type with type URL.",
                                 "type": "any"},
        "type": "object",
    }

    assert without_descriptions(messages["Operation"]["properties"]["metadata"]) == without_descriptions(any_object)
    assert without_descriptions(messages["Operation"]["properties"]["response"]) == without_descriptions(any_object)
    assert messages["Status"]["properties"]["details"]["items"] == any_object
    assert messages["Status"]["properties"]["code"] == {
        "description": load_schemas().document("status")["properties"]["code"]["description"],
        "format": "int32",
        "type": "integer",
    }


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_field_added_to_the_operation_json_schema_appears_in_the_document_and_a_removed_one_goes(
    profile: str,
) -> None:
    operation = load_schemas().document("operation")
    operation["properties"]["createTime"] = {"description": "When the operation was created.",
                                             "$ref": "timestamp.schema.json"}
    operation["properties"]["attempts"] = {"description": "How often it was tried.", "type": "integer",
                                           "minimum": 0, "maximum": 4294967295}
    operation["properties"]["bytes"] = {"$ref": "any.schema.json#/$defs/int64"}
    del operation["properties"]["done"]
    status = load_schemas().document("status")
    status["description"] = "A changed description."

    document = document_of(profile, schemas=with_changes(operation=operation, status=status))
    messages = messages_of(document)
    fields = messages["Operation"]["properties"]

    assert fields["createTime"] == {"description": "When the operation was created.", "format": "google-datetime",
                                    "type": "string"}
    assert fields["attempts"] == {"description": "How often it was tried.", "format": "uint32", "type": "integer"}
    assert fields["bytes"] == {"format": "int64", "type": "string"}  # proto3 JSON's 64-bit integers are strings
    assert "done" not in fields
    assert messages["Status"]["description"] == "A changed description."
    # The new document is still one googleapiclient builds a client from.
    discovery.build_from_document(document)


@pytest.mark.parametrize(
    ("profile", "real"),
    [
        pytest.param("vertex", "aiplatform.v1.json", id="vertex"),
        pytest.param("generic", "aiplatform.v1.json", id="generic"),
        pytest.param("cancel-get-list", "ml.v1.json", id="cancel-get-list"),
    ],
)
def test_the_messages_have_the_shape_of_the_real_services_schemas(profile: str, real: str) -> None:
    served = document_of(profile)["schemas"]
    original = json.loads(
        (importlib.resources.files("googleapiclient.discovery_cache") / "documents" / real).read_text()
    )["schemas"]

    assert {name: without_descriptions(schema) for name, schema in served.items()} == {
        name: without_descriptions(original[name]) for name in served
    }


def test_googleapiclient_documents_the_methods_with_the_json_schemas_descriptions() -> None:
    client = discovery.build_from_document(document_of("vertex"))
    done = load_schemas().document("operation")["properties"]["done"]["description"]

    assert done in (client.projects().locations().operations().get.__doc__ or "")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        pytest.param({"oneOf": [{"type": "string"}, {"type": "integer"}]},
                     "operation.schema.json#/properties/extra: discovery has no form for the keyword 'oneOf'",
                     id="oneOf"),
        pytest.param({"type": "integer"}, "operation.schema.json#/properties/extra: an integer needs the bounds",
                     id="unbounded-integer"),
        pytest.param({"type": ["string", "null"]}, "discovery has no form for the type ['string', 'null']",
                     id="type-list"),
        pytest.param({"type": "string", "format": "uri"}, "discovery has no form for the string format 'uri'",
                     id="string-format"),
    ],
)
def test_what_discovery_cannot_say_stops_the_translation_naming_where(field: JSON, message: str) -> None:
    operation = load_schemas().document("operation")
    operation["properties"]["extra"] = field

    with pytest.raises(ValueError, match=re.escape(message)):
        document_of("vertex", schemas=with_changes(operation=operation))
