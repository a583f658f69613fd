"""`unhazzle init [SPEC]`: the questionnaire that writes a commented unhazzle.yaml, or adds an app
to an existing one (`--app NAME --image IMAGE`). Every answer is also a flag; without a terminal
(or with --yes) only flags and defaults are used, and the missing ones are named."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from unhazzle.commands.common import add_registry_options, add_spec, parse_image, registry_options
from unhazzle.commands.initflags import (
    PROVIDERS,
    Answered,
    check_database_answer,
    db_region_problem,
    domain_problem,
    exposure_problems,
    flag_problems,
    health_problem,
    image_problem,
    name_problem,
    port_number,
    port_problem,
    secret_problem,
    spec_problems,
)
from unhazzle.compiler.editing.scaffold import (
    AppAnswers,
    DatabaseAnswers,
    ProjectAnswers,
    ScaffoldProblem,
    add_app,
    database_name,
    new_spec,
)
from unhazzle.compiler.images.inspection import ImageInfo, human_size, root_note, writable_folders
from unhazzle.compiler.pipeline import Compiled, compile_file, compile_text
from unhazzle.compiler.presentation.report import plan_json
from unhazzle.compiler.rules.questions import SIZING, questions
from unhazzle.compiler.spec.model import Spec
from unhazzle.compiler.write import edit_file_atomic
from unhazzle.errors import InputError, OperationError, Problem, UsageError
from unhazzle.prompt import Prompter

DEFAULT_ENVIRONMENTS = ["production", "staging"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "init",
        help="answer a few questions, get a commented unhazzle.yaml",
        description="Write a new unhazzle.yaml from a few questions, or add an app to an existing one "
        "with --app NAME --image IMAGE. Every answer can be given as a flag.",
    )
    add_spec(parser)
    parser.set_defaults(check_flags=_flags_alone)  # (said with argparse's refusals: commands/flags.py)
    parser.add_argument("--project", metavar="NAME")
    # Values are checked by initflags, not argparse, whose first refusal would hide the rest.
    parser.add_argument("--region", metavar=_choices("region"))
    parser.add_argument("--env", action="append", metavar="NAME", help="an environment (repeat for more)")
    parser.add_argument("--app", metavar="NAME", help="the app's name")
    parser.add_argument("--image", metavar="IMAGE", help="the app's image, e.g. ghcr.io/acme/web:1.0")
    parser.add_argument("--port", metavar="PORT", help="default: the image's only exposed port")
    parser.add_argument("--public", action=argparse.BooleanOptionalAction, help="reachable from the internet")
    parser.add_argument(
        "--domain", action="append", metavar="NAME", help="a domain of a public app (repeat for more)"
    )
    parser.add_argument("--health-path", metavar="PATH", help="the path that answers when the app is healthy")
    parser.add_argument(
        "--secret", action="append", metavar="NAME", help="a secret the app needs (repeat for more)"
    )
    parser.add_argument(
        "--database",
        metavar="PROVIDER|NAME",
        help="an external database the app uses: who runs it (aiven, supabase, external), or the name "
        "of one the spec has; its URL becomes a secret",
    )
    parser.add_argument("--database-region", metavar="REGION", help="where it runs, e.g. aws-eu-central-1")
    parser.add_argument(
        "--database-secret", metavar="NAME", help="the secret holding its URL (default: DATABASE_URL)"
    )
    for key in SIZING:
        parser.add_argument(f"--{key}", metavar=_choices(key))
    parser.add_argument("--yes", action="store_true", help="ask nothing: flags, then defaults")
    parser.add_argument("--force", action="store_true", help="replace an existing spec")
    parser.add_argument("--no-inspect", action="store_true", help="do not read the image from its registry")
    add_registry_options(parser)
    parser.set_defaults(run=run)


def _choices(key: str) -> str:
    return "{" + ",".join(questions()[key].choices) + "}"


def run(args: argparse.Namespace) -> int:
    path = Path(args.spec)
    try:
        unwritable = _unwritable(path)
        adding = path.exists() and not args.force
    except OSError as exc:  # a name the file system refuses: too long, say
        raise UsageError(
            f"{args.spec}:1:1: error: cannot write a spec there: {exc.strerror or exc}"
        ) from None
    if unwritable:  # said with the flags' problems, before any question is asked
        adding = False
    elif adding and (args.app is None or args.project or args.region or args.env):
        raise UsageError(
            f"{args.spec}:1:1: error: already exists; add an app with "
            "`unhazzle init --app NAME --image IMAGE`, or start over with --force"
        )
    interactive = sys.stdin.isatty() and not args.yes
    existing, broken = _existing(path, args) if adding else (None, [])
    spec = existing.spec if existing else None
    broken += [f"{args.spec}:1:1: error: cannot write a spec there: {unwritable}"] if unwritable else []
    _check_flags(args, adding=adding, interactive=interactive, existing=existing, broken=broken)
    ask = Questionnaire(args, Prompter() if interactive else None)
    try:
        return ask.run(path, existing=spec)
    except KeyboardInterrupt:
        print(f"\nunhazzle init: stopped; {args.spec} was not written", file=sys.stderr)
        return 130


def _unwritable(path: Path) -> str:
    """Why no spec can be written at *path* (a folder there, or a file where a folder on the way
    must be), or ""."""
    if path.is_dir():
        return f"it is a folder; name the file (--spec {path / 'unhazzle.yaml'})"
    for parent in path.parents:
        if parent.exists():
            return "" if parent.is_dir() else f"{parent} is a file, not a folder"
    return ""


def _flags_alone(args: argparse.Namespace) -> list[str]:
    """What the flags show by themselves, without the spec an app would be added to."""
    return flag_problems(args, interactive=sys.stdin.isatty() and not args.yes, databases=None)


def _existing(path: Path, args: argparse.Namespace) -> tuple[Compiled | None, list[str]]:
    """The spec an app is added to, or its problems (said with those of the flags)."""
    try:
        return compile_file(path, display=args.spec), []
    except InputError as exc:
        return None, exc.lines()


def _check_flags(
    args: argparse.Namespace, *, adding: bool, interactive: bool, existing: Compiled | None, broken: list[str]
) -> None:
    spec = existing.spec if existing else None
    databases = list(spec.databases) if spec else None if adding else []
    problems = [*broken, *flag_problems(args, interactive=interactive, databases=databases)]
    for section, what in (("apps", "an app"), ("jobs", "a job")):  # (as adding it would say, with the rest)
        if existing and args.app in getattr(existing.spec, section):
            positions = existing.document.positions
            line, col = positions.of_key((section, args.app))
            said = f"already has {what} named '{args.app}'; pick another name"
            problems.append(f"{positions.file}:{line}:{col}: error: {said}")
    if not interactive:
        wanted = {"--app NAME": args.app, "--image IMAGE": args.image}
        if not adding:
            wanted = {"--project NAME": args.project, **wanted}
        missing = [flag for flag, value in wanted.items() if value is None]
        if missing:
            why = "--yes was given" if args.yes else "stdin is not a terminal"
            problems.append(
                f"unhazzle init: error: {why}, so the answers come from flags; missing: {', '.join(missing)}"
            )
    if problems:
        raise UsageError("\n".join(problems))


class Questionnaire:
    """One run of the questions: each answer from its flag, else asked (with a terminal), else
    its default."""

    def __init__(self, args: argparse.Namespace, prompter: Prompter | None) -> None:
        self.args = args
        self.ask = prompter
        self.databases: list[str] = []  # those of the spec an app is added to

    def say(self, text: str = "") -> None:
        if self.ask:
            self.ask.say(text)

    def run(self, path: Path, *, existing: Spec | None) -> int:
        """Ask, then write a new spec, or add the app to *existing* (the spec at *path*)."""
        self.say("unhazzle init: a few questions, then a commented unhazzle.yaml.")
        self.say("Enter takes the [default]; Ctrl-C stops without writing anything.\n")
        if existing is not None:
            apps, self.databases = list(existing.apps), list(existing.databases)
            written = path.read_text(encoding="utf-8")
            app = self.app(taken=apps)
            try:
                text = add_app(written, app)
            except ScaffoldProblem as exc:
                raise InputError([Problem(str(self.args.spec), exc.line, exc.column, str(exc))]) from None
        else:
            project = self.project()
            app = self.app(taken=[])
            text = new_spec(project, app)
        return self.finish(path, text, app, adding=existing is not None)

    def project(self) -> ProjectAnswers:
        args = self.args
        name = args.project or self._text(
            "Project name (lowercase letters, digits and '-')",
            default=_default_project(),
            check=lambda a: name_problem(a, 30),
        )
        region_q = questions()["region"]
        region = args.region or self._choose("region", default=region_q.default)
        envs = args.env or self._environments()
        return ProjectAnswers(name, region, list(dict.fromkeys(envs)))

    def _environments(self) -> list[str]:
        if not self.ask:
            return DEFAULT_ENVIRONMENTS
        answer = self.ask.text(
            "Environments, separated by commas",
            default=", ".join(DEFAULT_ENVIRONMENTS),
            check=_environments_problem,
        )
        return _split(answer)

    def app(self, *, taken: list[str]) -> AppAnswers:
        args = self.args
        image = args.image or self._text("Image of the app (e.g. ghcr.io/acme/web:1.0)", check=image_problem)
        info = self.inspect(image)
        name = args.app or self._text(
            "App name", default=_default_app(image, taken), check=lambda a: _app_problem(a, taken)
        )
        if info and info.root:
            self.warn_root()
        port, note = self.port(info)
        public = False
        if port is not None:
            public = (
                args.public
                if args.public is not None
                else self._confirm("Public: reachable from the internet over HTTPS?", default=False)
            )
        problems = exposure_problems(args, port=port, public=public)  # those the flags could not say yet
        if problems:
            raise UsageError("\n".join(problems))
        profile = self.profile(has_port=port is not None)
        domains = self._listed(
            args.domain, "Your domains for it, separated by commas (empty: an address Unhazzle gives)",
            domain_problem, when=public,
        )  # fmt: skip
        health = args.health_path
        if health is None and port is not None and self.ask:
            health = self.ask.text(
                "Health check path, e.g. /healthz (empty: its port accepting connections is enough)",
                default="",
                check=health_problem,
            )
        secrets = self._listed(
            args.secret,
            "Secrets it needs, separated by commas (names only; values come later)",
            secret_problem,
        )
        database = self.database(name)
        writable = writable_folders(info) if info else []
        if writable:
            self.say(f"Writable: {', '.join(writable)} (the folders the image declares it writes to)")
        return AppAnswers(
            name,
            image,
            port,
            public,
            profile,
            port_note=note,
            root_image=bool(info and info.root),
            writable=writable,
            workdir=info.workdir if info else None,
            domains=domains,
            health_path=health or None,
            secrets=secrets,
            database=database,
        )

    def database(self, app: str) -> DatabaseAnswers | str | None:
        """A new external database, the name of one the spec has, or None; asked for, or given
        by --database and its two flags."""
        args = self.args
        choice = args.database
        if choice is None and self.ask:
            ours = dict.fromkeys(self.databases, "the project's, already in the spec")
            choices = {"none": "no", **ours, **PROVIDERS}
            choice = self._choose_from("Does it use a database that runs elsewhere?", choices, "none")
        if choice not in PROVIDERS:  # none, or one the spec has (the flags were checked)
            check_database_answer(args)
            return choice if choice in self.databases else None
        region = args.database_region or (
            self.ask.text("Its region", default=DEFAULT_DB_REGION[choice], check=db_region_problem)
            if self.ask
            else DEFAULT_DB_REGION[choice]
        )
        secret = args.database_secret or "DATABASE_URL"
        return DatabaseAnswers(choice, region, secret, database_name(self.databases, app))

    def _listed(self, given: list[str] | None, label: str, check: Any, *, when: bool = True) -> list[str]:
        """A list asked for as comma-separated text, or given by a repeated flag (checked alike,
        with the other flags)."""
        if given is not None:
            return list(dict.fromkeys(given))
        if not (when and self.ask):
            return []
        answer = self.ask.text(
            label, default="", check=lambda t: next(filter(None, map(check, _split(t))), None)
        )
        return list(dict.fromkeys(_split(answer)))

    def inspect(self, image: str) -> ImageInfo | None:
        if self.args.no_inspect:
            return None
        from unhazzle.compiler.images.registry import Registry, RegistryError

        self.say(f"Reading {image} from its registry ...")
        try:
            with Registry(registry_options(self.args)) as registry:
                info = registry.inspect(parse_image(image, flag="--image"))
        except RegistryError as exc:
            if not self.ask:
                raise OperationError(f"{exc} (skip reading the image with --no-inspect)") from None
            self.say(f"  could not read it: {exc}\n  carrying on without it.")
            return None
        ports = ", ".join(info.ports) or "no ports"
        user = f"user {info.user}" if info.user else "root"
        self.say(f"  {info.digest}: exposes {ports}; runs as {user}; {human_size(info.compressed_size)}")
        return info

    def warn_root(self) -> None:
        message = f"warning: {root_note()}"
        if self.ask:
            self.say(f"  {message}")
        else:
            print(f"unhazzle init: {message}", file=sys.stderr)

    def port(self, info: ImageInfo | None) -> tuple[int | None, str]:
        if self.args.port is not None:
            return port_number(self.args.port), ""  # checked with the other flags
        ports = info.port_numbers if info else []
        if len(ports) == 1:
            self.say(f"Port: {ports[0]} (the only port the image exposes)")
            return ports[0], "the only port the image exposes"
        if len(ports) > 1 and not self.ask:
            listed = ", ".join(map(str, ports))
            raise UsageError(
                f"--port: error: the image exposes {listed}; say which one the app serves on with --port"
            )
        if len(ports) > 1:
            choices = {str(p): "exposed by the image" for p in ports}
            return int(self._choose_from("Which port does the app serve on?", choices, str(ports[0]))), ""
        if not self.ask:
            return None, ""
        answer = self.ask.text(
            "Port the app listens on (empty: it serves nothing, like a worker)",
            check=lambda a: None if not a else port_problem(a),
        )
        return (port_number(answer), "") if answer else (None, "")

    def profile(self, *, has_port: bool) -> dict[str, str]:
        self.say("\nFive questions size the app; change any answer later in the file.")
        out = {}
        for number, key in enumerate(SIZING, 1):
            question = questions()[key]
            default = question.default_for(has_port=has_port)
            given = getattr(self.args, key)
            ask, choices = question.wording(has_port=has_port)
            out[key] = given or (
                self.ask.choose(f"({number}/5) {ask}", choices, default=default, explain=question.explain)
                if self.ask
                else default
            )
        return out

    def finish(self, path: Path, text: str, app: AppAnswers, *, adding: bool) -> int:
        spec = self.compiled(text, app, adding=adding)
        summary = preview(spec, app.name)
        if self.ask:
            self.say("")
        print("\n".join(summary))
        if self.ask and not self.ask.confirm(f"Write {self.args.spec}?", default=True):
            self.say("Nothing written.")
            return 0
        try:
            edit_file_atomic(path, text)
        except OSError as exc:
            raise UsageError(f"{self.args.spec}:1:1: error: cannot write it: {exc.strerror or exc}") from None
        keyless = any(not spec.spec.recipients(env) for env in spec.spec.environments)
        wants = any(app.secrets for app in spec.spec.apps.values()) or bool(spec.spec.databases)
        # Values need a key to be encrypted to before `secrets set` can store one.
        first = "`unhazzle secrets keygen` (a key for the secrets), then " if wants and keyless else ""
        print(f"wrote {self.args.spec}; next: {first}`unhazzle plan {self.args.spec}`")
        return 0

    def compiled(self, text: str, app: AppAnswers, *, adding: bool) -> Compiled:
        """The spec the answers make, compiled; its problems are said as the flags that gave them
        (it is not written, so its lines are nowhere to be seen)."""
        try:
            return compile_text(text, name=self.args.spec)
        except InputError as exc:
            database = app.database.name if isinstance(app.database, DatabaseAnswers) else None
            answered = Answered(app.name, database, project=not adding)
            lines = spec_problems(exc.problems, text, name=self.args.spec, answered=answered)
            raise UsageError("\n".join(lines)) from None

    def _text(self, label: str, *, default: str | None = None, check: Any = None) -> str:
        if not self.ask:  # flags-only runs checked the required flags already
            raise UsageError(f"unhazzle init: error: missing {label}")
        return self.ask.text(label, default=default, check=check)

    def _choose(self, key: str, *, default: str, label: str | None = None) -> str:
        question = questions()[key]
        if not self.ask:
            return default
        return self.ask.choose(
            label or question.ask, question.choices, default=default, explain=question.explain
        )

    def _choose_from(self, label: str, choices: dict[str, str], default: str) -> str:
        assert self.ask is not None
        return self.ask.choose(label, choices, default=default)

    def _confirm(self, label: str, *, default: bool) -> bool:
        return self.ask.confirm(label, default=default) if self.ask else default


def preview(compiled: Compiled, app: str) -> list[str]:
    """What the app would get in each environment: instances, size and, when priced, cost."""
    data = plan_json(compiled.plan)
    lines = [f"{app} will run:"]
    width = max(len(env["name"]) for env in data["environments"])
    for env in data["environments"]:
        entry = next(a for a in env["apps"] if a["name"] == app)
        low, high = entry["instances"]["min"], entry["instances"]["max"]
        count = f"{low} instance{'s' * (low != 1)}" if low == high else f"{low}-{high} instances"
        line = (
            f"  {env['name']:<{width}}  {count}, {entry['cpu']['request']:g} vCPU (up to "
            f"{entry['cpu']['limit']:g}) and {entry['memory_mb']['request']} MB each"
        )
        cost = entry.get("cost_eur_month")
        if isinstance(cost, dict):
            line += f", {cost['min']:.2f}-{cost['max']:.2f} EUR a month"
        lines.append(line)
    return lines


def _default_project() -> str | None:
    name = re.sub(r"[^a-z0-9-]+", "-", Path.cwd().name.lower()).strip("-")
    return name if name and name_problem(name, 30) is None else None


def _default_app(image: str, taken: list[str]) -> str:
    last = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    name = re.sub(r"[^a-z0-9-]+", "-", last.lower()).strip("-")
    if name_problem(name, 30) or name in taken:
        return "web" if "web" not in taken else f"app{len(taken) + 1}"
    return name


def _app_problem(name: str, taken: list[str]) -> str | None:
    if name in taken:
        return f"there is already an app named '{name}'"
    return name_problem(name, 30)


DEFAULT_DB_REGION = {"aiven": "aws-eu-central-1", "supabase": "eu-central-1", "external": "eu-central-1"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _environments_problem(text: str) -> str | None:
    names = _split(text)
    if not names:
        return "name at least one environment"
    for name in names:
        problem = name_problem(name, 20)
        if problem:
            return f"'{name}': {problem}"
    return None
