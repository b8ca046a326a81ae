"""The Operations bindings real services publish, read from the definitions their client libraries ship.

Each profile's table (``src/lro_emulator/wire/bindings/<profile>.json``) is written from these readers, and
``tests/test_published_bindings.py`` reads them again from the installed libraries and fails on any binding a
profile lacks. Regenerate the tables after upgrading a client library::

    python -m tests.published --write

The sources (the profiles reference, docs/reference/profiles.md, says the same):

- ``vertex``: the generated clients of google-cloud-aiplatform (``aiplatform_v1`` and ``aiplatform_v1beta1``), whose
  REST transports list every binding of the Operations mixin (``/ui/...`` first, then ``/v1/...``), then the
  discovery documents ``aiplatform.v1`` and ``aiplatform.v1beta1`` that google-api-python-client ships (the global
  ``operations/*`` and the top-level collections that googleapiclient users call);
- ``earthengine``: Earth Engine's discovery document as earthengine-api ships it, for each version the REST
  reference documents (v1, v1beta, v1alpha: the same methods and names under each);
- ``cancel-get-list``: the discovery documents of AI Platform Training & Prediction (``ml`` v1) and Dialogflow ES
  (``dialogflow`` v2), as google-api-python-client ships them: services whose operations offer only cancel, get
  and list.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import pathlib
import pkgutil
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from lro_emulator.wire.profiles import RPCS  # internal: the tables list the RPCs in the package's order

#: Discovery method names of the RPCs.
DISCOVERY_METHODS = {"get": "GetOperation", "list": "ListOperations", "cancel": "CancelOperation",
                     "delete": "DeleteOperation", "wait": "WaitOperation"}
TABLES = pathlib.Path(__file__).resolve().parents[1] / "src" / "lro_emulator" / "wire" / "bindings"

Table = dict[str, list[str]]


def gapic_bindings(package: str) -> Table:
    """Every Operations binding the REST transports of a generated package list, in their order.

    Each service's ``transports/rest_base.py`` holds the mixin's bindings as ``_Base<Rpc>._get_http_options()``;
    the services of one package share them, and the union keeps the first service's order.
    """
    services = importlib.import_module(f"{package}.services")
    table: Table = {rpc: [] for rpc in RPCS}
    for service in sorted(module.name for module in pkgutil.iter_modules(services.__path__)):
        try:
            base = importlib.import_module(f"{package}.services.{service}.transports.rest_base")
        except ImportError:  # a service with no REST transport
            continue
        (transport,) = [value for name, value in vars(base).items()
                        if name.startswith("_Base") and name.endswith("RestTransport")]
        for rpc in RPCS:
            mixin = getattr(transport, f"_Base{rpc}", None)
            if mixin is None:
                continue
            for option in mixin._get_http_options():
                _add(table[rpc], f"{option['method'].upper()} {option['uri']}")
    return table


def discovery_bindings(document: dict[str, Any], version: str | None = None) -> Table:
    """Every Operations binding of a discovery document: its ``operations`` resources' methods.

    A method's ``path`` (``v1/{+name}:cancel``) with its ``name`` parameter's ``pattern``
    (``^projects/[^/]+/operations/.+$``) is the rule ``POST /v1/{name=projects/*/operations/**}:cancel``.
    ``version`` puts another version in place of the document's.
    """
    table: Table = {rpc: [] for rpc in RPCS}
    for method in _operations_methods(document.get("resources", {})):
        rpc = DISCOVERY_METHODS.get(method["id"].rsplit(".", 1)[-1])
        if rpc is None:
            continue
        path = method["path"]
        if version is not None:
            path = re.sub(r"^[^/]+", version, path)
        pattern = method.get("parameters", {}).get("name", {}).get("pattern")
        if "{+name}" in path:
            if pattern is None:
                raise ValueError(f"{method['id']}: no pattern for name")
            path = path.replace("{+name}", "{name=" + template_of(pattern) + "}")
        _add(table[rpc], f"{method['httpMethod']} /{path}")
    return table


def template_of(pattern: str) -> str:
    """A discovery ``pattern`` as a path template: ``^projects/[^/]+/operations/.+$`` is
    ``projects/*/operations/**``."""
    segments = []
    for part in pattern.removeprefix("^").removesuffix("$").replace("[^/]+", "*").split("/"):
        if part == "*":
            segments.append("*")
        elif part in (".+", ".*"):
            segments.append("**")
        elif re.fullmatch(r"[A-Za-z0-9_.~-]+", part):
            segments.append(part)
        else:
            raise ValueError(f"{pattern!r}: {part!r} is no path segment")
    return "/".join(segments)


def _operations_methods(resources: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for name, resource in resources.items():
        if name == "operations":
            yield from resource.get("methods", {}).values()
        yield from _operations_methods(resource.get("resources", {}))


def merged(tables: Iterable[Table]) -> Table:
    """The union of tables, each binding once, in the order first seen."""
    result: Table = {rpc: [] for rpc in RPCS}
    for table in tables:
        for rpc in RPCS:
            for text in table.get(rpc, ()):
                _add(result[rpc], text)
    return {rpc: texts for rpc, texts in result.items() if texts}


def _add(texts: list[str], text: str) -> None:
    if text not in texts:
        texts.append(text)


def static_discovery_document(api: str, version: str) -> dict[str, Any]:
    """A discovery document google-api-python-client ships (``googleapiclient/discovery_cache/documents``)."""
    import googleapiclient

    folder = pathlib.Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    document: dict[str, Any] = json.loads((folder / f"{api}.{version}.json").read_text(encoding="utf-8"))
    return document


def earthengine_discovery_document() -> dict[str, Any]:
    """Earth Engine's discovery document, as earthengine-api ships it beside its own tests."""
    import ee

    path = pathlib.Path(ee.__file__).parent / "tests" / "cloud_api_discovery_document.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _version(distribution: str) -> str:
    return f"{distribution} {importlib.metadata.version(distribution)}"


def published() -> dict[str, dict[str, Any]]:
    """Each profile's table from the installed libraries: ``{profile: {"sources": [...], "bindings": Table}}``."""
    aiplatform, apiclient, ee = (_version(name) for name in (
        "google-cloud-aiplatform", "google-api-python-client", "earthengine-api"))
    earthengine = earthengine_discovery_document()
    return {
        "vertex": {
            "sources": [f"{aiplatform}: google.cloud.aiplatform_v1 and aiplatform_v1beta1, the REST transports "
                        "of the generated clients (transports/rest_base.py)",
                        f"{apiclient}: the discovery documents aiplatform.v1 and aiplatform.v1beta1"],
            "bindings": merged([
                gapic_bindings("google.cloud.aiplatform_v1"),
                gapic_bindings("google.cloud.aiplatform_v1beta1"),
                discovery_bindings(static_discovery_document("aiplatform", "v1")),
                discovery_bindings(static_discovery_document("aiplatform", "v1beta1")),
            ]),
        },
        "earthengine": {
            "sources": [f"{ee}: Earth Engine's discovery document (revision {earthengine.get('revision')}), "
                        "under each version the REST reference documents: v1, v1beta, v1alpha"],
            "bindings": merged(discovery_bindings(earthengine, version) for version in ("v1", "v1beta", "v1alpha")),
        },
        "cancel-get-list": {
            "sources": [f"{apiclient}: the discovery documents ml.v1 (AI Platform Training & Prediction) and "
                        "dialogflow.v2 (Dialogflow ES)"],
            "bindings": merged([discovery_bindings(static_discovery_document("ml", "v1")),
                                discovery_bindings(static_discovery_document("dialogflow", "v2"))]),
        },
    }


def write(folder: pathlib.Path = TABLES) -> list[pathlib.Path]:
    """Write each profile's table (one binding per line, so that a change reads as a diff)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for profile, table in published().items():
        lines = ["{", f'  "profile": {json.dumps(profile)},', '  "sources": [']
        lines.append(",\n".join(f"    {json.dumps(source)}" for source in table["sources"]))
        lines += ["  ],", '  "bindings": {']
        groups = []
        for rpc, texts in table["bindings"].items():
            body = ",\n".join(f"      {json.dumps(text)}" for text in texts)
            groups.append(f'    "{rpc}": [\n{body}\n    ]')
        lines += [",\n".join(groups), "  }", "}"]
        path = folder / f"{profile}.json"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        json.loads(path.read_text(encoding="utf-8"))  # what was written reads back
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help=f"write the tables to {TABLES}")
    arguments = parser.parse_args(argv)
    if arguments.write:
        for path in write():
            print(path)
    else:
        json.dump(published(), sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
