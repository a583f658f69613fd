"""The index lists every object of the rendered files, read from the first lines the templates
write for each; any file of another shape is parsed whole, and both ways give the same list."""

from __future__ import annotations

from typing import Any

import yaml

from bench.render import generated_spec
from tests.compiler.spec.test_jobs_spec import JOBS
from tests.conftest import EXAMPLES
from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.publishing import index
from unhazzle.compiler.rendering.render import render_plan


def _parsed(files: dict[str, str]) -> list[dict[str, Any]]:
    refs = [
        index._object_ref(name, doc)
        for name, text in files.items()
        for doc in yaml.safe_load_all(text)
        if doc is not None
    ]
    return sorted(refs, key=lambda o: (o["file"], o["kind"], o["namespace"], o["name"]))


def _rendered(text: str) -> dict[str, str]:
    return render_plan(compile_text(text).plan)


def test_every_rendered_file_is_read_from_its_headers_and_matches_a_full_parse() -> None:
    for spec in ((EXAMPLES / "shop" / "unhazzle.yaml").read_text(), generated_spec(40), JOBS):
        files = _rendered(spec)
        assert all(index._as_rendered(name, text) is not None for name, text in files.items())
        assert index.list_objects(files) == _parsed(files)


def test_a_setting_that_looks_like_another_object_stays_a_setting() -> None:
    hostile = '"x\\n---\\napiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: \\"stolen\\"\\n"'
    spec = (EXAMPLES / "shop" / "unhazzle.yaml").read_text()
    files = _rendered(spec.replace("LOG_LEVEL: info", f"LOG_LEVEL: {hostile}", 1))
    objects = index.list_objects(files)
    assert objects == _parsed(files)
    assert not [o for o in objects if o["name"] == "stolen"]


def test_a_block_scalar_holding_dashes_is_one_object() -> None:
    files = {
        "block.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "a"\ndata:\n  x: |\n    ---\n'
    }
    assert index.list_objects(files) == _parsed(files)


def test_files_of_other_shapes_are_parsed_whole() -> None:
    files = {
        "flow.yaml": "{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
        "leading.yaml": '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "c"\n',
        "plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n",
        "escaped.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "e\\x41"\n  labels:\n',
        "typed.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "123"\n  namespace: "x\u2028"\n  labels:\n',
        "late.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "f"\n  labels: {}\n  namespace: "g"\n',
    }
    for name, text in files.items():
        assert index._as_rendered(name, text) is None, name
    assert index.list_objects(files) == _parsed(files)
    assert [o["name"] for o in index.list_objects({"escaped.yaml": files["escaped.yaml"]})] == ["eA"]
