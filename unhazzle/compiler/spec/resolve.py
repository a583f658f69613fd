"""Per-environment apps: each environment's overrides merged over the base apps, re-validated."""

from __future__ import annotations

from pydantic import ValidationError

from unhazzle.compiler.spec.diagnose import problems_from
from unhazzle.compiler.spec.merge import deep_merge
from unhazzle.compiler.spec.model import App, Spec
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem

Resolved = dict[str, dict[str, App]]


def resolve(spec: Spec, positions: Positions | None = None) -> tuple[Resolved, list[Problem]]:
    """Every environment's apps, in spec order, and any problem the merge itself created."""
    positions = positions or Positions(file="unhazzle.yaml")
    resolved: Resolved = {}
    problems: list[Problem] = []
    for env_name, env in spec.environments.items():
        apps: dict[str, App] = {}
        for app_name, base in spec.apps.items():
            override = env.apps.get(app_name)
            if override is None:
                apps[app_name] = base
                continue
            merged = deep_merge(base.model_dump(exclude_unset=True), override.model_dump(exclude_unset=True))
            try:
                apps[app_name] = App.model_validate(merged)
            except ValidationError as exc:
                prefixes = [("apps", app_name), ("environments", env_name, "apps", app_name)]
                problems += problems_from(exc, positions=positions, root=App, prefixes=prefixes)
        resolved[env_name] = apps
    return resolved, problems
