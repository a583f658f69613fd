"""Per-environment apps: each environment's overrides merged over the base apps, and the shared
settings (project, then environment) under each app's own, re-validated."""

from __future__ import annotations

from typing import Any, TypeVar

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
    return _resolve(spec, positions, "apps", App)


def resolve_jobs(spec: Spec, positions: Positions | None = None) -> tuple[ResolvedJobs, list[Problem]]:
    """Every environment's jobs, merged and given the shared settings as apps are."""
    return _resolve(spec, positions, "jobs", Job)


Entry = TypeVar("Entry", App, Job)


def _resolve(
    spec: Spec, positions: Positions | None, section: str, model: type[Entry]
) -> tuple[dict[str, dict[str, Entry]], list[Problem]]:
    """Each environment's entries of `section` ("apps" or "jobs"): its overrides merged over the
    base entries, the shared settings under each entry's own, re-validated as `model`."""
    positions = positions or Positions(file="unhazzle.yaml")
    resolved: dict[str, dict[str, Entry]] = {}
    problems: list[Problem] = []
    bases: dict[str, Entry] = getattr(spec, section)
    for env_name, env in spec.environments.items():
        entries: dict[str, Entry] = {}
        shared = shared_settings(spec, env_name)
        overrides = getattr(env, section)
        for name, base in bases.items():
            override = overrides.get(name)
            if override is None and not shared:
                entries[name] = base
                continue
            merged = base.model_dump(exclude_unset=True)
            if override is not None:
                merged = deep_merge(merged, override.model_dump(exclude_unset=True))
            if shared:
                merged["env"] = _inherit(shared, merged, spec)
            try:
                entries[name] = model.model_validate(merged)
            except ValidationError as exc:
                prefixes = [(section, name), ("environments", env_name, section, name)]
                problems += problems_from(exc, positions=positions, root=model, prefixes=prefixes)
        resolved[env_name] = entries
    return resolved, problems


def shared_settings(spec: Spec, environment: str) -> dict[str, SettingValue]:
    """The settings every app of `environment` inherits: the project's, then the environment's."""
    return {**spec.env, **spec.environments[environment].env}


def _inherit(shared: dict[str, SettingValue], app: dict[str, Any], spec: Spec) -> dict[str, SettingValue]:
    """An app's settings over the shared ones. A name the app keeps as a secret (its own, or a
    database's connection URL) is its secret: the more specific wins, as an app's own setting
    wins over a shared one."""
    databases = [spec.databases[db].secret for db in app.get("databases") or [] if db in spec.databases]
    own_secrets = {*(app.get("secrets") or []), *databases}
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
