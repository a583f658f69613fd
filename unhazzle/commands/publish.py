"""`unhazzle publish [SPEC] --to ENV_REPO [--branch BRANCH] [--dry-run] [--output text|json]`:
render the manifests and commit them to the environment repo the reconciler watches."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unhazzle import __version__
from unhazzle.commands.common import add_pin_digests, add_spec, compile_spec, maybe_pin
from unhazzle.commands.flags import checked_by
from unhazzle.compiler.spec.read import read_spec
from unhazzle.errors import UsageError, at_once
from unhazzle.shared.names import ALLOW_DELETE_ENVIRONMENT, ALLOW_DELETE_VOLUME

if TYPE_CHECKING:
    from unhazzle.compiler.pipeline import Compiled
    from unhazzle.compiler.publishing.index import Source
    from unhazzle.compiler.publishing.publish import PublishResult
    from unhazzle.compiler.publishing.replay import Replay

TRAILER_KEY = "Key: value (a word of letters, digits and '-')"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "publish",
        help="render and commit the manifests to the environment repo",
        description="Render every environment and commit the result to ENV_REPO as one commit "
        "(PROJECT/ENVIRONMENT/ folders), then push; retried when another pipeline pushes first.",
    )
    add_spec(parser)
    parser.add_argument("--to", required=True, metavar="ENV_REPO", help="path or URL of the environment repo")
    parser.add_argument("--branch", default="main", help="branch to publish to (default: main)")
    parser.add_argument("--dry-run", action="store_true", help="show the commit; do not commit or push")
    parser.add_argument("--output", choices=["text", "json"], default="text")
    parser.add_argument(
        "--sign",
        action="store_true",
        help="sign the commit with your Git signing key (user.signingkey; SSH or GPG per gpg.format)",
    )
    parser.add_argument(
        "--allow-delete-environment",
        action="store_true",
        help="delete the folders of environments the spec no longer has",
    )
    parser.add_argument(
        "--allow-delete-volume",
        action="store_true",
        help="publish even though an app with a volume is removed or renamed (its disk and the "
        "data on it are deleted), or an app loses its volume (it starts without that data)",
    )
    parser.add_argument(
        "--allow-smaller-volume",
        action="store_true",
        help="set a volume back to a smaller size: only for a disk the cluster refused to grow "
        "(a disk never shrinks; the reconciler refuses the smaller size if it did grow)",
    )
    parser.add_argument(
        "--replace-rollback",
        action="store_true",
        help="deploy an environment's version that `unhazzle rollback` undid, again, as it is",
    )
    parser.add_argument(
        "--message-trailer",
        action="append",
        default=[],
        metavar="'KEY: VALUE'",
        help="an extra trailer for the commit message (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up on a fetch or push that takes longer (default: 300)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=8,
        metavar="N",
        help="push attempts when other pipelines keep publishing first (default: 8)",
    )
    for name in ("repo", "commit", "message"):
        parser.add_argument(f"--source-{name}", metavar=name.upper(), help=f"the spec's source {name}")
    add_pin_digests(parser)
    parser.set_defaults(run=run, check_flags=checked_by(push_flags))


def run(args: argparse.Namespace) -> int:
    # Imported here so that every other command starts without loading Git support.
    from unhazzle.compiler.publishing.publish import PublishOptions, publishing, source_of

    options = PublishOptions(
        allow_delete_environment=args.allow_delete_environment,
        allow_delete_volume=args.allow_delete_volume,
        allow_smaller_volume=args.allow_smaller_volume,
        dry_run=args.dry_run,
        sign=args.sign,
        replace_rollback=args.replace_rollback,
        **push_flags(args),
    )
    spec_path = Path(args.spec)
    overrides: dict[str, str] = {
        "repo": args.source_repo or "",
        "commit": args.source_commit or "",
        "message": args.source_message or "",
    }
    compiled: Compiled | None = None
    # The environment repo is fetched while the spec is compiled; a spec that fails stops the
    # fetch and is reported before any problem with the repo, and nothing is pushed.
    with publishing(args.to, options) as publisher:
        # read once, with the compile's errors: a pipe (`publish <(...)`) gives it once
        spec_bytes = read_spec(spec_path, display=args.spec)
        may_replay = not args.pin_digests
        # what else a compile reads, taken before it reads it (compiler/publishing/replay.py)
        key = _replay_key(spec_path) if may_replay else None
        replay = _replayed(spec_path, spec_bytes, key, overrides) if key is not None else None
        if replay is None:
            compiled = compile_spec(args.spec, spec_bytes=spec_bytes)
            compiled.require_secrets()  # apps must not be deployed pointing at secrets with no value
            source = source_of(spec_path, spec_bytes=spec_bytes, overrides=overrides)
            project, files = compiled.plan.project, _files(compiled, args, source)
        else:
            project, files, source = replay.project, replay.files, replay.source
        result = publisher.publish(project, files, source=source)
    if args.output == "json":
        print(json.dumps(result_json(result), indent=2, sort_keys=True), flush=True)
    else:
        print(result_text(project, result), end="", flush=True)
    if compiled is not None and may_replay:
        _remember(spec_path, key, compiled, files, source, args)
    return 0


def _replay_key(spec: Path) -> str | None:
    """What else a compile of *spec* reads (compiler/publishing/replaykey.py); None where no
    record is kept: a cache's first publish, a pipe."""
    from unhazzle.compiler.publishing.replaykey import keeps_records, key

    try:
        return key(spec) if keeps_records() and stat.S_ISREG(spec.stat().st_mode) else None
    except (OSError, RuntimeError):  # the compile says what is wrong with the path
        return None


def _remember(
    spec: Path,
    key: str | None,
    compiled: Compiled,
    files: dict[str, bytes],
    source: Source,
    args: argparse.Namespace,
) -> None:
    """A record of this compile, for the next publish of a new image to replay (*key*: None
    where none is kept: a pipe, or a cache's first publish, which starts keeping them). After
    the push and its report, and never a failure of its own: what was published stands."""
    from unhazzle.compiler.publishing.replaykey import keep_records, keeps_records

    try:
        if key is not None:
            from unhazzle.compiler.publishing.replay import remember

            remember(spec, key, compiled, files, source, lambda c, s: _files(c, args, s, placeholders=True))
        elif not keeps_records():
            keep_records()
    except Exception:  # a record is only ever a shortcut for the next publish
        return


def _replayed(spec: Path, spec_bytes: bytes, key: str, overrides: dict[str, str]) -> Replay | None:
    """The project, its files and their source replayed from the last publish of *spec*, when
    only images changed since (compiler/publishing/replay.py); None: compile."""
    from unhazzle.compiler.publishing.publish import source_of
    from unhazzle.compiler.publishing.replay import replayed

    return replayed(
        spec, spec_bytes, key, lambda: source_of(spec, spec_bytes=spec_bytes, overrides=overrides)
    )


def _files(
    compiled: Compiled, args: argparse.Namespace, source: Source, *, placeholders: bool = False
) -> dict[str, bytes]:
    """Every file of the project in the environment repo: the rendered manifests, each
    environment's index and its stored secrets (*placeholders*: a compile of placeholder images,
    which publishing/replay.py keeps)."""
    from unhazzle.compiler.planning.cost import cost_json
    from unhazzle.compiler.publishing.index import project_files
    from unhazzle.compiler.rendering.render import render_plan
    from unhazzle.compiler.rendering.reuse import Reuse

    plan = maybe_pin(compiled.plan, args)
    costs = {name: cost_json(env.min, env.max) for name, env in compiled.cost.environments.items()}
    rendered = render_plan(plan, reuse=Reuse.for_project(plan.project, placeholders=placeholders))
    files = project_files(plan, rendered, source=source, version=__version__, costs=costs)
    return files | secret_files(compiled)


def add_env_repo(parser: argparse.ArgumentParser, *, pushes: bool) -> None:
    """--repo, --branch and --timeout: the environment repo that history and rollback read
    (`pushes`: and that rollback writes)."""
    parser.add_argument(
        "--repo", required=True, metavar="ENV_REPO", help="path or URL of the environment repo"
    )
    parser.add_argument("--branch", default="main", help="its branch (default: main)")
    what = "a fetch or push" if pushes else "a fetch"
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help=f"give up on {what}")


def secret_files(compiled: Compiled) -> dict[str, bytes]:
    """Each environment's `_secrets.json`: ciphertext only, as `unhazzle secrets` stored it."""
    from unhazzle.compiler.secrets.delivery import environment_secrets
    from unhazzle.shared.names import SECRETS_FILE

    files: dict[str, bytes] = {}
    for env in compiled.plan.environments:
        text = environment_secrets(compiled.stores.get(env.name), env)
        if text is not None:
            files[f"{compiled.plan.project}/{env.name}/{SECRETS_FILE}"] = text.encode("utf-8")
    return files


def push_flags(args: argparse.Namespace) -> dict[str, Any]:
    """--branch, --timeout, and --attempts and --message-trailer where the command has them, as
    PublishOptions takes them; every bad value at once."""
    reads: dict[str, Callable[[], Any]] = {
        "branch": lambda: branch_name(args.branch),
        "timeout_s": lambda: timeout_seconds(args.timeout),
    }
    if hasattr(args, "attempts"):
        reads["attempts"] = lambda: attempt_count(args.attempts)
    if hasattr(args, "message_trailer"):
        reads["trailers"] = lambda: _trailers(args.message_trailer)
    return dict(zip(reads, at_once(*reads.values()), strict=True))


def branch_name(name: str) -> str:
    name = name.removeprefix("refs/heads/")
    bad = not name or name.startswith(("-", "/")) or ".." in name or any(c in name for c in " ~^:?*[\\")
    if bad or name.endswith((".lock", "/", ".")):
        raise UsageError(f"--branch: '{name}' is not a usable branch name")
    return name


def attempt_count(count: int) -> int:
    if not 1 <= count <= 100:
        raise UsageError(f"--attempts: {count} is not between 1 and 100")
    return count


def timeout_seconds(seconds: float) -> float:
    if not 0 < seconds <= 86_400:  # also refuses nan and inf
        said = f"{seconds:g} is out of range; give more than 0 and at most 86400 seconds"
        raise UsageError(f"--timeout: {said}")
    return seconds


# The deletions a commit allows (shared/names.py): only the flags that check what is deleted write them.
OPT_IN_FLAGS = {
    ALLOW_DELETE_VOLUME.lower(): "--allow-delete-volume",
    ALLOW_DELETE_ENVIRONMENT.lower(): "--allow-delete-environment",
    "unhazzle-rollback": "`unhazzle rollback`",
}


def _trailers(items: list[str]) -> dict[str, str]:
    trailers = {}
    for item in items:
        key, sep, value = item.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value or not key.replace("-", "").isalnum() or "\n" in value:
            raise UsageError(f"--message-trailer: '{item}' should look like {TRAILER_KEY}")
        flag = OPT_IN_FLAGS.get(key.lower())
        if flag:
            raise UsageError(f"--message-trailer: {key} is written by publish itself; pass {flag}")
        trailers[key] = value
    return trailers


def result_json(result: PublishResult) -> dict[str, Any]:
    from unhazzle.compiler.publishing.changes import shown

    return {
        "commit": result.commit,
        "changed": result.changed,
        "dry_run": result.dry_run,
        "repo": result.repo,
        "branch": result.branch,
        "files": [{"path": shown(change.path), "status": change.status} for change in result.files],
        "message": result.message,
        "attempts": result.attempts,
    }


def result_text(project: str, result: PublishResult) -> str:
    where = f"'{result.branch}' of {result.repo}"
    if not result.changed:
        return f"{project}: no change in the rendered output; nothing committed to {where}\n"
    files = "".join(f"  {change.line()}\n" for change in result.files)
    subject = result.message.split("\n", 1)[0]
    if result.dry_run:
        body = "".join(f"  | {line}\n".replace("| \n", "|\n") for line in result.message.splitlines())
        return f"dry run: would commit to {where}:\n{body}"
    return f"published {result.commit} to {where}: {subject}\n{files}"
