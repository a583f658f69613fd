"""The pull-request preview: what a change does to the apps and to the bill. Pure: two compiled
specs (the base may be missing) in, one JSON-ready dict out; the markdown is drawn from that dict,
so `--output json` and the comment always carry the same data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from unhazzle.compiler.pipeline import Compiled
from unhazzle.compiler.planning.cost import AppCost, EnvCost, JobCost, cents, cost_json
from unhazzle.compiler.planning.plan import AppPlan, EnvPlan, JobPlan
from unhazzle.compiler.presentation.report import plan_json, warnings
from unhazzle.compiler.publishing.changes import likely_renames
from unhazzle.compiler.publishing.volumes import DELETE_FLAG, Disk, volume_changes
from unhazzle.compiler.rendering.render import (
    render_apps,
    render_environment_file,
    render_inputs,
    render_jobs,
)
from unhazzle.compiler.secrets.delivery import diff_stores

MARKER = "<!-- unhazzle-preview -->"  # CI finds the one sticky comment by this line
MAX_DIFF_LINES = 400  # per file; a pull-request comment holds at most 65,536 characters
CONTEXT = 3  # unchanged lines shown around each change, as `diff -u`
_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")
ZERO = Decimal(0)
Files = dict[str, tuple[str | None, str | None]]
Planned = tuple[AppPlan, AppCost]


def build_preview(
    base: Compiled | None, head: Compiled, *, base_ref: str, spec_name: str, base_note: str | None = None
) -> dict[str, Any]:
    """The preview of *head* against *base* (None: the spec did not exist or compile at the base)."""
    out: dict[str, Any] = {"format": 1, "project": head.spec.project, "base": base_ref, "spec": spec_name}
    changed = {name: changed_files(base, head, name) for name in _env_names(base, head)}
    secrets = diff_stores(base.stores if base else {}, head.stores)
    if base is not None and not secrets and _same(base, head, changed):
        return {**out, "status": "unchanged", "headline": f"No changes to {spec_name} since {base_ref}."}
    environments = [_environment(name, base, head, files) for name, files in changed.items()]
    before = base.cost.total() if base else (ZERO, ZERO)
    after = head.cost.total()
    return {
        **out,
        "status": "new" if base is None else "changed",
        "base_note": base_note,
        "headline": _headline(before[1], after[1], new=base is None),
        "cost_eur_month": _money(before, after, had_base=base is not None),
        "budget": _budget(head.spec.budget.max_monthly_eur if head.spec.budget else None, after[1]),
        "environments": environments,
        "volumes": _volumes(environments),
        "secret_changes": [asdict(change) for change in secrets],  # names only, never values
        "warnings": warnings(head.plan),
    }


def _same(old: Compiled, new: Compiled, changed: dict[str, Files]) -> bool:
    """Nothing a reader of the comment would see differs: manifests, plan, costs, budgets."""
    return (
        not any(changed.values())
        and old.cost == new.cost
        and plan_json(old.plan, old.cost) == plan_json(new.plan, new.cost)
        and old.spec.budget == new.spec.budget
    )


def _env_names(base: Compiled | None, head: Compiled) -> list[str]:
    names = [env.name for env in head.plan.environments]
    old = [env.name for env in base.plan.environments] if base else []
    return names + [name for name in old if name not in names]


def _headline(before: Decimal, after: Decimal, *, new: bool) -> str:
    if new:
        return f"New: costs up to {cents(after)} EUR a month at maximum scale."
    change = cents(after - before)
    if change == 0:
        return f"Cost at maximum scale unchanged: {cents(after)} EUR a month."
    verb = "up" if change > 0 else "down"
    return (
        f"Cost at maximum scale {verb} by {abs(change)} EUR a month ({cents(before)} → {cents(after)} EUR)."
    )


def _money(
    before: tuple[Decimal, Decimal], after: tuple[Decimal, Decimal], *, had_base: bool
) -> dict[str, Any]:
    return {
        "base": cost_json(*before) if had_base else None,
        "head": cost_json(*after),
        "change": cost_json(after[0] - before[0], after[1] - before[1]),
    }


def _budget(limit: float | None, high: Decimal) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {
        "max_monthly_eur": limit,
        "max_cost_eur": float(cents(high)),
        "within": cents(high) <= Decimal(str(limit)),
    }


def _find(compiled: Compiled | None, name: str) -> tuple[EnvPlan, EnvCost] | None:
    if compiled is None:
        return None
    for env in compiled.plan.environments:
        if env.name == name:
            return env, compiled.cost.environments[name]
    return None


def changed_files(base: Compiled | None, head: Compiled, env_name: str) -> Files:
    """File -> (before, after) for the environment's files that differ; None where one is absent.
    Apps and jobs rendered from the same inputs on both sides are not rendered at all: their
    files cannot differ."""
    old, new = _find(base, env_name), _find(head, env_name)
    same: set[str] = set()
    if base is not None and old and new:
        # (a plan that differs renders differently: only the others need their inputs compared)
        earlier: list[AppPlan | JobPlan] = [*old[0].apps, *old[0].jobs]
        now: list[AppPlan | JobPlan] = [*new[0].apps, *new[0].jobs]
        was = {a.name: a for a in earlier}
        alike = {a.name for a in now if was.get(a.name) == a}
        before, after = render_inputs(base.plan, old[0], alike), render_inputs(head.plan, new[0], alike)
        same = {name for name in alike if before[name] == after[name]}
    a = _render(base, old[0] if old else None, skip=same)
    b = _render(head, new[0] if new else None, skip=same)
    return {name: (a.get(name), b.get(name)) for name in sorted({*a, *b}) if a.get(name) != b.get(name)}


def _render(compiled: Compiled | None, env: EnvPlan | None, *, skip: set[str]) -> dict[str, str]:
    if compiled is None or env is None:
        return {}
    files = render_environment_file(compiled.plan, env)
    files.update(render_apps(compiled.plan, env, [a for a in env.apps if a.name not in skip]))
    files.update(render_jobs(compiled.plan, env, [j for j in env.jobs if j.name not in skip]))
    return files


def _environment(name: str, base: Compiled | None, head: Compiled, files: Files) -> dict[str, Any]:
    old, new = _find(base, name), _find(head, name)
    env = (new or old)[0]  # type: ignore[index]  # the name comes from one side or the other
    touched = {path.removeprefix(f"{name}/").removesuffix(".yaml") for path in files}
    apps = _apps(old, new, touched)
    jobs = _jobs(old, new, touched)
    before = (old[1].min, old[1].max) if old else (ZERO, ZERO)
    after = (new[1].min, new[1].max) if new else (ZERO, ZERO)
    diffs = _diffs(files)
    counts = {s: sum(a["status"] == s for a in [*apps, *jobs]) for s in ("added", "removed", "changed")}
    moved = diffs or before != after or any(a["status"] != "unchanged" for a in [*apps, *jobs])
    status = "added" if old is None else "removed" if new is None else "changed" if moved else "unchanged"
    return {
        "name": name,
        "badge": env.badge,
        "status": status,
        "summary": counts,
        "apps": apps,
        "jobs": jobs,
        "cost_eur_month": _money(before, after, had_base=old is not None),
        "budget": _budget(env.budget.max_monthly_eur if env.budget and new else None, after[1]),
        "manifest_diffs": diffs,
        "volume_changes": _volume_changes(name, old, new, apps),
    }


def _volume_changes(
    name: str,
    old: tuple[EnvPlan, EnvCost] | None,
    new: tuple[EnvPlan, EnvCost] | None,
    apps: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """What happens to the environment's disks and the data on them (compiler/publishing/volumes.py)."""
    if old is None or new is None:
        return []  # a new environment has no data yet; a removed one keeps its volumes
    renames = {a["renamed_from"]: a["name"] for a in apps if a.get("renamed_from")}
    found = volume_changes(
        {name: _disks(old[0])},
        {name: _disks(new[0])},
        apps_after={name: [a.name for a in new[0].apps]},
        renames={name: renames},
    )
    return [change.as_json() for change in found]


def _disks(env: EnvPlan) -> dict[str, Disk]:
    return {a.name: Disk(a.app.volume.size, a.app.volume.path) for a in env.apps if a.app.volume}


def _volumes(environments: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Every volume change of the preview in one place, with what publish will ask for."""
    changes = [change for env in environments for change in env["volume_changes"]]
    if not changes:
        return None
    return {
        "changes": changes,
        "data_lost": any(c["data_lost"] for c in changes),
        "publish_refuses": any(c["data_lost"] or not c["possible"] for c in changes),
        "allow_flag": DELETE_FLAG,
    }


def _apps(
    old: tuple[EnvPlan, EnvCost] | None, new: tuple[EnvPlan, EnvCost] | None, touched: set[str]
) -> list[dict[str, Any]]:
    """*touched*: the apps and jobs whose file changes."""
    before = {a.name: (a, old[1].apps[a.name]) for a in old[0].apps} if old else {}
    after = {a.name: (a, new[1].apps[a.name]) for a in new[0].apps} if new else {}
    names = list(after) + [n for n in before if n not in after]
    apps = [_app(n, before.get(n), after.get(n), touched=n in touched) for n in names]
    _mark_renames(apps)
    return apps


def _mark_renames(apps: list[dict[str, Any]]) -> None:
    """An added app with the image of exactly one removed app was most likely renamed: say so
    (the diff still shows one file removed and one added, as the cluster will see it)."""
    before = {a["name"]: a["before"]["image"] for a in apps if a["before"]}
    after = {a["name"]: a["image"] for a in apps if a["status"] != "removed"}
    by_name = {a["name"]: a for a in apps}
    for old, new in likely_renames(before, after).items():
        by_name[new]["renamed_from"] = old


def _app_view(app: AppPlan, cost: AppCost) -> dict[str, Any]:
    s = app.sizing
    return {
        "instances": {"min": s.min_instances, "max": s.max_instances},
        "size": {"cpu": s.cpu_request, "memory_mb": s.memory_request_mb},
        "volume_gb": round(app.app.volume.size / 1024, 3) if app.app.volume else None,
        "cost_eur_month": cost_json(cost.min, cost.max),
        "internal_url": app.internal_url,
        "public_urls": app.public_urls,
        "secrets": list(app.secrets),  # names only: values never reach the compiler
        "image": app.app.image,
    }


def _app(
    name: str, old: tuple[AppPlan, AppCost] | None, new: tuple[AppPlan, AppCost] | None, *, touched: bool
) -> dict[str, Any]:
    before = _app_view(*old) if old else None
    after = _app_view(*new) if new else None
    zero = {"min": 0.0, "max": 0.0}
    was, now = (before or {}).get("cost_eur_month", zero), (after or {}).get("cost_eur_month", zero)
    # A secret's new value restarts the app (its manifest carries a checksum of the encrypted
    # values), so the app is changed even where nothing else of it is.
    was_sum, now_sum = (old[0].secrets_checksum if old else None), (new[0].secrets_checksum if new else None)
    rotated = bool(was_sum and now_sum and was_sum != now_sum)
    # (new secret values change the file too: by the checksum, said as `secret_values_changed`)
    moved = (touched and not rotated) or before != after
    changes = app_changes(old[0], new[0], touched=moved) if old and new else []
    if after is None:
        status, current = "removed", {**before, "cost_eur_month": zero}  # type: ignore[dict-item]
    else:
        status = "added" if before is None else "changed" if changes or rotated else "unchanged"
        current = after
    return {
        "name": name,
        "status": status,
        **current,
        "before": before,
        "changes": changes,
        "secret_values_changed": rotated,
        "cost_change": {k: round(now[k] - was[k], 2) for k in ("min", "max")},
    }


# What of an app a change can touch, in the preview's words, and where each is read from.
_APP_PARTS: list[tuple[str, Callable[[AppPlan], object]]] = [
    ("image", lambda a: a.app.image),
    ("instances", lambda a: (a.sizing.min_instances, a.sizing.max_instances)),
    ("size", lambda a: (a.sizing.cpu_request, a.sizing.cpu_limit, a.sizing.memory_request_mb,
                        a.sizing.memory_limit_mb)),
    ("autoscaling", lambda a: (a.sizing.target_cpu_percent, a.sizing.scale_up_cooldown_s,
                               a.sizing.scale_down_cooldown_s, a.sizing.scale_up_pods,
                               a.sizing.scale_up_percent, a.sizing.scale_up_period_s,
                               a.sizing.scale_down_percent)),
    ("settings", lambda a: a.settings),
    ("secrets", lambda a: a.secrets),
    ("command", lambda a: (a.app.command, a.app.args)),
    ("port", lambda a: a.app.port),
    ("health_check", lambda a: (a.app.health, a.sizing.startup_probe, a.sizing.readiness_probe,
                                a.sizing.liveness_probe)),
    ("addresses", lambda a: (a.app.public, a.public_hosts)),
    ("databases", lambda a: a.app.databases),
    ("volume", lambda a: a.app.volume),
    ("writable_folders", lambda a: a.app.writable),
    ("release_step", lambda a: a.release),
    ("order", lambda a: a.app.after),
]  # fmt: skip


def app_changes(old: AppPlan, new: AppPlan, *, touched: bool) -> list[str]:
    """What differs between two plans of one app, in the preview's words; `other` when only
    what it is *touched* by does (its file, by a template or the cluster's settings)."""
    changes = [part for part, read in _APP_PARTS if read(old) != read(new)]
    return changes or (["other"] if touched else [])


# What of a scheduled job a change can touch, in the preview's words, as _APP_PARTS for apps.
_JOB_PARTS: list[tuple[str, Callable[[JobPlan], object]]] = [
    ("image", lambda j: j.job.image),
    ("schedule", lambda j: (j.job.schedule, j.job.timezone)),
    ("size", lambda j: (j.size.cpu_request, j.size.memory_mb)),
    ("timeout", lambda j: j.job.timeout),
    ("retries", lambda j: j.job.retries),
    ("overlap", lambda j: j.job.overlap),
    ("settings", lambda j: j.settings),
    ("secrets", lambda j: j.secrets),
    ("command", lambda j: (j.job.command, j.job.args)),
    ("databases", lambda j: j.job.databases),
    ("writable_folders", lambda j: j.job.writable),
]


def _jobs(
    old: tuple[EnvPlan, EnvCost] | None, new: tuple[EnvPlan, EnvCost] | None, touched: set[str]
) -> list[dict[str, Any]]:
    """Scheduled jobs added, changed and removed, each with what changed (as for apps) and what a
    run and a month cost."""
    before = {j.name: (j, old[1].jobs[j.name]) for j in old[0].jobs} if old else {}
    after = {j.name: (j, new[1].jobs[j.name]) for j in new[0].jobs} if new else {}
    out = []
    for name in list(after) + [n for n in before if n not in after]:
        was_job, now_job = before.get(name), after.get(name)
        was = _job_view(*was_job) if was_job else None
        now = _job_view(*now_job) if now_job else None
        changes: list[str] = []
        rotated = False
        if was_job and now_job:
            old_sum, new_sum = was_job[0].secrets_checksum, now_job[0].secrets_checksum
            rotated = bool(old_sum and new_sum and old_sum != new_sum)
            changes = [part for part, read in _JOB_PARTS if read(was_job[0]) != read(now_job[0])]
            if not changes and name in touched and not rotated:
                changes = ["other"]  # its file, by a template or the cluster's settings
        status = (
            "removed"
            if now is None
            else "added"
            if was is None
            else "changed"
            if changes or rotated or was != now
            else "unchanged"
        )
        out.append(
            {
                "name": name,
                "status": status,
                **(now or was or {}),
                "before": was,
                "changes": changes,
                "secret_values_changed": rotated,
                "cost_change": round(_month(now) - _month(was), 2),
            }
        )
    return out


def _month(view: dict[str, Any] | None) -> float:
    return float(view["cost_eur_month"]) if view else 0.0


def _job_view(job: JobPlan, cost: JobCost) -> dict[str, Any]:
    spec = job.job
    return {
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "runs_a_month": round(job.runs_a_month, 1),
        "timeout_s": spec.timeout,
        "size": {"cpu": job.size.cpu_request, "memory_mb": job.size.memory_mb},
        "cost_eur_run": float(round(cost.run, 4)),
        "cost_eur_month": float(cost.month),
        "secrets": list(job.secrets),
        "image": spec.image,
    }


def _diffs(files: Files) -> list[dict[str, str]]:
    out = []
    for name, (a, b) in files.items():
        status = "added" if a is None else "removed" if b is None else "changed"
        out.append({"file": name, "status": status, "diff": unified(name, a or "", b or "")})
    return out


def unified(name: str, a: str, b: str) -> str:
    old, new = a.splitlines(keepends=True), b.splitlines(keepends=True)
    # difflib compares lines all against all; an app's file mostly changes in a line or two, so
    # the lines both sides share at the start and at the end (all but the context) are set
    # aside first; the hunks' line numbers then count what was cut off the start.
    same = 0
    for x, y in zip(old, new, strict=False):
        if x != y:
            break
        same += 1
    tail = 0
    for x, y in zip(reversed(old[same:]), reversed(new[same:]), strict=False):
        if x != y:
            break
        tail += 1
    cut, keep = max(0, same - CONTEXT), max(0, tail - CONTEXT)
    lines = list(
        difflib.unified_diff(
            old[cut : len(old) - keep], new[cut : len(new) - keep], f"a/{name}", f"b/{name}", n=CONTEXT
        )
    )
    if cut:
        lines = [_HUNK.sub(lambda m: _moved(m, cut), line, count=1) if line.startswith("@@") else line
                 for line in lines]  # fmt: skip
    if len(lines) > MAX_DIFF_LINES:
        dropped = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... {dropped} more lines (run `unhazzle render` to see all)\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _moved(hunk: re.Match[str], by: int) -> str:
    old, old_len, new, new_len = hunk.groups()
    return f"@@ -{int(old) + by}{old_len or ''} +{int(new) + by}{new_len or ''} @@"
