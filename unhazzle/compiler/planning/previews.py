"""A preview environment's spec, made from the project's: one environment, `NAME`, badged preview,
that copies `previews.from` (its settings, its apps' overrides) for the apps previews run, at the
preview's size, with the secrets previews may have. The pipeline compiles it like any spec.

What a preview leaves out it reaches in the copied environment: `${apps.X.url}` of an app it
does not run is that app's address there (whose environment admits previews, see the
`allow-previews` network policy). Scheduled jobs do not run in previews; custom domains stay with
the environments that own them. Pure: data in, data out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from unhazzle.compiler.planning.plan import APP_REF, EnvPlan
from unhazzle.compiler.spec.model import Previews, Spec
from unhazzle.compiler.spec.positions import Positions

CPU_SHARE = 0.25  # CPU is compressible: a quarter slows a preview, never breaks it; memory is kept
MIN_CPU = 0.05


@dataclass(frozen=True)
class PreviewSpec:
    data: dict[str, Any]
    positions: Positions
    apps: list[str]  # the apps the preview runs
    reached: dict[str, str]  # app -> its address in the copied environment, for those it leaves out
    withheld: dict[str, list[str]] = field(default_factory=dict)  # app -> secrets it does not get
    secrets: list[str] = field(default_factory=list)  # the secrets it gets


def included_apps(spec: Spec) -> list[str]:
    previews = spec.previews
    chosen = previews.apps if previews and previews.apps else list(spec.apps)
    return [a for a in spec.apps if a in chosen]


def allowed_secrets(spec: Spec, source_badge: str) -> set[str] | None:
    """The copied environment's secrets a preview gets (None: all of them)."""
    previews = spec.previews
    if previews is not None and previews.secrets is not None:
        return set(previews.secrets)
    return set() if source_badge == "production" else None


def preview_spec(
    data: dict[str, Any], positions: Positions, spec: Spec, source: EnvPlan, name: str
) -> PreviewSpec:
    """The spec of preview `name`: `data` is the project's loaded spec, `source` the plan of
    the environment it copies."""
    previews = spec.previews
    assert previews is not None  # the command checks that the spec has previews
    apps = included_apps(spec)
    reached = {
        plan.name: plan.internal_url for plan in source.apps if plan.name not in apps and plan.internal_url
    }
    refs = _refs(source, apps)
    allowed = allowed_secrets(spec, source.badge)
    env_data = copy.deepcopy(_dict(_dict(data.get("environments")).get(previews.from_)))
    overrides = _dict(env_data.get("apps"))
    out_apps, out_overrides, withheld, given = {}, {}, {}, set()
    for plan in source.apps:
        if plan.name not in apps:
            continue
        base = copy.deepcopy(_dict(_dict(data.get("apps")).get(plan.name)))
        over = copy.deepcopy(_dict(overrides.get(plan.name)))
        over.pop("domains", None)  # the copied environment's own addresses stay its own
        for part in (base, over):
            _expand_refs(part, refs)
            if isinstance(part.get("after"), list):
                part["after"] = [a for a in part["after"] if a in apps]
        secrets = plan.secrets
        kept = [s for s in secrets if allowed is None or s in allowed]
        if len(kept) < len(secrets):
            withheld[plan.name] = sorted(set(secrets) - set(kept))
            _keep_secrets(base, over, spec, set(kept))
        given |= set(kept)
        # An app with a volume runs one instance, its disk attaching to one at a time: previews'
        # instances are for the apps that can run more.
        one = {"min": 1, "max": 1}
        over["instances"] = one if plan.app.volume else previews.instances.model_dump(exclude_none=True)
        over["size"] = _size(previews, plan.sizing.cpu_request, plan.sizing.memory_request_mb)
        out_apps[plan.name] = base
        out_overrides[plan.name] = over
    env_data.update(apps=out_overrides, jobs={}, badge="preview")
    env_data.pop("budget", None)  # a preview's is previews.budget, checked with its own words
    _expand_refs(env_data.setdefault("env", {}), refs)
    project_env = copy.deepcopy(_dict(data.get("env")))
    _expand_refs(project_env, refs)
    out = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("previews", "jobs", "budget")}
    out.update(environments={name: env_data}, apps=out_apps, env=project_env)
    return PreviewSpec(
        data=out,
        positions=_positions(positions, previews.from_, name),
        apps=apps,
        reached={k: v for k, v in reached.items() if v},
        withheld=withheld,
        secrets=sorted(given),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _refs(source: EnvPlan, apps: list[str]) -> dict[str, dict[str, str]]:
    """url, host and port of each app the preview leaves out, in the copied environment."""
    found = {}
    for plan in source.apps:
        if plan.name in apps or not plan.internal_url or plan.app.port is None:
            continue
        host = plan.internal_url.removeprefix("http://").rsplit(":", 1)[0]
        found[plan.name] = {"url": plan.internal_url, "host": host, "port": str(plan.app.port)}
    return found


def _expand_refs(part: dict[str, Any], refs: dict[str, dict[str, str]]) -> None:
    """`${apps.X.url|host|port}` of an app left out, written out as its address in the copied
    environment (the rest is the preview's own, expanded as usual)."""
    env = part.get("env")
    if not isinstance(env, dict):
        return
    for key, value in env.items():
        if isinstance(value, str):  # `$${` is a literal `${`, as plan.expand reads it: kept as written
            parts = value.split("$${")
            subbed = [
                APP_REF.sub(lambda m: refs.get(m.group(1), {}).get(m.group(2), m.group(0)), p) for p in parts
            ]
            env[key] = "$${".join(subbed)


def _keep_secrets(base: dict[str, Any], over: dict[str, Any], spec: Spec, kept: set[str]) -> None:
    """An app's secrets and databases, less those the preview does not get."""
    for part in (base, over):
        if isinstance(part.get("secrets"), list):
            part["secrets"] = [s for s in part["secrets"] if s in kept]
        if isinstance(part.get("databases"), list):
            part["databases"] = [
                db for db in part["databases"] if db in spec.databases and spec.databases[db].secret in kept
            ]


def _size(previews: Previews, cpu: float, memory_mb: int) -> dict[str, Any]:
    chosen = previews.size
    return {
        "cpu": chosen.cpu if chosen.cpu is not None else max(MIN_CPU, round(cpu * CPU_SHARE, 3)),
        "memory": f"{chosen.memory if chosen.memory is not None else memory_mb}MB",
    }


def _positions(positions: Positions, source: str, name: str) -> Positions:
    """Where the copied environment's values stand, for the preview's: a problem in a preview
    points at the line it came from."""

    def moved(table: dict[Any, tuple[int, int]]) -> dict[Any, tuple[int, int]]:
        out = dict(table)
        for path, at in table.items():
            if path[:2] == ("environments", source):
                out[("environments", name, *path[2:])] = at
        return out

    return Positions(positions.file, moved(positions.values), moved(positions.keys))
