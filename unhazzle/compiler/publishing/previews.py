"""Preview environments in the environment repo: which folders are previews (their
`_preview.json`), and the limits a new or updated one must keep: its own budget, the project's
number of previews and their cost together. Refused, never made room for: no preview is removed
to let another in. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import yaml

from unhazzle.compiler.spec.model import Spec
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem
from unhazzle.shared import previewmark
from unhazzle.shared.names import PREVIEW_FILE
from unhazzle.shared.previewmark import PreviewMark


def marks(files: Mapping[str, bytes]) -> dict[str, PreviewMark]:
    """The readable preview markers among `PROJECT/ENV/_preview.json` files, by environment."""
    found = {}
    for path, data in files.items():
        parts = path.split("/")
        if len(parts) == 3 and parts[2] == PREVIEW_FILE:
            try:
                found[parts[1]] = previewmark.parse(data)
            except previewmark.BadMark:
                continue  # a hand-edited marker: still a preview (publish leaves it), not counted
    return found


def live(found: Mapping[str, PreviewMark], now: datetime) -> dict[str, PreviewMark]:
    """Those not yet expired (an expired one is on its way out: the reconciler removes it)."""
    return {name: mark for name, mark in found.items() if not mark.expired(now)}


def budget_problem(spec: Spec, positions: Positions, name: str, monthly_max: Decimal) -> Problem | None:
    """The preview costs more a month than `previews.budget` allows."""
    budget = spec.previews.budget if spec.previews else None
    if budget is None or monthly_max <= Decimal(str(budget.max_monthly_eur)):
        return None
    line, col = positions.of_value(("previews", "budget", "max_monthly_eur"))
    return Problem(
        positions.file, line, col,
        f"previews.budget: preview {spec.project}/{name} would cost up to {monthly_max:.2f} EUR a month, "
        f"over its budget of {budget.max_monthly_eur:g} EUR; it is not created. Make previews smaller "
        "(previews.size, previews.instances, fewer previews.apps) or raise the budget",
    )  # fmt: skip


def limit_problems(
    spec: Spec, positions: Positions, name: str, monthly_max: Decimal, others: Mapping[str, PreviewMark]
) -> list[Problem]:
    """A new preview over the project's number of previews, or any preview over their budget
    together (`others`: the project's live previews but this one)."""
    assert spec.previews is not None
    limits = spec.previews.limits
    problems = []
    listed = ", ".join(
        f"{n} (until {m.expires_at[:16].replace('T', ' ')})" for n, m in sorted(others.items())
    )
    if len(others) >= limits.count:
        line, col = positions.of_value(("previews", "limits", "count"))
        problems.append(Problem(
            positions.file, line, col,
            f"previews.limits.count: project {spec.project} has {len(others)} previews already, its "
            f"limit: {listed}. Preview {name} is not created; take one down (`unhazzle preview-env "
            "down --name NAME`) or raise the limit",
        ))  # fmt: skip
    total = sum((Decimal(m.monthly_eur_max) for m in others.values()), Decimal(0)) + monthly_max
    cap = limits.max_monthly_eur
    if cap is not None and total > Decimal(str(cap)):
        line, col = positions.of_value(("previews", "limits", "max_monthly_eur"))
        problems.append(Problem(
            positions.file, line, col,
            f"previews.limits.max_monthly_eur: with preview {name} ({monthly_max:.2f} EUR a month at "
            f"most) the project's previews would cost up to {total:.2f} EUR a month, over {cap:g} EUR; "
            f"it is not created. Previews now: {listed or 'none'}",
        ))  # fmt: skip
    return problems


def admitted(environment_file: bytes | None) -> set[str]:
    """The apps an environment's published folder lets previews reach: those its
    `allow-previews` network policy names (in `_environment.yaml`); none without one, or when
    the file, edited by hand, cannot be read."""
    try:
        documents = list(yaml.safe_load_all(environment_file or b""))
    except yaml.YAMLError:
        return set()
    found: set[str] = set()
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != "NetworkPolicy":
            continue
        if (doc.get("metadata") or {}).get("name") != "allow-previews":
            continue
        selector = (doc.get("spec") or {}).get("podSelector") or {}
        for expression in selector.get("matchExpressions") or []:
            if isinstance(expression, dict) and expression.get("operator") == "In":
                found |= {str(value) for value in expression.get("values") or []}
    return found
