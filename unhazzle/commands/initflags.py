"""`unhazzle init`'s answers given as flags, checked as the spec will check them: every problem
the flags show is said at once, each as `--FLAG: error: MESSAGE`, before anything is asked or
read from a registry. A problem only the whole spec shows is said as the flag that gave it too:
that spec is never written, so a line and column in it would point at nothing."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass

from unhazzle.commands.common import parse_image, read_ca_file
from unhazzle.compiler.rules.questions import SIZING, questions
from unhazzle.compiler.spec.load import load_bytes
from unhazzle.compiler.spec.model import (
    DOMAIN_RE,
    ENV_VAR_RE,
    HEALTH_PATH_RE,
    MAX_ENV_NAME,
    MAX_NAME,
    NAME_RE,
)
from unhazzle.compiler.spec.positions import Path
from unhazzle.compiler.spec.suggest import hint
from unhazzle.errors import InputError, Problem, UsageError, printable, shortened
from unhazzle.shared.numbers import whole_number

_NAME = re.compile(NAME_RE)
PROVIDERS = {"aiven": "Aiven", "supabase": "Supabase", "external": "any other, reached over TLS"}


def said(flag: str, message: str) -> str:
    """One flag's problem, on one line."""
    return f"{flag}: error: {printable(shortened(message))}"


def flag_problems(args: argparse.Namespace, *, interactive: bool, databases: list[str] | None) -> list[str]:
    """Every problem the flags show by themselves, in the order `--help` lists them. *databases*:
    those of the spec an app is added to (None when that spec is broken: its own errors say so)."""
    out = _name_problems(args, ["--project"])
    out += _choice_problems(args, ["region"])
    out += _name_problems(args, ["--env", "--app"])
    out += _app_problems(args)
    out += _database_problems(args, interactive=interactive, databases=databases)
    out += _choice_problems(args, list(SIZING))
    known = _known_exposure(args, interactive=interactive)
    if known is not None:
        out += exposure_problems(args, port=known[0], public=known[1])
    if args.ca_file is not None and (why := read_ca_file(args.ca_file)[1]):
        out.append(said("--ca-file", f"{args.ca_file}: {why}"))
    return out


def exposure_problems(args: argparse.Namespace, *, port: int | None, public: bool | None) -> list[str]:
    """What the flags ask of an app with *port* (None: it serves nothing) that is *public* (None:
    not known yet, it is asked)."""
    out = []
    if port is None and args.public:
        out.append(said("--public", "a public app needs a port to serve on; give --port too"))
    if port is None and args.health_path:  # the spec refuses `health:` without a port alike
        out.append(said("--health-path", "a health check needs the app's port; give --port too"))
    if args.domain and public is False:
        give = "--public" if port is not None else "--port and --public"
        out.append(said("--domain", f"domains are for a public app; give {give} too"))
    return out


def _known_exposure(args: argparse.Namespace, *, interactive: bool) -> tuple[int | None, bool | None] | None:
    """The app's port and whether it is public, when the flags alone say; None while the port
    may still come from the image or an answer (checked once it is known)."""
    if args.port is not None:
        port = port_number(args.port)
        if port is None:
            return None  # its own problem is said
    elif args.no_inspect and not interactive:
        return None, False
    else:
        return None
    return port, args.public if args.public is not None or interactive else False


def _name_problems(args: argparse.Namespace, flags: list[str]) -> list[str]:
    given = {"--project": [args.project], "--env": args.env or [], "--app": [args.app]}
    limit = {"--project": MAX_NAME, "--env": MAX_ENV_NAME, "--app": MAX_NAME}
    return [
        said(flag, f"'{value}': {problem}")
        for flag in flags
        for value in given[flag]
        if value is not None and (problem := name_problem(value, limit[flag]))
    ]


def _choice_problems(args: argparse.Namespace, keys: list[str]) -> list[str]:
    out = []
    for key in keys:
        value, choices = getattr(args, key), questions()[key].choices
        if value is not None and value not in choices:
            out.append(
                said(
                    f"--{key}",
                    f"'{value}' is not allowed; choose {' | '.join(choices)}{hint(value, choices)}",
                )
            )
    return out


def _app_problems(args: argparse.Namespace) -> list[str]:
    out = []
    if args.image is not None and (problem := image_problem(args.image)):
        out.append(said("--image", problem))
    if args.port is not None and (problem := port_problem(args.port)):
        out.append(said("--port", f"'{args.port}': {problem}"))
    listed: list[tuple[str, Callable[[str], str | None], list[str]]] = [
        ("--domain", domain_problem, args.domain or []),
        ("--health-path", health_problem, [] if args.health_path is None else [args.health_path]),
        ("--secret", secret_problem, args.secret or []),
    ]
    for flag, check, values in listed:
        out += [said(flag, problem) for value in values if (problem := check(value))]
    return out


def _database_problems(
    args: argparse.Namespace, *, interactive: bool, databases: list[str] | None
) -> list[str]:
    out = []
    choice = args.database
    new = choice in PROVIDERS
    if choice not in (None, "none") and not new and databases is not None and choice not in databases:
        out.append(said("--database", f"'{choice}' is none of {', '.join([*PROVIDERS, *databases])}"))
    # (said when no new database will be asked for: none, or one the spec has, was chosen)
    no_new = choice == "none" or choice in (databases or []) or (choice is None and not interactive)
    given = {"--database-region": args.database_region, "--database-secret": args.database_secret}
    out += [said(flag, NEEDS_NEW_DATABASE) for flag, value in given.items() if value is not None and no_new]
    if args.database_region is not None and (problem := db_region_problem(args.database_region)):
        out.append(said("--database-region", problem))
    if args.database_secret is not None and (problem := secret_problem(args.database_secret)):
        out.append(said("--database-secret", problem))
    return out


*_OTHERS, _LAST = PROVIDERS
NEEDS_NEW_DATABASE = f"only describes a new database: give --database {', '.join(_OTHERS)} or {_LAST}"


def check_database_answer(args: argparse.Namespace) -> None:
    """After the database question was answered none, or one the spec has: the flags that
    describe a new one have nothing to describe."""
    given = {"--database-region": args.database_region, "--database-secret": args.database_secret}
    if any(given.values()):
        raise UsageError("\n".join(said(flag, NEEDS_NEW_DATABASE) for flag, value in given.items() if value))


def name_problem(name: str, limit: int) -> str | None:
    if not _NAME.match(name) or len(name) > limit:
        return f"use lowercase letters, digits and '-', starting with a letter, at most {limit} characters"
    return None


def port_number(text: str) -> int | None:
    """*text* as a port (1 to 65535 in ASCII digits), else None; never converts a long text."""
    port = whole_number(text, most_digits=5)
    return port if port is not None and 1 <= port <= 65535 else None


def port_problem(text: str) -> str | None:
    return None if port_number(text) is not None else "a port is a number from 1 to 65535"


def image_problem(text: str) -> str | None:
    try:
        parse_image(text)
    except UsageError as exc:
        return str(exc).split("error: ", 1)[-1]
    return None


def domain_problem(text: str) -> str | None:
    return None if re.match(DOMAIN_RE, text) else f"'{text}' is not a domain name like shop.example.com"


def health_problem(text: str) -> str | None:
    return None if not text or re.match(HEALTH_PATH_RE, text) else f"'{text}' is not a path like /healthz"


def db_region_problem(text: str) -> str | None:
    ok = re.match(r"^[a-z0-9][a-z0-9-]{0,63}$", text)
    return (
        None if ok else f"'{text}' is not a region (lowercase letters, digits and -, e.g. aws-eu-central-1)"
    )


def secret_problem(text: str) -> str | None:
    return None if re.match(ENV_VAR_RE, text) else f"'{text}' is not a secret name (letters, digits and _)"


@dataclass(frozen=True)
class Answered:
    """What the answers wrote into the spec: the app, a new database, and (for a new spec) the
    project, its region and environments."""

    app: str
    database: str | None
    project: bool


# The app's keys the flags write (profile's answers are --traffic, --latency, ... by their key).
APP_FLAGS = {
    "image": "--image",
    "port": "--port",
    "public": "--public",
    "domains": "--domain",
    "health": "--health-path",
    "secrets": "--secret",
    "databases": "--database",
}


def spec_problems(problems: list[Problem], text: str, *, name: str, answered: Answered) -> list[str]:
    """The *problems* of the spec *text* the answers make, each said as the flag that wrote the
    key or value it stands at, or, where no flag did (a budget the added app exceeds, say), as
    init's own error, without a position."""
    try:
        positions = load_bytes(text.encode("utf-8"), name=name).positions
        located = [*positions.keys.items(), *positions.values.items()]
    except InputError:
        located = []
    paths: dict[tuple[int, int], list[Path]] = {}
    for path, where in located:
        paths.setdefault(where, []).append(path)
    out = []
    for problem in problems:
        here = sorted(paths.get((problem.line, problem.column), []), key=len, reverse=True)
        flag = next(filter(None, (flag_for(path, answered) for path in here)), None)
        out.append(said(flag or "unhazzle init", problem.message))
    return out


def flag_for(path: Path, answered: Answered) -> str | None:
    """The flag that wrote *path* of the spec, if one did (the deepest name wins: a domain's
    position is its domains', too)."""
    if answered.project and path in (("project",), ("region",)):
        return f"--{path[0]}"
    if answered.project and len(path) == 2 and path[0] == "environments":
        return "--env"
    if path[:2] == ("apps", answered.app):
        if len(path) == 2:
            return "--app"
        if path[2] == "profile":
            return f"--{path[3]}" if len(path) > 3 and path[3] in SIZING else None
        return APP_FLAGS.get(str(path[2]))
    if answered.database is not None and path[:2] == ("databases", answered.database):
        field = path[2] if len(path) > 2 else None
        return {"region": "--database-region", "secret": "--database-secret"}.get(str(field), "--database")
    return None
