"""The compiler's front door: a spec file in, a validated, sized plan out (or every problem)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from unhazzle.compiler.planning.budget import budget_problems
from unhazzle.compiler.planning.cost import PlanCost, Rates, current_rates, price_plan
from unhazzle.compiler.planning.objectsize import oversized_objects
from unhazzle.compiler.planning.placement import oversized_as_written, placement_problems
from unhazzle.compiler.planning.plan import AppPlan, EnvPlan, JobPlan, Plan, build_plan
from unhazzle.compiler.planning.previews import PreviewSpec, preview_spec
from unhazzle.compiler.secrets.check import SecretFindings, check_secrets, fix_command
from unhazzle.compiler.secrets.delivery import secrets_checksum, used_ciphertexts
from unhazzle.compiler.secrets.store import SecretStore, load_stores, read_stores
from unhazzle.compiler.spec.check import cross_check
from unhazzle.compiler.spec.diagnose import problems_from
from unhazzle.compiler.spec.load import Document, load_bytes, load_file
from unhazzle.compiler.spec.model import Spec
from unhazzle.compiler.spec.positions import Path as SpecPath
from unhazzle.compiler.spec.positions import Positions
from unhazzle.compiler.spec.resolve import Resolved, ResolvedJobs, resolve, resolve_jobs
from unhazzle.compiler.spec.valid_part import PathsAt, Unit, unit_of, units_of, without
from unhazzle.errors import InputError, Problem


@dataclass(frozen=True)
class Compiled:
    document: Document
    spec: Spec
    plan: Plan
    cost: PlanCost
    # the secrets files next to the spec, by environment, and what checking them found
    stores: dict[str, SecretStore] = field(default_factory=dict)
    secrets: SecretFindings = field(default_factory=SecretFindings)

    @property
    def manages_secrets(self) -> bool:
        """Whether this project keeps its secret values with Unhazzle: its spec names recipients
        or a secrets file exists. A project that does not (its values come from elsewhere, or are
        not set up yet) gets warnings in the plan, not validation errors."""
        spec = self.spec
        keys = spec.secrets is not None or any(env.secrets for env in spec.environments.values())
        return keys or bool(self.stores)

    def require_secrets(self) -> None:
        """For validate and publish: in a project that manages its secrets with Unhazzle, a secret
        with no value is an error (plan only warns)."""
        if self.manages_secrets and self.secrets.problems:
            raise InputError(self.secrets.problems)


def compile_file(
    path: Path, *, display: str | None = None, enforce_budget: bool = True, spec_bytes: bytes | None = None
) -> Compiled:
    """Load, validate, size and price the spec at *path* (its bytes: *spec_bytes* when read
    already), with the secrets files next to it; raises InputError with every problem in the
    spec (missing secret values are in .secrets)."""
    document = (
        load_file(path, display=display, keep_going=True)
        if spec_bytes is None
        else load_bytes(spec_bytes, name=display or str(path), keep_going=True)
    )
    try:
        compiled = compile_document(document, enforce_budget=enforce_budget)
    except InputError as exc:  # the secrets files' own problems do not wait for the spec's
        raise InputError([*exc.problems, *read_stores(path, display=display)[1]]) from None
    return with_secrets(compiled, load_stores(path, display=display))


def compile_text(text: str | bytes, *, name: str = "unhazzle.yaml", enforce_budget: bool = True) -> Compiled:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return compile_document(load_bytes(raw, name=name, keep_going=True), enforce_budget=enforce_budget)


def compile_document(document: Document, *, enforce_budget: bool = True) -> Compiled:
    """The pipeline; with *enforce_budget* off, a spec over budget still compiles (the preview
    shows the base of a change that way)."""
    problems: list[Problem] = list(document.problems)  # keys written twice: checked with the rest
    positions = document.positions
    spec: Spec | None = None
    refused: list[SpecPath] = []  # where the model refuses the spec
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as exc:
        problems += problems_from(exc, positions=positions, root=Spec, prefixes=[()])
        refused = [tuple(detail["loc"]) for detail in exc.errors()]
    checked = cross_check(document.data, positions, document.text)
    problems += checked
    rates = current_rates()
    # Until the spec validates there is no plan of it all: the checks that need only their own
    # part of the spec (a size against a server) run on its raw data, and those that need a plan
    # on the part of the spec that is valid, so their errors come with the rest.
    if spec is None or problems:
        found: list[Problem] = []
        if len(problems) <= _MOST_FOR_PART:
            at = PathsAt(positions)
            invalid = units_of([*_paths(at, document.problems), *refused])
            found = _in_valid_part(document, invalid, units_of(_paths(at, checked)), rates, at)
            found = _new(found, problems, at)
        raise InputError([*_with_oversized(problems, document.data, rates, positions), *found])
    resolved, merge_problems = resolve(spec, positions)
    jobs, job_problems = resolve_jobs(spec, positions)
    if merge_problems or job_problems:
        problems = [*merge_problems, *job_problems]
        found = _in_valid_part(document, set(), _unmerged(spec, resolved, jobs), rates, PathsAt(positions))
        raise InputError([*_with_oversized(problems, document.data, rates, positions), *found])
    plan = build_plan(spec, resolved, jobs=jobs)
    problems = _whole_plan_problems(plan, rates, positions)
    cost = price_plan(plan, rates)
    if enforce_budget or problems:  # (a spec with other errors is not planned: its budget is said too)
        problems += budget_problems(spec, cost, document.positions)
    if problems:
        raise InputError(problems)
    return Compiled(document=document, spec=spec, plan=plan, cost=cost)


def _with_oversized(problems: list[Problem], data: Any, rates: Rates, positions: Positions) -> list[Problem]:
    """*problems* with the sizes too big for a server, as the spec writes them: where one is also
    beyond the model's own bound (`cpu: 99`, "at most 64"), the server's limit is what is said."""
    over = oversized_as_written(data, rates, positions)
    places = {(p.line, p.column, _field(p)) for p in over}  # (an alias can put two fields at one place)
    kept = [
        p
        for p in problems
        if (p.line, p.column, _field(p)) not in places or " is too large: " not in p.message
    ]
    return [*kept, *over]


def _field(problem: Problem) -> str:
    """The field a problem is about, as its message names it last: `cpu` of `apps.web.size.cpu:`."""
    return problem.message.partition(": ")[0].rpartition(".")[2]


def _whole_plan_problems(plan: Plan, rates: Rates, positions: Positions) -> list[Problem]:
    """Placement and object sizes read the same whole plan; neither changes what the other sees."""
    return placement_problems(plan, rates, positions) + oversized_objects(plan, positions)


# With hundreds of mistakes the part that is valid is not looked for (each round checks it
# again): the checks of a whole plan then wait for fewer.
_MOST_FOR_PART = 500

# Each round takes out what the last found wrong (an app whose reference named a database taken
# out in the round before, say); a handful is plenty, and a spec that needs more says the rest
# once it is fixed.
_ROUNDS = 5


def _in_valid_part(
    document: Document, invalid: set[Unit] | None, flawed: set[Unit] | None, rates: Rates, at: PathsAt
) -> list[Problem]:
    """What merging the overrides, and then the checks of a whole plan, find in the part of the
    spec that is valid: without the *invalid* entries (the model refuses them) for merging, and
    without the *flawed* ones too (a reference to nothing, say) for the plan. None when no such
    part can be told (a problem in what cannot be taken out, like the region). The budget is not
    checked: what a part costs is not what the spec costs."""
    data = document.data
    if invalid is None or not isinstance(data, dict):
        return []
    valid = _valid(document, invalid)
    if valid is None:
        return []
    invalid, spec = valid
    resolved, merge_problems = resolve(spec, document.positions)
    jobs, job_problems = resolve_jobs(spec, document.positions)
    found = [*merge_problems, *job_problems]
    if flawed is None:
        return found
    units = invalid | flawed | _unmerged(spec, resolved, jobs)
    for _ in range(_ROUNDS):
        valid = _valid(document, units)
        if valid is None:
            return found
        units, spec = valid
        checked = cross_check(without(data, units), document.positions, document.text)
        resolved, _ = resolve(spec, document.positions)
        jobs, _ = resolve_jobs(spec, document.positions)
        more = units_of(_paths(at, checked))
        more = None if more is None else more | _unmerged(spec, resolved, jobs)
        if more == set():
            plan = build_plan(spec, resolved, jobs=jobs)
            return found + _whole_plan_problems(plan, rates, document.positions)
        if more is None or more <= units:  # nothing more can be taken out, or nothing new
            return found
        units = units | more
    return found


def _valid(document: Document, units: set[Unit]) -> tuple[set[Unit], Spec] | None:
    """The spec without *units* and whatever else the model then refuses, and what was taken out;
    None when what it refuses cannot be taken out."""
    for _ in range(_ROUNDS):
        try:
            return units, Spec.model_validate(without(document.data, units))
        except ValidationError as exc:
            more = units_of(tuple(detail["loc"]) for detail in exc.errors())
        if more is None or more <= units:
            return None
        units = units | more
    return None


def _new(found: list[Problem], said: list[Problem], at: PathsAt) -> list[Problem]:
    """*found* without what *said* has said already: the same words (past where) of the same
    entry, as a merged app's min over its max is found by the merge and by the cross-checks."""
    if not found:
        return []
    units = [unit_of(path) if path is not None else None for path in _paths(at, said)]
    known = {(unit, _words(problem)) for unit, problem in zip(units, said, strict=True)}
    paths = _paths(at, found)
    return [
        problem
        for path, problem in zip(paths, found, strict=True)
        if (unit_of(path) if path is not None else None, _words(problem)) not in known
    ]


def _words(problem: Problem) -> str:
    return problem.message.partition(": ")[2]


def _unmerged(spec: Spec, resolved: Resolved, jobs: ResolvedJobs) -> set[Unit]:
    """The apps and jobs that some environment could not merge (resolve left them out)."""
    apps = {("apps", name) for name in spec.apps if any(name not in env for env in resolved.values())}
    return apps | {("jobs", name) for name in spec.jobs if any(name not in env for env in jobs.values())}


def _paths(at: PathsAt, problems: list[Problem]) -> list[SpecPath | None]:
    """Where in the spec's data each of *problems* (found on the raw data, located in the file)
    stands."""
    return [at(problem.line, problem.column) for problem in problems]


def with_secrets(compiled: Compiled, stores: dict[str, SecretStore]) -> Compiled:
    """*compiled* checked against *stores*: findings, plan warnings for missing values, and the
    checksum each app with secrets carries into its manifests."""
    findings = check_secrets(compiled.plan, compiled.document.positions, stores)
    missing = {(m.environment, m.app, m.name) for m in findings.missing}

    def apps(env: EnvPlan) -> list[AppPlan]:
        keyless = not compiled.spec.recipients(env.name)
        return [_app_with_secrets(env, app, stores, missing, keyless=keyless) for app in env.apps]

    def jobs(env: EnvPlan) -> list[JobPlan]:
        store = stores.get(env.name) or SecretStore(environment=env.name)
        return [
            replace(job, secrets_checksum=secrets_checksum(_present(store, job.name, job.secrets)))
            if job.secrets
            else job
            for job in env.jobs
        ]

    environments = [replace(env, apps=apps(env), jobs=jobs(env)) for env in compiled.plan.environments]
    plan = replace(compiled.plan, environments=environments)
    return replace(compiled, plan=plan, stores=stores, secrets=findings)


def _app_with_secrets(
    env: EnvPlan,
    app: AppPlan,
    stores: dict[str, SecretStore],
    missing: set[tuple[str, str, str]],
    *,
    keyless: bool,
) -> AppPlan:
    if not app.secrets:
        return app
    store = stores.get(env.name) or SecretStore(environment=env.name)
    present = _present(store, app.name, app.secrets)
    first = "`unhazzle secrets keygen` (no key to encrypt to yet), then " if keyless else ""
    notes = [
        f"secret {name} has no value yet; set it with {first}`{fix_command(env.name, app.name, name)}`"
        for name in app.secrets
        if (env.name, app.name, name) in missing
    ]
    return replace(app, warnings=[*app.warnings, *notes], secrets_checksum=secrets_checksum(present))


def _present(store: SecretStore, name: str, secrets: list[str]) -> dict[str, str]:
    return used_ciphertexts(store, {name: secrets}).get(name, {})


# The name `plan` shows a preview environment under, and `validate` checks one as: any preview
# `preview-env up` makes differs from it only by its name.
SAMPLE_PREVIEW = "preview"


def compile_preview(compiled: Compiled, name: str) -> tuple[Compiled, PreviewSpec]:
    """Preview environment *name* of the project *compiled* (its spec has `previews:`), with the
    copied environment's secret values that previews may have."""
    spec = compiled.spec
    assert spec.previews is not None  # the command says so first, in words
    source = compiled.plan.environment(spec.previews.from_)
    made = preview_spec(compiled.document.data, compiled.document.positions, spec, source, name)
    preview = compile_document(
        Document(made.data, made.positions, compiled.document.text), enforce_budget=False
    )
    environments = [replace(env, disposable=True) for env in preview.plan.environments]
    preview = replace(preview, plan=replace(preview.plan, environments=environments))
    store = compiled.stores.get(source.name)
    stores = {}
    if store is not None:
        given = set(made.secrets)
        apps = {
            app: {n: value for n, value in values.items() if n in given}
            for app, values in store.apps.items()
            if app in made.apps
        }
        stores[name] = SecretStore(environment=name, recipients=store.recipients, apps=apps)
    return with_secrets(preview, stores), made
