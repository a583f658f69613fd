"""What `unhazzle dev` prints after each save: only what changed. Pure: compiled specs in, lines out."""

from __future__ import annotations

from unhazzle.compiler.pipeline import Compiled
from unhazzle.compiler.presentation.report import eur_range

Snapshot = dict[str, dict[str, str]]


def snapshot(compiled: Compiled) -> Snapshot:
    """Per app and environment (and in total): instances, size and monthly cost, as text."""
    out: Snapshot = {}
    for env in compiled.plan.environments:
        costs = compiled.cost.environments[env.name]
        for app in env.apps:
            s, c = app.sizing, costs.apps[app.name]
            count = (
                str(s.min_instances)
                if s.min_instances == s.max_instances
                else f"{s.min_instances}-{s.max_instances}"
            )
            out[f"{app.name} ({env.name})"] = {
                "instances": count,
                "size": f"{s.cpu_request:g} vCPU, {s.memory_request_mb} MB",
                "cost": eur_range(c.min, c.max),
            }
        out[f"environment {env.name}"] = {"cost": eur_range(costs.min, costs.max)}
    out["total"] = {"cost": eur_range(*compiled.cost.total())}
    return out


def describe(snap: Snapshot) -> list[str]:
    return [f"{name}: " + ", ".join(f"{k} {v}" for k, v in fields.items()) for name, fields in snap.items()]


def changes(old: Snapshot, new: Snapshot) -> list[str]:
    """One line per app or total that changed; empty when nothing did."""
    lines = [f"+ {line}" for line in describe({k: v for k, v in new.items() if k not in old})]
    lines += [f"- {name}: removed" for name in old if name not in new]
    for name, fields in new.items():
        before = old.get(name)
        if before is None or before == fields:
            continue
        diff = [f"{k} {before.get(k, '-')} -> {v}" for k, v in fields.items() if before.get(k) != v]
        lines.append(f"~ {name}: " + ", ".join(diff))
    return lines
