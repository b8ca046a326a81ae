"""The profiles serve every Operations binding the services publish, read again from the installed libraries.

The tables in ``src/lro_emulator/wire/bindings`` were written by ``python -m tests.published --write``; these tests
read the same definitions from whatever versions are installed now and fail on any binding a profile lacks, naming
it, so that a newer client library that binds a new collection is noticed (write the tables again).
"""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from lro_emulator import PROFILES, Emulator

from . import published

pytest.importorskip("google.cloud.aiplatform_v1")


@pytest.fixture(scope="module")
def tables() -> dict[str, published.Table]:
    return {profile: table["bindings"] for profile, table in published.published().items()}


@pytest.mark.parametrize("profile", ["vertex", "earthengine", "cancel-get-list"])
def test_the_profile_has_every_binding_its_service_publishes(tables: dict[str, published.Table], profile: str) -> None:
    served = PROFILES[profile].bindings
    assert served is not None
    missing = [f"{rpc}: {text}" for rpc, texts in tables[profile].items() for text in texts
               if text not in served.get(rpc, ())]
    assert not missing, f"the {profile} profile lacks {len(missing)} published bindings: {missing[:10]}"


def test_the_vertex_table_holds_the_generated_clients_bindings_in_their_order() -> None:
    """The generated clients list /ui/ first; a client transcodes with the first that matches, so order matters."""
    client = published.gapic_bindings("google.cloud.aiplatform_v1")
    served = PROFILES["vertex"].bindings
    assert served is not None
    for rpc, texts in client.items():
        positions = [served[rpc].index(text) for text in texts]
        assert positions == sorted(positions), rpc
    assert client["GetOperation"][0] == "GET /ui/{name=projects/*/locations/*/operations/*}"


@pytest.mark.parametrize("profile", ["vertex", "earthengine", "cancel-get-list"])
def test_every_published_binding_routes_to_its_method(tables: dict[str, published.Table], profile: str) -> None:
    """Each binding, with its variable filled in, reaches the RPC it binds (not some other the path also fits)."""
    routes = PROFILES[profile].routes
    assert routes is not None
    for rpc, texts in tables[profile].items():
        for text in texts:
            method, template = text.split(" ", 1)
            path = _filled(template)
            found = routes.match(method, path)
            assert found is not None, text
            assert found[1] == rpc, (text, found)


def test_a_vertex_operation_is_reachable_at_every_prefix_the_clients_use() -> None:
    """/ui (the generated clients), /v1 and /v1beta1 (discovery and hand-written clients) serve the same operation."""
    emu = Emulator(profile="vertex")
    op = emu.add_operation("projects/p/locations/us-central1/datasets/d/dataItems/i/operations/op-1")
    op.succeed()
    client = Client(emu.wsgi_app)
    for prefix in ("ui", "v1", "v1beta1"):
        response = client.get(f"/{prefix}/{op.name}")
        assert (response.status_code, response.get_json()["done"]) == (200, True), prefix
    unpublished = client.get(f"/v2/{op.name}")
    assert unpublished.status_code == 404
    assert "the vertex profile serves the" in unpublished.get_json()["error"]["message"]


@pytest.mark.parametrize("profile", ["vertex", "earthengine", "cancel-get-list"])
def test_a_name_beyond_ascii_is_reached_at_its_published_binding(profile: str) -> None:
    emu = Emulator(profile=profile)
    op = emu.add_operation(parent=emu.profile.default_parent)
    renamed = emu.add_operation(op.name.rsplit("/", 1)[0] + "/évaluation-日本")
    version = next(iter(emu.profile.bindings["GetOperation"])).split("/")[1] if emu.profile.bindings else "v1"

    response = Client(emu.wsgi_app).get(f"/{version}/{renamed.name}")

    assert (response.status_code, response.get_json()["name"]) == (200, renamed.name)
    assert [call.name for call in emu.calls] == [renamed.name]


def _filled(template: str) -> str:
    """A path for a template: each ``*`` a segment, each ``**`` two."""
    path = template.replace("{name=", "").replace("}", "")
    return path.replace("**", "a/b").replace("*", "x")


@pytest.mark.parametrize(("api", "version", "profile"), [
    ("aiplatform", "v1", "vertex"), ("aiplatform", "v1beta1", "vertex"), ("ml", "v1", "cancel-get-list"),
])
def test_the_served_discovery_document_has_every_operations_method_of_the_real_one(
    api: str, version: str, profile: str
) -> None:
    """googleapiclient users call the resources the real document has: each is served, with its path and pattern.

    Vertex AI's document also has ``listWait`` methods (ListOperations bound to ``GET .../operations/*:wait``); the
    route is served, as the service publishes it, but the served document does not describe it.
    """
    real = {method["id"]: method for method in published._operations_methods(
        published.static_discovery_document(api, version)["resources"]) if not method["id"].endswith(".listWait")}
    emu = Emulator(profile=profile)
    served_document = Client(emu.wsgi_app).get(f"/discovery/v1/apis/{api}/{version}/rest").get_json()
    served = {method["id"]: method for method in published._operations_methods(served_document["resources"])}

    assert set(real) <= set(served), sorted(set(real) - set(served))[:10]
    for method_id, method in real.items():
        mine = served[method_id]
        assert (mine["httpMethod"], mine["path"]) == (method["httpMethod"], method["path"]), method_id
        pattern = method.get("parameters", {}).get("name", {}).get("pattern")
        assert mine.get("parameters", {}).get("name", {}).get("pattern") == pattern, method_id
