"""`unhazzle preview-env up|down|list|prune`: a running copy of one environment per pull request,
in its own namespace, published to the environment repo like any environment and removed when
the pull request closes or the preview expires (docs/previews.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unhazzle import __version__
from unhazzle.commands.common import (
    add_pin_digests,
    add_spec_option,
    compile_spec,
    json_text,
    maybe_pin,
    problem_json,
)
from unhazzle.commands.flags import checked_by
from unhazzle.commands.publish import push_flags, secret_files
from unhazzle.compiler.spec.model import MAX_ENV_NAME
from unhazzle.errors import InputError, Problem, UsageError
from unhazzle.shared.readlimit import SPEC_FILE, read_at_most

if TYPE_CHECKING:
    from unhazzle.compiler.pipeline import Compiled
    from unhazzle.compiler.publishing.publish import PublishOptions, PublishResult
    from unhazzle.shared.previewmark import PreviewMark

NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
MAX_NAME = MAX_ENV_NAME  # an environment's name, as the spec's


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "preview-env",
        help="a running copy of an environment per pull request: up, down, list, prune",
        description="Preview environments: `up` publishes a copy of previews.from (the apps, size, "
        "time to live and secrets the spec's previews: section gives) as environment NAME with the "
        "preview badge, kept apart from the other environments, with its own URLs; `down` removes "
        "it; `list` shows each with its age, expiry and cost; `prune` removes the expired ones (a "
        "scheduled safety net: the reconciler removes them too).",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    up = verbs.add_parser(
        "up", help="create or update preview NAME", description="Create or update preview NAME."
    )
    down = verbs.add_parser("down", help="remove preview NAME", description="Remove preview NAME.")
    listed = verbs.add_parser("list", help="the project's previews", description="The project's previews.")
    prune = verbs.add_parser("prune", help="remove expired previews", description="Remove expired previews.")
    for verb in (up, down, listed, prune):
        verb.set_defaults(check_flags=checked_by(push_flags))
        add_spec_option(verb)
        verb.add_argument("--to", "--repo", dest="to", required=True, metavar="ENV_REPO",
                          help="path or URL of the environment repo")  # fmt: skip
        verb.add_argument("--branch", default="main", help="its branch (default: main)")
        verb.add_argument(
            "--timeout", type=float, default=300.0, metavar="SECONDS", help="give up on a fetch or push"
        )
    for verb in (up, down):
        verb.add_argument("--name", required=True, help="the preview's name, e.g. pr-123")
    for verb in (down, listed, prune):
        verb.add_argument(
            "--project", metavar="NAME", help="the project, instead of reading it from the spec"
        )
    for verb in (up, down, prune):
        verb.add_argument("--attempts", type=int, default=8, metavar="N", help="push attempts (default: 8)")
        verb.add_argument("--dry-run", action="store_true", help="show the commit; do not commit or push")
    up.add_argument("--output", choices=["text", "json", "markdown"], default="text",
                    help="text, json, or markdown for the pull-request comment")  # fmt: skip
    listed.add_argument("--output", choices=["text", "json"], default="text")
    for verb in (up,):
        for name in ("repo", "commit", "message"):
            verb.add_argument(f"--source-{name}", metavar=name.upper(), help=f"the spec's source {name}")
        add_pin_digests(verb)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    verb: int = {"up": _up, "down": _down, "list": _list, "prune": _prune}[args.verb](args)
    return verb


def _options(args: argparse.Namespace, **more: Any) -> PublishOptions:
    from unhazzle.compiler.publishing.publish import PublishOptions

    chosen: dict[str, Any] = {**push_flags(args), "dry_run": getattr(args, "dry_run", False)}
    return PublishOptions(**{**chosen, **more})


def _name(project: str, name: str, environments: Any = ()) -> str:
    from unhazzle.shared.names import namespace_for, reserved

    if not NAME.match(name) or len(name) > MAX_NAME:
        raise UsageError(f"--name: '{name}' is not a preview name (lowercase letters, digits and '-', "
                         f"at most {MAX_NAME})")  # fmt: skip
    if name in environments:
        raise UsageError(f"--name: '{name}' is one of the spec's environments, not a preview")
    if reserved(namespace_for(project, name)):
        raise UsageError(f"--name: '{name}' would take a name the cluster keeps for itself")
    return name


def _with_previews(spec: str) -> Compiled:
    compiled = compile_spec(spec)
    if compiled.spec.previews is None:
        raise UsageError(
            f"{spec}: has no previews: section, which says what a preview copies; add one "
            "(`previews: {from: staging}` at the least, see docs/previews.md)"
        )
    return compiled


def _up(args: argparse.Namespace) -> int:
    from unhazzle.compiler.pipeline import compile_preview
    from unhazzle.compiler.planning.cost import cost_json
    from unhazzle.compiler.publishing import previews
    from unhazzle.compiler.publishing.index import project_files
    from unhazzle.compiler.publishing.publish import source_of
    from unhazzle.compiler.rendering.render import render_plan
    from unhazzle.shared import previewmark
    from unhazzle.shared.names import PREVIEW_FILE

    compiled = _with_previews(args.spec)
    name = _name(compiled.plan.project, args.name, compiled.spec.environments)
    spec, positions = compiled.spec, compiled.document.positions
    assert spec.previews is not None
    preview, made = compile_preview(compiled, name)
    preview.require_secrets()
    cost = preview.cost.environments[name]
    low, high = cost.min, cost.max
    env = preview.plan.environment(name)
    now = datetime.now(UTC)
    mark = previewmark.PreviewMark(
        name=name,
        source=spec.previews.from_,
        created_at=previewmark.stamp(now),
        expires_at=previewmark.stamp(now + timedelta(seconds=spec.previews.ttl)),
        monthly_eur_min=f"{low:.2f}",
        monthly_eur_max=f"{high:.2f}",
        urls=[url for app in env.apps for url in app.public_urls],
        internal={app.name: app.internal_url for app in env.apps if app.internal_url},
    )
    over = previews.budget_problem(spec, positions, name, high)
    if over is not None:
        _refused(args, spec.project, mark, [over])
    found: dict[str, PreviewMark] = {}

    def vet(markers: dict[str, bytes], folders: set[str]) -> None:
        if name in folders and f"{spec.project}/{name}/{PREVIEW_FILE}" not in markers:
            raise UsageError(f"{spec.project}/{name}: an environment of this name is in the repo and it "
                             "is not a preview; choose another --name")  # fmt: skip
        found.clear()
        found.update(previews.marks(markers))
        others = {n: m for n, m in previews.live(found, now).items() if n != name}
        problems = previews.limit_problems(spec, positions, name, high, others)
        if problems:
            _refused(args, spec.project, mark, problems)

    plan = maybe_pin(preview.plan, args)
    spec_path = Path(args.spec)
    overrides = {"repo": args.source_repo, "commit": args.source_commit, "message": args.source_message}
    source = source_of(spec_path, spec_bytes=spec_path.read_bytes(), overrides=overrides)
    costs = {name: cost_json(low, high)}
    files = project_files(plan, render_plan(plan), source=source, version=__version__, costs=costs)
    files |= secret_files(preview)
    subject = (
        f"Preview {spec.project}/{name}: a copy of {mark.source} until {_minute(mark.expires_at)} UTC, then "
        "removed whole, volumes included"
    )
    # An update keeps the preview's first day; only the expiry moves on.
    options = _options(args, only=frozenset({name}), vet=vet, subject=subject)
    marker_path = f"{spec.project}/{name}/{PREVIEW_FILE}"
    result = _publish_marked(spec.project, files, marker_path, mark, found, args, options, source)
    data = _up_json(spec.project, mark, made.reached, made.withheld, result)
    data["not_admitted_yet"] = sorted(set(made.reached) - _admitted(args, spec.project, mark.source))
    if args.output == "json":
        print(json_text({**data, "created": True}))
    elif args.output == "markdown":
        print(markdown(data), end="")
    else:
        print(_up_text(data), end="")
    return 0


def _admitted(args: argparse.Namespace, project: str, environment: str) -> set[str]:
    """The apps *environment*'s folder in the environment repo lets previews reach now (the
    spec's `previews:` reaches them only once that environment is published with it)."""
    from unhazzle.compiler.publishing import previews
    from unhazzle.compiler.publishing.deploys import folder_at
    from unhazzle.compiler.publishing.publish import fetched
    from unhazzle.shared.names import ENVIRONMENT_FILE

    with fetched(args.to, _options(args), history=False) as (repo, tip):
        files = folder_at(repo, tip, project, environment) if tip else {}
    return previews.admitted(files.get(f"{project}/{environment}/{ENVIRONMENT_FILE}"))


def _publish_marked(
    project: str,
    files: dict[str, bytes],
    marker_path: str,
    mark: PreviewMark,
    found: dict[str, PreviewMark],
    args: argparse.Namespace,
    options: PublishOptions,
    source: Any,
) -> PublishResult:
    """Publish with the marker; an existing preview keeps its creation time (read in the first
    attempt's vet, so the second run writes it as it was)."""
    from unhazzle.compiler.publishing.publish import publish

    first = publish(project, {**files, marker_path: mark.to_bytes()}, args.to, source=source,
                    options=dataclasses.replace(options, dry_run=True))  # fmt: skip
    del first  # it ran vet: `found` holds the markers at the tip
    kept = found.get(mark.name)
    if kept is not None and not kept.expired(datetime.now(UTC)):  # an expired one is made anew
        mark = dataclasses.replace(mark, created_at=kept.created_at)
    return publish(project, {**files, marker_path: mark.to_bytes()}, args.to, source=source, options=options)


def _refused(args: argparse.Namespace, project: str, mark: PreviewMark, problems: list[Problem]) -> None:
    """A preview over a limit is not created: the pull-request comment, or the JSON for a
    script, says so (as well as the errors on stderr, exit 2)."""
    output = getattr(args, "output", "")
    if output == "markdown":
        note = "\n".join(f"> {p.message}" for p in problems)
        said = "Not created or updated: it would exceed its limits."
        print(f"{MARKDOWN_HEAD} `{mark.name}`\n\n{said}\n\n{note}\n")
    elif output == "json":
        refused = {"format": 1, "project": project, "name": mark.name, "created": False}
        print(json_text({**refused, "errors": [problem_json(p) for p in problems]}))
    raise InputError(problems)


def _up_json(
    project: str,
    mark: PreviewMark,
    reached: dict[str, str],
    withheld: dict[str, list[str]],
    result: PublishResult,
) -> dict[str, Any]:
    from unhazzle.commands.publish import result_json

    return {
        "format": 1,
        "project": project,
        "name": mark.name,
        "copies": mark.source,
        "namespace": f"{project}-{mark.name}",
        "urls": mark.urls,
        "internal": mark.internal,
        "reached_in_copied_environment": reached,
        "secrets_withheld": withheld,
        "monthly_eur": {"min": float(mark.monthly_eur_min), "max": float(mark.monthly_eur_max)},
        "created_at": mark.created_at,
        "expires_at": mark.expires_at,
        "publish": result_json(result),
    }


def _up_text(data: dict[str, Any]) -> str:
    cost = data["monthly_eur"]
    lines = [
        f"preview {data['project']}/{data['name']} (a copy of {data['copies']}): "
        + (
            "published"
            if data["publish"]["commit"]
            else "no change"
            if not data["publish"]["dry_run"]
            else "dry run"
        )
        + (f" as {data['publish']['commit'][:12]}" if data["publish"]["commit"] else ""),
        f"  costs {cost['min']:.2f}-{cost['max']:.2f} EUR a month; expires {_minute(data['expires_at'])} UTC",
    ]
    lines += [f"  {url}" for url in data["urls"]]
    lines += [f"  {app}: {url}" for app, url in sorted(data["internal"].items())]
    waiting = data.get("not_admitted_yet", [])
    lines += [
        f"  {app}: reached in {data['copies']} at {url}"
        + (
            f", once {data['copies']} lets previews in: publish the spec to it (`unhazzle publish`)"
            if app in waiting
            else ""
        )
        for app, url in sorted(data["reached_in_copied_environment"].items())
    ]
    lines += [
        f"  {app}: not given {', '.join(names)} (previews.secrets)"
        for app, names in sorted(data["secrets_withheld"].items())
    ]
    return "\n".join(lines) + "\n"


MARKDOWN_HEAD = "#### Preview environment"


def _minute(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def markdown(data: dict[str, Any]) -> str:
    """The preview's part of the pull-request comment."""
    cost = data["monthly_eur"]
    low, high = f"{cost['min']:.2f}", f"{cost['max']:.2f}"
    lines = [f"{MARKDOWN_HEAD} `{data['name']}`", ""]
    lines += [f"- {url}" for url in data["urls"]] or ["- no public address (no app of it is public)"]
    lines += [f"- `{app}` inside the cluster: {url}" for app, url in sorted(data["internal"].items())]
    lines.append(f"- costs {low if low == high else low + '-' + high} EUR a month at its size")
    lines.append(
        f"- removed {_minute(data['expires_at'])} UTC unless updated again, or when the pull request closes"
    )
    return "\n".join(lines) + "\n"


def _project(args: argparse.Namespace) -> str:
    """The project, from --project or the spec's `project:` alone: down, list and prune must work
    whatever else the spec of a closed pull request says (or if it lost its previews: section)."""
    from unhazzle.compiler.spec.load import load_file
    from unhazzle.compiler.spec.model import NAME_RE

    if args.project:
        found: object = args.project
    else:
        data = load_file(Path(args.spec)).data
        found = data.get("project") if isinstance(data, dict) else None
    if not isinstance(found, str) or not re.match(NAME_RE, found):
        raise UsageError(
            f"{(args.project and '--project') or args.spec}: no project name there; give --project NAME"
        )
    return found


def _removal_source(args: argparse.Namespace) -> Any:
    """Where a removal comes from, for its commit's trailers (no spec needed with --project)."""
    from unhazzle.compiler.publishing.publish import source_of

    spec = Path(args.spec)
    try:
        spec_bytes = read_at_most(spec, SPEC_FILE) if os.path.isfile(spec) else b""
    except OSError:
        spec_bytes = b""  # unreadable: the removal's commit names no spec
    return source_of(spec, spec_bytes=spec_bytes)


def _down(args: argparse.Namespace) -> int:
    from unhazzle.compiler.publishing.publish import publish
    from unhazzle.shared.names import PREVIEW_FILE

    project = _project(args)
    name = _name(project, args.name)
    present: list[bool] = []

    def vet(markers: dict[str, bytes], folders: set[str]) -> None:
        if name in folders and f"{project}/{name}/{PREVIEW_FILE}" not in markers:
            raise UsageError(f"{project}/{name}: this environment is not a preview; `preview-env down` "
                             "removes previews only")  # fmt: skip
        present[:] = [name in folders]

    source = _removal_source(args)
    subject = f"Remove preview {project}/{name}: everything of it, volumes included"
    options = _options(args, only=frozenset({name}), vet=vet, allow_delete_environment=True, subject=subject)
    result = publish(project, {}, args.to, source=source, options=options)
    if not present or not present[0]:
        print(f"{project}/{name}: no such preview; nothing to remove")
    else:
        done = "would be removed (dry run)" if result.dry_run else f"removed in {(result.commit or '')[:12]}"
        print(f"{project}/{name}: {done}; the reconciler deletes everything of it, volumes included")
    return 0


def _read_marks(args: argparse.Namespace, project: str) -> dict[str, PreviewMark]:
    from unhazzle.compiler.publishing import previews
    from unhazzle.compiler.publishing.publish import fetched, project_files_at

    with fetched(args.to, _options(args), history=False) as (repo, tip):
        return previews.marks(project_files_at(repo, tip, project))


def _list(args: argparse.Namespace) -> int:
    from unhazzle.shared.previewmark import when

    project = _project(args)
    now = datetime.now(UTC)
    found = sorted(_read_marks(args, project).items())
    if args.output == "json":
        rows = [_list_row(mark, now) for _, mark in found]
        print(json.dumps({"format": 1, "project": project, "previews": rows}, indent=2, sort_keys=True))
        return 0
    if not found:
        print(f"{project}: no preview environments")
        return 0
    for name, mark in found:
        age = _span(now - when(mark.created_at))
        left = "expired" if mark.expired(now) else f"expires in {_span(when(mark.expires_at) - now)}"
        print(f"{name}  copy of {mark.source}, {age} old, {left}, up to {mark.monthly_eur_max} EUR a month")
        for url in mark.urls:
            print(f"    {url}")
    total = sum((Decimal(m.monthly_eur_max) for _, m in found if not m.expired(now)), Decimal(0))
    print(f"{len(found)} preview{'s' * (len(found) != 1)}: up to {total:.2f} EUR a month together")
    return 0


def _list_row(mark: PreviewMark, now: datetime) -> dict[str, Any]:
    return {
        "name": mark.name,
        "copies": mark.source,
        "created_at": mark.created_at,
        "expires_at": mark.expires_at,
        "expired": mark.expired(now),
        "monthly_eur": {"min": float(mark.monthly_eur_min), "max": float(mark.monthly_eur_max)},
        "urls": mark.urls,
    }


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60}m"
    return f"{seconds // 60}m"


def _prune(args: argparse.Namespace) -> int:
    from unhazzle.compiler.publishing import previews
    from unhazzle.compiler.publishing.publish import publish

    project = _project(args)
    now = datetime.now(UTC)
    expired: list[str] = []

    def vet(markers: dict[str, bytes], folders: set[str]) -> None:
        found = previews.marks(markers)
        expired[:] = sorted(n for n, m in found.items() if m.expired(now))

    source = _removal_source(args)
    probe = publish(project, {}, args.to, source=source,
                    options=_options(args, only=frozenset(), vet=vet, dry_run=True))  # fmt: skip
    del probe
    if not expired:
        print(f"{project}: no expired preview")
        return 0
    names = list(expired)

    def same(markers: dict[str, bytes], folders: set[str]) -> None:
        vet(markers, folders)
        if not set(names) <= set(expired) | (set(names) - folders):
            raise UsageError("a preview was updated while pruning; run prune again")

    options = _options(args, only=frozenset(names), vet=same, allow_delete_environment=True,
                       subject=f"Remove expired previews of {project} ({', '.join(names)}): everything of "
                               "them, volumes included")  # fmt: skip
    result = publish(project, {}, args.to, source=source, options=options)
    done = "would be removed (dry run)" if result.dry_run else f"removed in {(result.commit or '')[:12]}"
    print(f"{project}: {', '.join(names)} expired; {done}")
    return 0
