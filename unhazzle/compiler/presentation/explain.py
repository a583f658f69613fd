"""`unhazzle explain`: each sizing number of one app and the answer or rule that chose it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unhazzle.compiler.planning.plan import AppPlan, EnvPlan, JobPlan
from unhazzle.compiler.presentation.report import duration, runs_text


def _rows(app: AppPlan) -> list[tuple[str, str, str]]:
    """(what, value, why) for each sizing number."""
    s = app.sizing
    r = s.reasons
    return [
        ("instances.min", str(s.min_instances), r["min_instances"]),
        ("instances.max", str(s.max_instances), r["max_instances"]),
        ("size.cpu", f"{s.cpu_request:g} vCPU, bursting to {s.cpu_limit:g}", r["cpu"]),
        ("", "", r["cpu_limit"]),
        ("size.memory", f"{s.memory_request_mb} MB", r["memory"]),
        *_scaling_rows(app),
        ("health checks", "yes" if s.startup_probe else "none", r["checks"]),
        *_release_rows(app),
    ]


def _scaling_rows(app: AppPlan) -> list[tuple[str, str, str]]:
    s = app.sizing
    r = s.reasons
    if s.min_instances == s.max_instances:  # as the plan says, and nothing to scale is rendered
        return [("autoscaling", "none", f"instances.min and instances.max are both {s.min_instances}")]
    return [
        ("autoscaling", f"at {s.target_cpu_percent}% CPU", r["target_cpu_percent"]),
        ("scale up after", f"{s.scale_up_cooldown_s} s", r["scale_up_cooldown_s"]),
        ("scale down after", f"{s.scale_down_cooldown_s} s", r["scale_down_cooldown_s"]),
        ("adds at most", _scale_up(app), r["scale_up_policy"]),
    ]


def _release_rows(app: AppPlan) -> list[tuple[str, str, str]]:
    release = app.release
    if release is None:
        return []
    size = release.size
    return [
        ("release step", " ".join(release.command)[:40], "runs once before each new version rolls out; "
         "the rollout waits for it to succeed, and a failure keeps the running version"),
        ("", f"{size.cpu_request:g} vCPU, {size.memory_mb} MB", size.reasons["cpu"]),
        ("", f"at most {duration(release.timeout_s)}", "release.timeout" if "timeout" in
         (app.app.release.model_fields_set if app.app.release else ()) else "the default timeout"),
    ]  # fmt: skip


def job_rows(job: JobPlan) -> list[tuple[str, str, str]]:
    """(what, value, why) for each number of a scheduled job."""
    spec, size = job.job, job.size
    set_ = spec.model_fields_set
    return [
        ("schedule", f"{spec.schedule} ({spec.timezone})", runs_text(job.runs_a_month)),
        ("timeout", duration(spec.timeout),
         "timeout in the spec" if "timeout" in set_ else "the default: 1 h"),
        ("retries", str(spec.retries), "retries in the spec" if "retries" in set_ else "the default: none"),
        ("overlap", "allowed" if spec.overlap else "never",
         "overlap: true in the spec" if spec.overlap else "a run still going makes the next one skip"),
        ("size.cpu", f"{size.cpu_request:g} vCPU, bursting to {size.cpu_limit:g}", size.reasons["cpu"]),
        ("size.memory", f"{size.memory_mb} MB", size.reasons["memory"]),
        ("autoscaling", "none", "a job runs to completion; it has no instances to scale"),
    ]  # fmt: skip


def explain_job_text(env: EnvPlan, job: JobPlan, origins: Mapping[str, str] | None = None) -> str:
    rows = job_rows(job)
    lines = [f"{job.name} (job) in {env.name} [{env.badge}]", ""]
    width = max(len(label) for label, _, _ in rows)
    vwidth = max(len(value) for _, value, _ in rows)
    lines += [f"  {label:<{width}}  {value:<{vwidth}}  {why}" for label, value, why in rows]
    lines += _setting_rows(job.job.env, origins or {}, f"jobs.{job.name}.env")
    lines += [f"  warning: {w}" for w in job.warnings]
    return "\n".join(lines) + "\n"


def explain_job_json(env: EnvPlan, job: JobPlan, origins: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "environment": env.name,
        "badge": env.badge,
        "numbers": [{"what": what, "value": value, "why": [why]} for what, value, why in job_rows(job)],
        "settings": _settings_json(job.job.env, origins or {}, f"jobs.{job.name}.env"),
        "warnings": list(job.warnings),
    }


def explain_json(env: EnvPlan, app: AppPlan, origins: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The same as explain_text, for scripts: each number with its reason, each setting with
    where it comes from."""
    given = app.app.profile.model_fields_set
    merged: list[tuple[str, str, list[str]]] = []
    for what, value, why in _rows(app):
        if what:
            merged.append((what, value, [why]))
        elif merged:
            merged[-1][2].append(why)
    return {
        "environment": env.name,
        "badge": env.badge,
        "answers": dict(app.sizing.answers),
        "defaulted": [k for k in app.sizing.answers if k not in given],
        "numbers": [{"what": what, "value": value, "why": why} for what, value, why in merged],
        "settings": _settings_json(app.app.env, origins or {}, f"apps.{app.name}.env"),
        "warnings": list(app.warnings),
    }


def explain_text(env: EnvPlan, app: AppPlan, origins: Mapping[str, str] | None = None) -> str:
    """`origins`: where each setting comes from (resolve.setting_origins), shown next to it."""
    s = app.sizing
    answers = ", ".join(f"{k} {v}" for k, v in s.answers.items())
    given = app.app.profile.model_fields_set
    defaulted = [k for k in s.answers if k not in given]
    rows = _rows(app)
    lines = [f"{app.name} in {env.name} [{env.badge}]", f"  answers: {answers}"]
    if defaulted:
        lines.append(f"  (defaults used for: {', '.join(defaulted)})")
    lines.append("")
    width = max(len(label) for label, _, _ in rows)
    vwidth = max(len(value) for _, value, _ in rows)
    lines += [f"  {label:<{width}}  {value:<{vwidth}}  {why}" for label, value, why in rows]
    lines += _settings(app, origins or {})
    lines += [f"  warning: {w}" for w in app.warnings]
    return "\n".join(lines) + "\n"


def _settings_json(env: Mapping[str, object], origins: Mapping[str, str], own: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "value": value, "from": origins.get(name, own)} for name, value in sorted(env.items())
    ]


def _settings(app: AppPlan, origins: Mapping[str, str]) -> list[str]:
    return _setting_rows(app.app.env, origins, f"apps.{app.name}.env")


def _setting_rows(env: Mapping[str, object], origins: Mapping[str, str], own: str) -> list[str]:
    """Each setting as written, and the place in the spec it comes from: an app's own, its
    environment's change, or a shared one (the environment's, the project's)."""
    if not env:
        return []
    width = max(len(name) for name in env)
    rows = [(name, _shown(value), origins.get(name, own)) for name, value in sorted(env.items())]
    vwidth = max(len(value) for _, value, _ in rows)
    return [
        "",
        "  settings:",
        *(f"    {name:<{width}}  {value:<{vwidth}}  from {where}" for name, value, where in rows),
    ]


def _shown(value: object, limit: int = 40) -> str:
    text = json.dumps(value) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 4] + '..."'


def _scale_up(app: AppPlan) -> str:
    s = app.sizing
    amount = f"{s.scale_up_pods} instance{'s' if s.scale_up_pods > 1 else ''}"
    if s.scale_up_percent:
        amount += f" or {s.scale_up_percent}%"
    return f"{amount} per {s.scale_up_period_s} s"
