"""Writing unhazzle.yaml for `unhazzle init`: answers in, commented YAML text out.

Every key carries a comment saying what the answer means and how to change it, so the file teaches
its own format. A new app is added to an existing spec through a ruamel.yaml round trip, which
keeps the user's comments, quoting and layout. Pure: text and answers in, text out.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from unhazzle.compiler.editing.aliases import shared_on
from unhazzle.compiler.editing.settings import last_leaf, move_trailing_comment
from unhazzle.compiler.images.inspection import root_note
from unhazzle.compiler.rules.questions import SIZING, questions
from unhazzle.compiler.spec.load import PARSER_FAULT, PARSER_FAULTS
from unhazzle.compiler.spec.merge import badge_for
from unhazzle.compiler.spec.schema import SCHEMA_ID

MODELINE = f"yaml-language-server: $schema={SCHEMA_ID}"


class ScaffoldProblem(ValueError):
    """The existing spec cannot take the new app; the message says why, *line* and *column* where."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


@dataclass(frozen=True)
class AppAnswers:
    name: str
    image: str
    port: int | None
    public: bool
    profile: dict[str, str]  # the five sizing answers
    port_note: str = ""  # where the port came from, e.g. "the only port the image exposes"
    root_image: bool = False
    writable: list[str] = field(default_factory=list)  # the folders the image declares it writes to
    workdir: str | None = None  # the image's working directory, named in the writable comment
    domains: list[str] = field(default_factory=list)
    health_path: str | None = None
    secrets: list[str] = field(default_factory=list)
    database: DatabaseAnswers | str | None = None  # a new one, or the name of one the spec has


@dataclass(frozen=True)
class DatabaseAnswers:
    """An external database the app uses: delivered to it as one secret, its connection URL."""

    provider: str
    region: str
    secret: str = "DATABASE_URL"
    name: str = "main"


@dataclass(frozen=True)
class ProjectAnswers:
    project: str
    region: str
    environments: list[str] = field(default_factory=lambda: ["production", "staging"])


def new_spec(project: ProjectAnswers, app: AppAnswers) -> str:
    """A whole commented unhazzle.yaml for a project with its first app."""
    doc = CommentedMap()
    doc["version"] = 1
    doc["project"] = project.project
    doc["region"] = project.region
    doc["environments"] = CommentedMap((name, _smaller(name, app)) for name in project.environments)
    doc["apps"] = CommentedMap()
    doc.yaml_set_start_comment(
        f"{MODELINE}\n"
        "What Unhazzle runs, and how big. Written by `unhazzle init`; edit it freely.\n"
        "`unhazzle validate` checks it, `unhazzle plan` shows what it becomes."
    )
    region = questions()["region"]
    comments = {
        "project": "The project's name; part of every internal address (APP.PROJECT-ENVIRONMENT).",
        "region": f"Where the apps run: {_choices(region.choices)}.",
        "environments": "Each environment runs its own copy of every app. Change an app in one\n"
        "environment only under ENVIRONMENT: {apps: {APP: {...}}}, e.g. {instances: {max: 2}}.",
        "apps": "The apps to run. Add another with `unhazzle init --app NAME --image IMAGE`.",
    }
    for key, text in comments.items():
        doc.yaml_set_comment_before_after_key(key, before=f"\n{text}", indent=0)
    _insert_app(doc["apps"], app, indent=2)
    _insert_database(doc, app)
    return _dump(doc, _yaml(2, 4, 2))


def database_name(taken: list[str], app: str) -> str:
    """`main` for a project's first database, else one named after the app."""
    return "main" if "main" not in taken else f"{app}-db"


def _insert_database(doc: CommentedMap, app: AppAnswers) -> None:
    db = app.database
    if db is None or isinstance(db, str):  # none, or one the spec already has
        return
    if not isinstance(doc.get("databases"), CommentedMap):
        doc["databases"] = CommentedMap()
        doc.yaml_set_comment_before_after_key(
            "databases",
            before="\nExternal databases. Each reaches its apps as one secret, its connection URL (TLS\n"
            f"required): set it with `unhazzle secrets set {app.name} {db.secret} --env ENV`.",
            indent=0,
        )
    entry = CommentedMap([("provider", db.provider), ("region", db.region), ("secret", db.secret)])
    entry.fa.set_flow_style()
    doc["databases"][db.name] = entry


def _smaller(environment: str, app: AppAnswers, badge: object = None) -> CommentedMap:
    """Environments that are not production start smaller: at most two instances of the app
    (two at least where one would mean an outage on every deploy, as production keeps them).
    *badge*: the environment's own, where the spec gives one."""
    if (badge if isinstance(badge, str) else badge_for(environment)) == "production":
        return CommentedMap()
    return CommentedMap([("apps", CommentedMap([(app.name, _small_instances(app))]))])


def _small_instances(app: AppAnswers) -> CommentedMap:
    low = 2 if app.profile.get("latency") == "sensitive" else 1
    instances = CommentedMap([("min", low), ("max", 2)])
    instances.fa.set_flow_style()
    return CommentedMap([("instances", instances)])


def _add_smaller(doc: CommentedMap, app: AppAnswers) -> None:
    """An app added to an existing spec starts smaller outside production too, as the first did:
    its override goes into each such environment, written as that environment is (a flow
    mapping stays one). An environment whose mapping others share through an anchor is left as
    it is: a key written there would reach them too, production perhaps."""
    environments = doc.get("environments")
    if not isinstance(environments, CommentedMap):
        return
    for name in list(environments):
        if environments[name] is None:
            environments[name] = CommentedMap()
        if not isinstance(environments[name], CommentedMap):
            continue
        if not _smaller(name, app, environments[name].get("badge")):
            continue
        if shared_on(doc, ["environments", name, "apps"]):  # an anchor, its aliases, or a `<<`
            continue
        env = environments[name]
        apps = env.get("apps")
        if apps is None:
            if env.fa.flow_style() and not env:
                env.fa.set_block_style()  # `staging: {}` becomes a block to hold its apps
            env["apps"] = apps = CommentedMap()
        if not isinstance(apps, CommentedMap) or app.name in apps:
            continue
        before = last_leaf(apps, commented=True)  # the blank line or comment that ends the block
        apps[app.name] = _small_instances(app)
        if (
            before is not None and not apps.fa.flow_style()
        ):  # onto the new last key, not into its flow mapping
            move_trailing_comment(before, (apps[app.name], "instances"))


def add_app(text: str, app: AppAnswers) -> str:
    """*text* (an existing spec) with *app* added at the end of `apps:`, comments kept."""
    try:
        _, guessed, offset = load_yaml_guess_indent(text)
        yaml = _yaml(guessed or 2, guessed or 2, offset or 0)
        doc = yaml.load(text)
    except YAMLError as exc:
        raise ScaffoldProblem(f"is not valid YAML ({str(exc).splitlines()[0]}); fix it first") from None
    except PARSER_FAULTS:
        raise ScaffoldProblem(f"cannot be edited: {PARSER_FAULT}") from None
    apps = doc.get("apps") if isinstance(doc, CommentedMap) else None
    if not isinstance(apps, CommentedMap):
        raise ScaffoldProblem("has no apps: mapping to add to")
    if app.name in apps:
        line, column = apps.lc.key(app.name)
        raise ScaffoldProblem(
            f"already has an app named '{app.name}'; pick another name", line=line + 1, column=column + 1
        )
    if apps.fa.flow_style():
        apps.fa.set_block_style()
    # The comment lines after the last app introduce what follows `apps:`: they stay below it.
    before = last_leaf(apps, commented=True)
    _insert_app(apps, app, indent=guessed or 2)
    if before is not None:
        move_trailing_comment(before, last_leaf(apps))
    _add_smaller(doc, app)
    _insert_database(doc, app)
    return _dump(doc, yaml)


def _insert_app(apps: CommentedMap, app: AppAnswers, *, indent: int) -> None:
    node = CommentedMap()
    node["image"] = app.image
    if app.port is not None:
        node["port"] = app.port
        node["public"] = app.public
        if app.domains:
            node["domains"] = _flow(app.domains)
        if app.health_path:
            node["health"] = CommentedMap([("path", app.health_path)])
            node["health"].fa.set_flow_style()
    if app.secrets:
        node["secrets"] = _flow(app.secrets)
    if app.database:
        node["databases"] = _flow([app.database if isinstance(app.database, str) else app.database.name])
    if app.writable:
        node["writable"] = _flow(app.writable)
    node["profile"] = _profile(app.profile, column=indent * 3)
    inner = indent * 2
    for key, text in _app_comments(app).items():
        if key in node:
            node.yaml_set_comment_before_after_key(key, before=text, indent=inner)
    apps[app.name] = node
    first = len(apps) == 1
    apps.yaml_set_comment_before_after_key(
        app.name, before=None if first else f"\nAdded by `unhazzle init --app {app.name}`.", indent=indent
    )


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _app_comments(app: AppAnswers) -> dict[str, str]:
    image = "The image to run. `unhazzle render --pin-digests` records the exact digest that runs."
    if app.root_image:
        image += "\n" + textwrap.fill(f"Note: {root_note()}.", width=96)
    port = "The port the app listens on"
    port += f" ({app.port_note})" if app.port_note else ""
    writable = (
        "Folders the app writes to besides /tmp (the rest of its files are read-only): these are\n"
        "the ones the image declares; each starts empty at every start."
    )
    if app.workdir and app.workdir != "/":
        writable += (
            f"\nIt works in {app.workdir}: if it writes there (logs, caches), list a folder inside it,\n"
            f"not {app.workdir} itself (an empty folder there would hide the app's own files)."
        )
    return {
        "image": image,
        "domains": "Your own domains (served with a certificate in production; other environments get\n"
        "an address of their own).",
        "health": "Checked before an instance gets traffic, and while it runs.",
        "secrets": "Names only; set each value with\n"
        f"`unhazzle secrets set {app.name} NAME --env ENVIRONMENT` (encrypted, never plain in Git).",
        "writable": writable,
        "port": f"{port};\nremove it (and public) for an app that serves nothing.",
        "public": "true: reachable from the internet over HTTPS (add `domains: [...]` for your own);\n"
        "false: only the project's other apps reach it.",
        "profile": "The five sizing questions. Change an answer, then `unhazzle plan` shows the new size\n"
        f"and `unhazzle explain {app.name}` which answer chose each number.",
    }


def _profile(answers: dict[str, str], *, column: int) -> CommentedMap:
    profile = CommentedMap((key, answers[key]) for key in SIZING)
    width = max(len(f"{key}: {value}") for key, value in profile.items())
    for key in SIZING:
        question = questions()[key]
        profile.yaml_add_eol_comment(
            f"{' | '.join(question.choices)}: {question.explain}", key, column=column + width + 2
        )
    return profile


def _choices(choices: dict[str, str]) -> str:
    return ", ".join(f"{key} ({text})" for key, text in choices.items())


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = 4096  # never re-wrap a user's long lines
    yaml.preserve_quotes = True
    return yaml


def _dump(doc: Any, yaml: YAML) -> str:
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue().rstrip("\n") + "\n"
