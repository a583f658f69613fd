"""`unhazzle explain`: each sizing number of one app and the answer or rule that chose it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unhazzle.compiler.planning.plan import AppPlan, EnvPlan


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
        ("autoscaling", f"at {s.target_cpu_percent}% CPU", r["target_cpu_percent"]),
        ("scale up after", f"{s.scale_up_cooldown_s} s", r["scale_up_cooldown_s"]),
        ("scale down after", f"{s.scale_down_cooldown_s} s", r["scale_down_cooldown_s"]),
        ("adds at most", _scale_up(app), r["scale_up_policy"]),
        ("health checks", "yes" if s.startup_probe else "none", r["checks"]),
    ]


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
        "settings": [
            {"name": name, "value": value, "from": (origins or {}).get(name, f"apps.{app.name}.env")}
            for name, value in sorted(app.app.env.items())
        ],
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


def _settings(app: AppPlan, origins: Mapping[str, str]) -> list[str]:
    """Each setting as written, and the place in the spec it comes from: an app's own, its
    environment's change, or a shared one (the environment's, the project's)."""
    env = app.app.env
    if not env:
        return []
    width = max(len(name) for name in env)
    rows = [
        (name, _shown(value), origins.get(name, f"apps.{app.name}.env"))
        for name, value in sorted(env.items())
    ]
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
