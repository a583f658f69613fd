"""Per-environment apps: each environment's overrides merged over the base apps, and the shared
settings (project, then environment) under each app's own, re-validated."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from unhazzle.compiler.spec.diagnose import problems_from
from unhazzle.compiler.spec.merge import deep_merge
from unhazzle.compiler.spec.model import App, Job, SettingValue, Spec
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem

Resolved = dict[str, dict[str, App]]
ResolvedJobs = dict[str, dict[str, Job]]


def resolve(spec: Spec, positions: Positions | None = None) -> tuple[Resolved, list[Problem]]:
    """Every environment's apps, in spec order, and any problem the merge itself created."""
    positions = positions or Positions(file="unhazzle.yaml")
    resolved: Resolved = {}
    problems: list[Problem] = []
    for env_name, env in spec.environments.items():
        apps: dict[str, App] = {}
        shared = shared_settings(spec, env_name)
        for app_name, base in spec.apps.items():
            override = env.apps.get(app_name)
            if override is None and not shared:
                apps[app_name] = base
                continue
            merged = base.model_dump(exclude_unset=True)
            if override is not None:
                merged = deep_merge(merged, override.model_dump(exclude_unset=True))
            if shared:
                merged["env"] = _inherit(shared, merged)
            try:
                apps[app_name] = App.model_validate(merged)
            except ValidationError as exc:
                prefixes = [("apps", app_name), ("environments", env_name, "apps", app_name)]
                problems += problems_from(exc, positions=positions, root=App, prefixes=prefixes)
        resolved[env_name] = apps
    return resolved, problems


def resolve_jobs(spec: Spec, positions: Positions | None = None) -> tuple[ResolvedJobs, list[Problem]]:
    """Every environment's jobs, merged and given the shared settings as apps are."""
    positions = positions or Positions(file="unhazzle.yaml")
    resolved: ResolvedJobs = {}
    problems: list[Problem] = []
    for env_name, env in spec.environments.items():
        jobs: dict[str, Job] = {}
        shared = shared_settings(spec, env_name)
        for name, base in spec.jobs.items():
            override = env.jobs.get(name)
            if override is None and not shared:
                jobs[name] = base
                continue
            merged = base.model_dump(exclude_unset=True)
            if override is not None:
                merged = deep_merge(merged, override.model_dump(exclude_unset=True))
            if shared:
                merged["env"] = _inherit(shared, merged)
            try:
                jobs[name] = Job.model_validate(merged)
            except ValidationError as exc:
                prefixes = [("jobs", name), ("environments", env_name, "jobs", name)]
                problems += problems_from(exc, positions=positions, root=Job, prefixes=prefixes)
        resolved[env_name] = jobs
    return resolved, problems


def shared_settings(spec: Spec, environment: str) -> dict[str, SettingValue]:
    """The settings every app of `environment` inherits: the project's, then the environment's."""
    return {**spec.env, **spec.environments[environment].env}


def _inherit(shared: dict[str, SettingValue], app: dict[str, Any]) -> dict[str, SettingValue]:
    """An app's settings over the shared ones. A name the app keeps as a secret is its secret:
    the more specific wins, as an app's own setting wins over a shared one."""
    own_secrets = set(app.get("secrets") or [])
    inherited = {name: value for name, value in shared.items() if name not in own_secrets}
    return {**inherited, **(app.get("env") or {})}


def setting_origins(spec: Spec, environment: str, app: str, *, section: str = "apps") -> dict[str, str]:
    """Where each setting of `app` (or, with section "jobs", of that job) in `environment` comes
    from, as the spec's path to it (the most specific place that sets it): what `explain` shows
    next to each value."""
    env = spec.environments[environment]
    own = spec.apps[app].env if section == "apps" else spec.jobs[app].env
    overrides = env.apps if section == "apps" else env.jobs
    origins = dict.fromkeys(spec.env, "env")
    origins |= dict.fromkeys(env.env, f"environments.{environment}.env")
    origins |= dict.fromkeys(own, f"{section}.{app}.env")
    override = overrides.get(app)
    if override is not None and override.env:
        origins |= dict.fromkeys(override.env, f"environments.{environment}.{section}.{app}.env")
    return origins
