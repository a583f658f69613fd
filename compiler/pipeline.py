"""The compiler's front door: a spec file in, a validated, sized plan out (or every problem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from unhazzle.compiler.budget import budget_problems
from unhazzle.compiler.check import cross_check
from unhazzle.compiler.cost import PlanCost, current_rates, price_plan
from unhazzle.compiler.diagnose import problems_from
from unhazzle.compiler.load import Document, load_bytes, load_file
from unhazzle.compiler.model import Spec
from unhazzle.compiler.plan import Plan, build_plan
from unhazzle.compiler.resolve import resolve
from unhazzle.errors import InputError, Problem


@dataclass(frozen=True)
class Compiled:
    document: Document
    spec: Spec
    plan: Plan
    cost: PlanCost


def compile_file(path: Path, *, display: str | None = None, enforce_budget: bool = True) -> Compiled:
    """Load, validate, size and price the spec at *path*; raises InputError with every problem."""
    return compile_document(load_file(path, display=display), enforce_budget=enforce_budget)


def compile_text(text: str | bytes, *, name: str = "unhazzle.yaml", enforce_budget: bool = True) -> Compiled:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return compile_document(load_bytes(raw, name=name), enforce_budget=enforce_budget)


def compile_document(document: Document, *, enforce_budget: bool = True) -> Compiled:
    """The pipeline; with *enforce_budget* off, a spec over budget still compiles (the preview
    shows the base of a change that way)."""
    problems: list[Problem] = []
    spec: Spec | None = None
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as exc:
        problems += problems_from(exc, positions=document.positions, root=Spec, prefixes=[()])
    problems += cross_check(document.data, document.positions)
    if spec is None or problems:
        raise InputError(problems)
    resolved, merge_problems = resolve(spec, document.positions)
    if merge_problems:
        raise InputError(merge_problems)
    plan = build_plan(spec, resolved)
    cost = price_plan(plan, current_rates())
    if enforce_budget:
        over = budget_problems(spec, cost, document.positions)
        if over:
            raise InputError(over)
    return Compiled(document=document, spec=spec, plan=plan, cost=cost)
