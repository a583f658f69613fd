"""Does every secret an app lists have a value in every environment it runs in? Pure: the plan,
the spec's positions and the loaded secrets files in; located problems and warnings out.

A missing value is an error for `validate` and `publish` (an app would start without it) but only
a warning for `plan`, `render` and `explain`, so a new project can be explored before its secrets
exist. A stored value no app uses is a warning everywhere: harmless, but probably a leftover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unhazzle.compiler.planning.plan import EnvPlan, Plan, SecretUser, secret_users
from unhazzle.compiler.secrets.store import STORE_DIR, SecretStore
from unhazzle.compiler.spec.positions import Positions
from unhazzle.errors import Problem


class Notice(Problem):
    """A located warning: printed like a Problem, but it does not fail the command."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: warning: {self.message}"


@dataclass(frozen=True)
class Missing:
    """A secret an app needs in an environment that has no value there."""

    environment: str
    app: str
    name: str
    problem: Problem


@dataclass(frozen=True)
class SecretFindings:
    missing: list[Missing] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [m.problem for m in self.missing]


def check_secrets(plan: Plan, positions: Positions, stores: dict[str, SecretStore]) -> SecretFindings:
    """Every missing value, every unused one, and every file whose keys lag behind the spec."""
    missing: list[Missing] = []
    notices: list[Notice] = []
    for env in plan.environments:
        store = stores.get(env.name) or SecretStore(environment=env.name)
        users = secret_users(env)
        # the app a database's missing value is set through: its first user, found once per
        # environment (looking it up per missing value made 3,000 apps quadratic: seconds)
        first: dict[str, str] = {}
        for user in sorted(users, key=lambda u: u.name):
            for db in user.databases:
                first.setdefault(db, user.name)
        for user in users:
            missing += _missing(plan, env, user, store, positions, first)
        notices += _unused(env, store)
        notices += _stale_recipients(plan, env.name, store)
    known = {env.name for env in plan.environments}
    for name, store in sorted(stores.items()):
        if name not in known:
            notices.append(
                Notice(store.file, 1, 1, f"the spec has no environment '{name}'; delete this file")
            )
    return SecretFindings(missing=missing, notices=sorted(notices))


def fix_command(environment: str, app: str, name: str) -> str:
    return f"unhazzle secrets set {app} {name} --env {environment}"


def _missing(
    plan: Plan,
    env: EnvPlan,
    app: SecretUser,
    store: SecretStore,
    positions: Positions,
    first_user: dict[str, str],
) -> list[Missing]:
    values = store.apps.get(app.name, {})
    out = []
    for name in app.secrets:
        if name in values:
            continue
        line, col = _where(plan, env.name, app, name, positions)
        message = (
            f"environment {env.name}, {app.section[:-1]} {app.name}: secret {name} has no value; "
            f"set it with `{fix_command(env.name, app.name, name)}`"
        )
        db = _database_of(plan, app, name)
        if db is not None:  # one value for every app using it: said once (the same line for all)
            via = first_user[db]
            message = (
                f"environment {env.name}, database {db}: secret {name} has no value; set it once, "
                f"for every app that uses the database, with `{fix_command(env.name, via, name)}`"
            )
        out.append(Missing(env.name, app.name, name, Problem(positions.file, line, col, message)))
    return out


def _database_of(plan: Plan, app: SecretUser, name: str) -> str | None:
    """The database whose secret `name` is, when the app has it for that database alone."""
    if name in app.listed:
        return None
    for db in app.databases:
        database = plan.spec.databases.get(db)
        if database is not None and database.secret == name:
            return db
    return None


def _where(plan: Plan, environment: str, app: SecretUser, name: str, positions: Positions) -> tuple[int, int]:
    """The line that asks for the secret: the app's (or its override's) list, else the database."""
    if name in app.listed:
        index = app.listed.index(name)
        env = plan.spec.environments[environment]
        override = (env.apps if app.section == "apps" else env.jobs).get(app.name)
        base = (app.section, app.name, "secrets", index)
        if override is not None and override.secrets is not None:
            return positions.first_of(
                [("environments", environment, app.section, app.name, "secrets", index)], key=False
            )
        return positions.first_of([base], key=False)
    db = _database_of(plan, app, name)
    if db is not None:
        return positions.of_value(("databases", db, "secret"))
    return positions.of_key((app.section, app.name))


def _unused(env: EnvPlan, store: SecretStore) -> list[Notice]:
    used = {user.name: set(user.secrets) for user in secret_users(env)}
    notices = []
    for app, name in store.names():
        if name in used.get(app, set()):
            continue
        line, col = store.where(app, name)
        notices.append(Notice(store.file, line, col, unlisted(app, name, env.name, known=app in used)))
    return notices


def unlisted(app: str, name: str, environment: str, *, known: bool = True) -> str:
    """The one piece of advice for a value no app asks for, wherever it is met (secrets set,
    validate, secrets list): list it, or remove it."""
    remove = f"`unhazzle secrets unset {app} {name} --env {environment}`"
    if not known:
        return (
            f"environment {environment}: secret {name} is stored for '{app}', an app the spec does "
            f"not have; remove it with {remove}"
        )
    return (
        f"environment {environment}: app {app} does not list secret {name}: add it to apps.{app}.secrets "
        f"to use it, or remove the value with {remove}"
    )


def _stale_recipients(plan: Plan, environment: str, store: SecretStore) -> list[Notice]:
    if not store.names() or list(store.recipients) == plan.spec.recipients(environment):
        return []
    line, col = store.positions.of_key(("recipients",)) if store.positions else (1, 1)
    return [
        Notice(
            store.file or f"{STORE_DIR}/{environment}.yaml",
            line,
            col,
            f"environment {environment}: values are encrypted to other keys than the spec lists; "
            f"run `unhazzle secrets rekey --env {environment}`",
        )
    ]
