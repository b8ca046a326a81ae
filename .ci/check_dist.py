"""Check what a release ships: the sdist and the wheel built from it carry the schemas, the profiles' binding
tables, the plugin and the licence, once each.

Usage: ``python .ci/check_dist.py DIST`` after ``python -m build --outdir DIST .`` (which builds the sdist, then
the wheel from the sdist).
"""

import pathlib
import sys
import tarfile
import zipfile

repo = pathlib.Path(__file__).resolve().parents[1]
dist = pathlib.Path(sys.argv[1])
schemas = {path.name: path.read_bytes() for path in (repo / "schemas").iterdir() if path.suffix == ".json"}
plugin = (repo / "conftest_plugin.py").read_bytes()
# The Apache License 2.0 requires every redistribution to carry a copy: the sdist at its root, the wheel in its
# metadata (PEP 639: .dist-info/licenses/, named by a License-File field).
licence = (repo / "LICENSE").read_bytes()
bindings = {path.name: path.read_bytes() for path in (repo / "src/lro_emulator/wire/bindings").glob("*.json")}
assert bindings, "no binding tables in src/lro_emulator/wire/bindings"

[sdist] = dist.glob("*.tar.gz")
with tarfile.open(sdist) as tar:
    names = [member.name.split("/", 1)[1] for member in tar.getmembers() if member.isfile() or member.issym()]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"the sdist holds files twice: {twice}"
    shipped = {name.rsplit("/", 1)[1] for name in names if name.startswith("src/lro_emulator/schemas/")}
    assert shipped == set(schemas), f"the sdist's src/lro_emulator/schemas holds {sorted(shipped)}"
    assert "LICENSE" in names, "the sdist has no LICENSE at its root"
    root = tar.getmembers()[0].name.split("/", 1)[0]
    member = tar.extractfile(f"{root}/LICENSE")
    assert member is not None, "the sdist's LICENSE is not a file"
    assert member.read() == licence, "the sdist's LICENSE differs from the repository's"

[wheel] = dist.glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    for name, content in schemas.items():
        assert archive.read(f"lro_emulator/schemas/{name}") == content, f"the wheel's {name} differs from schemas/"
    assert archive.read("lro_emulator/conftest_plugin.py") == plugin, "the wheel's plugin differs"
    for name, content in bindings.items():
        assert archive.read(f"lro_emulator/wire/bindings/{name}") == content, f"the wheel's {name} differs"
    files = archive.namelist()
    [info] = [name for name in files if name.endswith(".dist-info/METADATA")]
    metadata = archive.read(info).decode()
    assert "License-File: LICENSE" in metadata.splitlines(), "the wheel's METADATA names no License-File: LICENSE"
    assert archive.read(info.replace("METADATA", "licenses/LICENSE")) == licence, "the wheel's LICENSE differs"
    assert len(files) == len(set(files)), "the wheel holds files twice"
print(f"{sdist.name} and {wheel.name}: {len(schemas)} schemas, {len(bindings)} binding tables, the plugin and the "
      "licence, once each")
