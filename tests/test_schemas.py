"""The JSON Schemas of the wire contract and their loader, as installed in site-packages."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import lro_emulator
from lro_emulator import Code
from lro_emulator.wire import validation as schemas_module  # internal: the schema loader and validator under test
from lro_emulator.wire.validation import (  # internal: the schema loader and validator under test
    Schemas,
    SchemaViolation,
    load_schemas,
)

REPO = Path(__file__).resolve().parents[1]
BASE = "https://lro-emulator.dev/schemas/"
NAMES = (
    "any",
    "cancel-operation-request",
    "control",
    "duration",
    "empty",
    "error-details",
    "error-envelope",
    "list-operations-response",
    "operation",
    "scenario",
    "status",
    "timestamp",
    "wait-operation-request",
)
T = "type.googleapis.com/"
OP = "projects/p/operations/op-1"
EMPTY = {"@type": T + "google.protobuf.Empty"}
STRUCT = {"@type": T + "google.protobuf.Struct", "value": {"state": "RUNNING"}}
CANCELLED = {"code": 1, "message": "Operation cancelled."}


def info(**fields: Any) -> dict[str, Any]:
    return {"@type": T + "google.rpc.ErrorInfo", "reason": "R", "domain": "d", **fields}


def envelope(code: int, status: str, **more: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": "m", "status": status, **more}}


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return load_schemas()


def installed_files() -> dict[str, dict[str, Any]]:
    root = resources.files("lro_emulator") / "schemas"
    return {
        entry.name.removesuffix(".schema.json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in root.iterdir()
        if entry.name.endswith(".schema.json")
    }


# -- the files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_valid_2020_12_with_an_absolute_id_title_and_description(name: str) -> None:
    document = installed_files()[name]
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{BASE}{name}.schema.json"
    assert document["title"]
    assert document["description"]


def test_every_ref_resolves_inside_the_package() -> None:
    documents = installed_files()
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], DRAFT202012.create_resource(doc)) for doc in documents.values()
    )
    refs = [(doc["$id"], ref) for doc in documents.values() for ref in _refs(doc)]
    assert len(refs) > 20
    for base, ref in refs:
        registry.resolver(base).lookup(ref)  # raises Unresolvable otherwise
        assert urljoin(base, ref).startswith(BASE)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_examples_in_a_schema_follow_it(schemas: Schemas, name: str) -> None:
    for example in schemas.document(name).get("examples", []):
        schemas.validate(name, example)


def test_error_envelope_pairs_are_the_code_table(schemas: Schemas) -> None:
    rule = schemas.document("error-envelope")["$defs"]["error"]["allOf"][0]["then"]["anyOf"]
    pairs = {(pair["properties"]["status"]["const"], pair["properties"]["code"]["const"]) for pair in rule}
    # And one more: the HTTP server's 505 for a version it does not speak, answered before any method is read.
    assert pairs == {(code.name, code.http_status) for code in Code if code is not Code.OK} | {("UNIMPLEMENTED", 505)}


# -- documents -------------------------------------------------------------------------------------

VALID: list[tuple[str, object]] = [
    ("duration", "3s"),
    ("duration", "1.5s"),
    ("duration", "-0.000000001s"),
    ("duration", "0s"),
    ("duration", "1.000000001s"),
    ("duration", "315576000000s"),
    ("duration", "-315576000000.000000000s"),
    ("duration", "315575999999.999999999s"),
    ("timestamp", "2030-01-01T00:00:00Z"),
    ("timestamp", "2030-01-01T00:00:00.5+02:00"),
    ("timestamp", "2030-12-31T23:59:59.123456789-11:30"),
    ("timestamp", "0001-01-01T00:00:00Z"),
    ("any", {"@type": T + "google.protobuf.Struct", "value": {}}),
    ("any", {"@type": T + "acme.v1.Thing", "size": 3, "tags": ["a"]}),
    ("any", {"@type": "example.com/a/b/acme.v1.Thing"}),
    ("any", EMPTY),
    ("any", {"@type": T + "google.protobuf.Duration", "value": "3.5s"}),
    ("any", {"@type": T + "google.protobuf.Timestamp", "value": "2030-01-01T00:00:00Z"}),
    ("any", {"@type": T + "google.protobuf.ListValue", "value": [1, "a", None]}),
    ("any", {"@type": T + "google.protobuf.Value", "value": None}),
    ("any", {"@type": T + "google.protobuf.FieldMask", "value": "done,metadata.state"}),
    ("any", {"@type": T + "google.protobuf.DoubleValue", "value": "NaN"}),
    ("any", {"@type": T + "google.protobuf.FloatValue", "value": 1.5}),
    ("any", {"@type": T + "google.protobuf.Int64Value", "value": "-9223372036854775808"}),
    ("any", {"@type": T + "google.protobuf.Int64Value", "value": 12}),
    ("any", {"@type": T + "google.protobuf.UInt64Value", "value": "18446744073709551615"}),
    ("any", {"@type": T + "google.protobuf.Int32Value", "value": -5}),
    ("any", {"@type": T + "google.protobuf.UInt32Value", "value": 4294967295}),
    ("any", {"@type": T + "google.protobuf.BoolValue", "value": False}),
    ("any", {"@type": T + "google.protobuf.StringValue", "value": ""}),
    ("any", {"@type": T + "google.protobuf.BytesValue", "value": "aGk_-w=="}),
    ("any", {"@type": T + "google.protobuf.Any", "value": STRUCT}),
    ("error-details", info(metadata={"k": "v"})),
    ("error-details", {"@type": T + "google.rpc.RetryInfo", "retryDelay": "1.5s"}),
    ("error-details", {"@type": T + "google.rpc.DebugInfo", "stackEntries": ["a", "b"], "detail": "x"}),
    (
        "error-details",
        {
            "@type": T + "google.rpc.QuotaFailure",
            "violations": [
                {
                    "subject": "project:p",
                    "description": "d",
                    "apiService": "s",
                    "quotaMetric": "m",
                    "quotaId": "i",
                    "quotaDimensions": {"region": "eu"},
                    "quotaValue": "10",
                    "futureQuotaValue": 20,
                }
            ],
        },
    ),
    (
        "error-details",
        {
            "@type": T + "google.rpc.PreconditionFailure",
            "violations": [{"type": "TOS", "subject": "s", "description": "d"}],
        },
    ),
    (
        "error-details",
        {
            "@type": T + "google.rpc.BadRequest",
            "fieldViolations": [
                {
                    "field": "page_size",
                    "description": "d",
                    "reason": "R",
                    "localizedMessage": {"locale": "en-US", "message": "m"},
                }
            ],
        },
    ),
    ("error-details", {"@type": T + "google.rpc.RequestInfo", "requestId": "r", "servingData": "s"}),
    (
        "error-details",
        {
            "@type": T + "google.rpc.ResourceInfo",
            "resourceType": "t",
            "resourceName": "n",
            "owner": "o",
            "description": "d",
        },
    ),
    ("error-details", {"@type": T + "google.rpc.Help", "links": [{"description": "d", "url": "https://x"}]}),
    ("error-details", {"@type": T + "google.rpc.LocalizedMessage", "locale": "fr", "message": "m"}),
    ("error-details", {"@type": T + "acme.v1.OwnDetail", "anything": True}),
    ("error-details", {"@type": T + "google.rpc.SomethingNewer", "field": 1}),
    ("status", {}),
    ("status", CANCELLED),
    ("status", {"code": 5, "details": [info(), {"@type": T + "acme.v1.X", "y": 1}]}),
    ("operation", {"name": OP}),
    ("operation", {}),
    ("operation", {"name": OP, "done": False, "metadata": STRUCT}),
    ("operation", {"name": OP, "done": True, "response": EMPTY}),
    ("operation", {"name": OP, "done": True, "error": {**CANCELLED, "details": [info()]}}),
    ("operation", {"name": OP, "done": True}),
    ("list-operations-response", {}),
    ("list-operations-response", {"operations": [{"name": OP}], "nextPageToken": "abc"}),
    ("list-operations-response", {"operations": [], "unreachable": ["projects/p/locations/x"]}),
    ("error-envelope", envelope(404, "NOT_FOUND", details=[info()])),
    ("error-envelope", envelope(400, "FAILED_PRECONDITION")),
    ("error-envelope", envelope(501, "UNIMPLEMENTED", details=[])),
    ("cancel-operation-request", {}),
    ("cancel-operation-request", {"name": OP}),
    ("wait-operation-request", {}),
    ("wait-operation-request", {"name": OP, "timeout": "3.5s"}),
    ("empty", {}),
]


@pytest.mark.parametrize(("name", "document"), VALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID)])
def test_valid_documents(schemas: Schemas, name: str, document: object) -> None:
    schemas.validate(name, document)
    assert schemas.errors(name, document) == []


@pytest.mark.parametrize("code", [code for code in Code if code is not Code.OK], ids=lambda code: code.name)
def test_every_error_code_has_a_valid_envelope(schemas: Schemas, code: Code) -> None:
    schemas.validate("error-envelope", envelope(code.http_status, code.name))


# (schema, document, pointer of the fault, failing keyword)
INVALID: list[tuple[str, object, str, str]] = [
    ("duration", "1.5", "", "pattern"),
    ("duration", "3 s", "", "pattern"),
    ("duration", "1.0000000001s", "", "pattern"),
    ("duration", "3s\n", "", "pattern"),
    ("duration", "+3s", "", "pattern"),
    ("duration", ".5s", "", "pattern"),
    ("duration", "315576000001s", "", "pattern"),
    ("duration", "315576000000.5s", "", "pattern"),
    ("duration", 3, "", "type"),
    ("timestamp", "2030-01-01T00:00:00", "", "pattern"),
    ("timestamp", "2030-01-01 00:00:00Z", "", "pattern"),
    ("timestamp", "2030-01-01T00:00:00.1234567890Z", "", "pattern"),
    ("timestamp", "2030-13-01T00:00:00Z", "", "pattern"),
    ("timestamp", "2030-01-01T00:00:60Z", "", "pattern"),
    ("timestamp", "0000-01-01T00:00:00Z", "", "pattern"),
    ("any", {}, "", "required"),
    ("any", {"@type": "Struct"}, "/@type", "pattern"),
    ("any", {"@type": "type.googleapis.com/ google.X"}, "/@type", "pattern"),
    ("any", {"@type": 7}, "/@type", "type"),
    ("any", [], "", "type"),
    ("any", {"@type": T + "google.protobuf.Duration"}, "", "required"),
    ("any", {"@type": T + "google.protobuf.Duration", "value": "1.5"}, "/value", "pattern"),
    ("any", {"@type": T + "google.protobuf.Duration", "value": "1s", "x": 1}, "", "additionalProperties"),
    ("any", {"@type": T + "google.protobuf.Timestamp", "value": "yesterday"}, "/value", "pattern"),
    ("any", {"@type": T + "google.protobuf.Struct", "value": []}, "/value", "type"),
    ("any", {"@type": T + "google.protobuf.Struct", "state": "RUNNING"}, "", "required"),
    ("any", {"@type": T + "google.protobuf.ListValue", "value": {}}, "/value", "type"),
    ("any", {"@type": T + "google.protobuf.FieldMask", "value": ["a"]}, "/value", "type"),
    ("any", {"@type": T + "google.protobuf.BoolValue", "value": "true"}, "/value", "type"),
    ("any", {"@type": T + "google.protobuf.Int32Value", "value": 2**31}, "/value", "maximum"),
    ("any", {"@type": T + "google.protobuf.Int64Value", "value": "1.5"}, "/value", "pattern"),
    ("any", {"@type": T + "google.protobuf.UInt32Value", "value": -1}, "/value", "minimum"),
    ("any", {"@type": T + "google.protobuf.Empty", "value": {}}, "", "additionalProperties"),
    ("any", {"@type": T + "google.protobuf.Any", "value": {"size": 1}}, "/value", "required"),
    ("error-details", {"@type": T + "google.rpc.RetryInfo", "retryDelay": "1.5"}, "/retryDelay", "pattern"),
    ("error-details", info(reasons="R"), "", "additionalProperties"),
    ("error-details", info(metadata={"n": 1}), "/metadata/n", "type"),
    (
        "error-details",
        {"@type": T + "google.rpc.BadRequest", "fieldViolations": [{"field_name": "x"}]},
        "/fieldViolations/0",
        "additionalProperties",
    ),
    (
        "error-details",
        {
            "@type": T + "google.rpc.BadRequest",
            "fieldViolations": [
                {"localizedMessage": {"@type": T + "google.rpc.LocalizedMessage", "locale": "en"}}
            ],
        },
        "/fieldViolations/0/localizedMessage/@type",
        "not",
    ),
    (
        "error-details",
        {"@type": T + "google.rpc.QuotaFailure", "violations": [{"quotaValue": "ten"}]},
        "/violations/0/quotaValue",
        "pattern",
    ),
    ("error-details", {"@type": T + "google.rpc.Help", "links": {"url": "x"}}, "/links", "type"),
    ("error-details", {"reason": "R"}, "", "required"),
    ("status", {"code": 5, "message": "m", "status": "NOT_FOUND"}, "", "additionalProperties"),
    ("status", {"code": "x"}, "/code", "type"),
    ("status", {"code": 2**31}, "/code", "maximum"),
    ("status", {"details": [{"reason": "R"}]}, "/details/0", "required"),
    ("status", {"details": info()}, "/details", "type"),
    ("operation", {"name": OP, "response": EMPTY}, "/response", "not"),
    ("operation", {"name": OP, "done": False, "response": EMPTY}, "/response", "not"),
    ("operation", {"name": OP, "done": False, "error": CANCELLED}, "/error", "not"),
    ("operation", {"name": OP, "done": True, "error": CANCELLED, "response": EMPTY}, "/response", "not"),
    ("operation", {"name": OP, "state": "RUNNING"}, "", "additionalProperties"),
    ("operation", {"name": OP, "done": "true"}, "/done", "type"),
    ("operation", {"name": 7}, "/name", "type"),
    ("operation", {"name": OP, "metadata": {"state": "RUNNING"}}, "/metadata", "required"),
    ("operation", {"name": OP, "done": True, "response": {}}, "/response", "required"),
    ("operation", {"name": OP, "done": True, "error": {"code": "x"}}, "/error/code", "type"),
    (
        "operation",
        {"name": OP, "done": True, "error": {**CANCELLED, "status": "CANCELLED"}},
        "/error",
        "additionalProperties",
    ),
    (
        "operation",
        {
            "name": OP,
            "done": True,
            "error": {"code": 8, "details": [{"@type": T + "google.rpc.RetryInfo", "retryDelay": "1.5"}]},
        },
        "/error/details/0/retryDelay",
        "pattern",
    ),
    (
        "operation",
        {"name": OP, "done": True, "error": {"code": 3, "details": [info(), {}]}},
        "/error/details/1",
        "required",
    ),
    (
        "list-operations-response",
        {"operations": [{"name": OP}, {"name": OP, "done": 1}]},
        "/operations/1/done",
        "type",
    ),
    ("list-operations-response", {"nextPageToken": None}, "/nextPageToken", "type"),
    ("list-operations-response", {"next_page_token": "x"}, "", "additionalProperties"),
    ("list-operations-response", {"unreachable": [1]}, "/unreachable/0", "type"),
    ("error-envelope", envelope(400, "NOT_FOUND"), "/error", "anyOf"),
    ("error-envelope", envelope(404, "INVALID_ARGUMENT"), "/error", "anyOf"),
    ("error-envelope", envelope(200, "OK"), "/error/status", "enum"),
    ("error-envelope", envelope(404, "not_found"), "/error/status", "enum"),
    ("error-envelope", envelope("404", "NOT_FOUND"), "/error/code", "type"),
    ("error-envelope", {"error": {"code": 404, "status": "NOT_FOUND"}}, "/error", "required"),
    ("error-envelope", envelope(404, "NOT_FOUND", errors=[]), "/error", "additionalProperties"),
    ("error-envelope", {**envelope(404, "NOT_FOUND"), "status": 404}, "", "additionalProperties"),
    ("error-envelope", envelope(404, "NOT_FOUND", details=[{"reason": "R"}]), "/error/details/0", "required"),
    ("error-envelope", {}, "", "required"),
    ("cancel-operation-request", {"name": OP, "force": True}, "", "additionalProperties"),
    ("cancel-operation-request", {"name": 1}, "/name", "type"),
    ("cancel-operation-request", [], "", "type"),
    ("wait-operation-request", {"timeout": "1.5"}, "/timeout", "pattern"),
    ("wait-operation-request", {"timeout": 30}, "/timeout", "type"),
    ("wait-operation-request", {"deadline": "3s"}, "", "additionalProperties"),
    ("empty", {"a": 1}, "", "maxProperties"),
    ("empty", None, "", "type"),
]


@pytest.mark.parametrize(
    ("name", "document", "pointer", "keyword"),
    INVALID,
    ids=[f"{n}-{i}" for i, (n, *_) in enumerate(INVALID)],
)
def test_invalid_documents(schemas: Schemas, name: str, document: object, pointer: str, keyword: str) -> None:
    with pytest.raises(SchemaViolation) as caught:
        schemas.validate(name, document)
    violation = caught.value
    assert (violation.pointer, violation.rule.split(" ")[0]) == (pointer, keyword)
    assert violation.schema == name
    assert any(found.pointer == pointer for found in schemas.errors(name, document))


# -- the violation ---------------------------------------------------------------------------------


def test_violation_reads_as_title_schema_pointer_and_message(schemas: Schemas) -> None:
    with pytest.raises(SchemaViolation) as caught:
        schemas.validate("operation", {"name": OP, "done": True, "error": {"code": "x"}})
    violation = caught.value
    assert isinstance(violation, ValueError)
    assert str(violation) == (
        "Operation violates operation.schema.json at /error/code: 'x' is not of type 'integer'"
    )
    assert violation.message == "'x' is not of type 'integer'"
    # The rule names the file that holds it, followed through the $ref from operation to status.
    assert violation.rule == "type at status.schema.json#/properties/code/type"


def test_violation_of_a_whole_document_says_so(schemas: Schemas) -> None:
    with pytest.raises(SchemaViolation, match=r"^Empty violates empty\.schema\.json at the document root: "):
        schemas.validate("empty", {"a": 1})


def test_rule_points_at_the_keyword_in_its_file(schemas: Schemas) -> None:
    with pytest.raises(SchemaViolation) as caught:
        schemas.validate("operation", {"name": OP, "metadata": {}})
    assert caught.value.rule == "required at any.schema.json#/required"
    rule = caught.value.rule.split(" at ", 1)[1]
    file, pointer = rule.split("#")
    assert _resolve(installed_files()[file.removesuffix(".schema.json")], pointer) == ["@type"]


def _resolve(document: Any, pointer: str) -> Any:
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def test_rules_without_a_telling_message_explain_themselves(schemas: Schemas) -> None:
    with pytest.raises(SchemaViolation) as both:
        schemas.validate("operation", {"name": OP, "done": True, "error": CANCELLED, "response": EMPTY})
    assert both.value.message == "`error` and `response` are a oneof: an Operation never carries both."
    assert both.value.rule == "not at operation.schema.json#/allOf/0/then/properties/response/not"
    with pytest.raises(SchemaViolation) as pair:
        schemas.validate("error-envelope", envelope(404, "INVALID_ARGUMENT"))
    assert pair.value.message.startswith("`code` must be the HTTP status AIP-193 pairs with `status`: ")
    assert "INVALID_ARGUMENT 400" in pair.value.message


def test_pointers_escape_tilde_and_slash(schemas: Schemas) -> None:
    document = info(metadata={"a/b~c": 1})
    with pytest.raises(SchemaViolation) as caught:
        schemas.validate("error-details", document)
    assert caught.value.pointer == "/metadata/a~1b~0c"


def test_errors_lists_every_fault_in_document_order(schemas: Schemas) -> None:
    details = [info(metadata={"k": 1}) for _ in range(11)]
    document = {"name": 1, "done": "no", "error": {"code": "x", "details": details}, "extra": 0}
    pointers = [violation.pointer for violation in schemas.errors("operation", document)]
    expected_details = [f"/error/details/{index}/metadata/k" for index in range(11)]
    assert pointers == ["", "/done", "/error", "/error/code", *expected_details, "/name"]


def test_unknown_schema_names_the_known_ones(schemas: Schemas) -> None:
    for call in (schemas.validate, schemas.errors):
        with pytest.raises(KeyError, match="no schema named 'operations'; the schemas are: any, "):
            call("operations", {})
    with pytest.raises(KeyError, match="error-envelope"):
        schemas.document("envelope")


def test_document_is_a_copy_of_the_file(schemas: Schemas) -> None:
    document = schemas.document("operation")
    assert document == installed_files()["operation"]
    document["additionalProperties"] = True
    with pytest.raises(SchemaViolation):
        schemas.validate("operation", {"extra": 1})


def test_schemas_own_their_documents() -> None:
    documents = installed_files()
    schemas = Schemas(documents)
    documents["operation"]["additionalProperties"] = True
    assert schemas.source == "<memory>"
    with pytest.raises(SchemaViolation):
        schemas.validate("operation", {"extra": 1})


def test_validators_are_built_once(schemas: Schemas, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a validator was built while validating")

    monkeypatch.setattr(schemas_module, "Draft202012Validator", refuse)
    schemas.validate("operation", {"name": OP})
    assert schemas.errors("operation", {"name": 1})


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every reference jsonschema's own ``$ref`` keyword is asked to check, in order."""
    refs: list[str] = []
    real = schemas_module._REF

    def counting(validator: Any, ref: str, instance: Any, schema: Any) -> Any:
        refs.append(ref)
        return real(validator, ref, instance, schema)

    monkeypatch.setattr(schemas_module, "_REF", counting)
    return refs


def test_a_payload_a_whole_file_accepted_is_remembered(checked: list[str]) -> None:
    """The file-level memo: a second document carrying the same payloads does not descend into any.schema.json."""
    schemas = Schemas(installed_files(), check=False)
    payload = {"@type": T + "google.protobuf.Duration", "value": "1.5s"}
    schemas.validate("operation", {"name": OP, "metadata": STRUCT, "response": payload, "done": True})
    assert checked.count("any.schema.json") == 2
    schemas.validate("operation", {"name": OP + "-2", "metadata": payload})
    assert checked.count("any.schema.json") == 2  # answered from the memo


def test_a_rejected_payload_is_checked_and_reported_every_time(checked: list[str]) -> None:
    schemas = Schemas(installed_files(), check=False)
    bad = {"name": OP, "metadata": {"@type": T + "google.protobuf.Duration", "value": "soon"}}
    for round_ in (1, 2):
        with pytest.raises(SchemaViolation) as raised:
            schemas.validate("operation", bad)
        assert raised.value.pointer == "/metadata/value"
        assert raised.value.rule == "pattern at duration.schema.json#/pattern"
        assert checked.count("any.schema.json") == round_


def test_the_memo_finds_what_plain_jsonschema_finds() -> None:
    """Every fault a plain 2020-12 validator over the same registry finds, across files, and no other."""
    documents = installed_files()
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], DRAFT202012.create_resource(doc)) for doc in documents.values()
    )
    plain = Draft202012Validator(documents["operation"], registry=registry)
    bad = {
        "name": 1,
        "done": "yes",
        "metadata": {"@type": T + "google.protobuf.Duration", "value": "soon"},
        "error": {"code": "x", "details": [info(reason=3)]},
    }
    schemas = Schemas(documents, check=False)
    schemas.validate("operation", {"name": OP, "metadata": STRUCT})  # something remembered first
    expected = {"".join(f"/{part}" for part in error.absolute_path) for error in plain.iter_errors(bad)}
    assert {violation.pointer for violation in schemas.errors("operation", bad)} == expected
    assert len(expected) == 6


def test_validation_reaches_jsonschema_only_through_public_names() -> None:
    """No ``validator._validate_reference`` or ``jsonschema._keywords``: private names change without notice."""
    tree = ast.parse(Path(schemas_module.__file__).read_text(encoding="utf-8"))
    private = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _private(node.attr)
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    private += [
        f"line {node.lineno}: from {node.module} import ..."
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and any(map(_private, node.module.split(".")))
    ]
    assert private == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


# -- loading ---------------------------------------------------------------------------------------


def test_schemas_are_loaded_from_the_installed_package() -> None:
    """From the package's own ``schemas`` folder: in a wheel a copy, in a development install the repository's."""
    schemas = Schemas.load()
    source = Path(schemas.source)
    package = Path(lro_emulator.__file__).parent
    assert source == package / "schemas"
    assert schemas.names == NAMES
    assert {path.name for path in source.glob("*.schema.json")} == {f"{name}.schema.json" for name in NAMES}
    for name in NAMES:
        assert (source / f"{name}.schema.json").read_bytes() == (REPO / "schemas" / f"{name}.schema.json").read_bytes()


def test_load_schemas_reads_the_package_once() -> None:
    first = load_schemas()
    assert load_schemas() is first
    assert isinstance(first, Schemas)
    assert first.names == NAMES
