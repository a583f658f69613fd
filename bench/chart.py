"""The Helm peer of `unhazzle render`: bench/helmchart (Unhazzle's templates written as a chart)
filled with the values Unhazzle's own templates receive, and a check that both wrote the same
objects, field for field, before either is timed.

The values are the plan's per-app views (sizing already done): what a team writing the chart by
hand would keep in values.yaml. So helm is timed on templating alone, and Unhazzle on loading,
validating, sizing, pricing and templating: the comparison favours helm.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bench.peers import PeerFailed
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering import render
from unhazzle.compiler.rules.cluster import cluster_settings

CHART = Path(__file__).resolve().parent / "helmchart"


def write_values(spec: Path, environment: str, target: Path) -> None:
    """values.json for the chart: the environment's view and every app's, as render sees them."""
    plan = compile_file(spec).plan
    env = next(e for e in plan.environments if e.name == environment)
    if env.jobs or any(app.release for app in env.apps):
        raise ValueError("the chart covers apps and the environment; this spec has jobs or releases")
    settings = cluster_settings()
    values = {
        "env": render._env_view(plan, env, settings),
        "apps": [render._app_view(plan, env, app) for app in env.apps],
    }
    target.write_text(json.dumps(values, default=_plain), encoding="utf-8")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} in the values")


def helm_argv(helm: Path, values: Path) -> list[str]:
    return [str(helm), "template", "bench", str(CHART), "-f", str(values)]


def same_objects(rendered: Path, helm: Path, values: Path) -> int:
    """Check helm's output holds exactly the objects Unhazzle wrote into *rendered*; their count.
    Raises PeerFailed with the first difference."""
    try:
        out = subprocess.run(helm_argv(helm, values), check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as exc:
        raise PeerFailed(f"helm template failed: {exc.stderr.strip()}") from exc
    theirs = _by_identity(yaml.load_all(out, Loader=yaml.CSafeLoader))
    ours = _by_identity(
        doc
        for path in sorted(rendered.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    )
    if ours.keys() != theirs.keys():
        missing, extra = sorted(ours.keys() - theirs.keys()), sorted(theirs.keys() - ours.keys())
        raise PeerFailed(f"helm's objects differ: missing {missing[:3]}, extra {extra[:3]}")
    for key, obj in ours.items():
        if obj != theirs[key]:
            raise PeerFailed(f"helm's {key} differs:\n ours   {obj}\n theirs {theirs[key]}")
    return len(ours)


def _by_identity(docs: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in docs:
        if doc:
            meta = doc["metadata"]
            key = (doc["kind"], meta.get("namespace", ""), meta["name"])
            if key in out:
                raise PeerFailed(f"{key} is written twice")
            out[key] = doc
    if not out:
        raise PeerFailed("no objects written")
    return out
