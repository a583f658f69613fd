"""Helpers for tests that read rendered manifests: render a spec and parse every object back."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from unhazzle.compiler.pipeline import compile_file, compile_text
from unhazzle.compiler.rendering.render import render_plan

# The Kubernetes version whose OpenAPI schemas the rendered objects must satisfy: the one the
# local control plane runs (tests/cluster, v1.35.x); kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.35.0"


def render_file(spec: Path) -> dict[str, str]:
    return render_plan(compile_file(spec).plan)


def render_text(text: str) -> dict[str, str]:
    return render_plan(compile_text(text).plan)


def objects(files: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(file, object) for every object in every rendered file, parsed by a second YAML parser."""
    found = []
    for rel, text in files.items():
        for doc in yaml.safe_load_all(text):
            assert isinstance(doc, dict), f"{rel}: a document that is not an object: {doc!r}"
            found.append((rel, doc))
    return found


def ident(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def rendered(spec: str, edit: Callable[[str, dict[str, Any]], None]) -> str:
    """The spec rendered by unhazzle, `edit(app, template)` applied to each app's instance template."""
    docs: list[dict[str, Any]] = []
    for text in render_plan(compile_text(spec).plan).values():
        for doc in YAML(typ="safe").load_all(text):
            if doc["kind"] == "Deployment":
                edit(doc["metadata"]["name"], doc["spec"]["template"])
            docs.append(doc)
    docs.sort(key=lambda d: d["kind"] != "Namespace")
    out = io.StringIO()
    YAML().dump_all(docs, out)
    return out.getvalue()
