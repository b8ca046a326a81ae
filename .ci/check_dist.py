"""Check what a release ships: the sdist and the wheel built from it carry the schemas, the profiles' binding
tables and the plugin, once each.

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
bindings = {path.name: path.read_bytes() for path in (repo / "src/lro_emulator/wire/bindings").glob("*.json")}
assert bindings, "no binding tables in src/lro_emulator/wire/bindings"

[sdist] = dist.glob("*.tar.gz")
with tarfile.open(sdist) as tar:
    names = [member.name.split("/", 1)[1] for member in tar.getmembers() if member.isfile() or member.issym()]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"the sdist holds files twice: {twice}"
    shipped = {name.rsplit("/", 1)[1] for name in names if name.startswith("src/lro_emulator/schemas/")}
    assert shipped == set(schemas), f"the sdist's src/lro_emulator/schemas holds {sorted(shipped)}"

[wheel] = dist.glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    for name, content in schemas.items():
        assert archive.read(f"lro_emulator/schemas/{name}") == content, f"the wheel's {name} differs from schemas/"
    assert archive.read("lro_emulator/conftest_plugin.py") == plugin, "the wheel's plugin differs"
    for name, content in bindings.items():
        assert archive.read(f"lro_emulator/wire/bindings/{name}") == content, f"the wheel's {name} differs"
    files = archive.namelist()
    assert len(files) == len(set(files)), "the wheel holds files twice"
print(f"{sdist.name} and {wheel.name}: {len(schemas)} schemas, {len(bindings)} binding tables and the plugin, "
      "once each")
