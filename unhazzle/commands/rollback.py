"""`unhazzle rollback --repo ENV_REPO --env ENV [APP] [--to REVISION]`: run what ran before, through
a commit to the environment repo (so the reconciler applies it and nothing undoes it)."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.publish import add_env_repo, push_flags
from unhazzle.commands.target import add_target, one_environment, resolve
from unhazzle.errors import UsageError


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "rollback",
        help="make an environment (or one app) run what it ran before, through a commit",
        description="Commits an earlier deploy's files of ENV (or only APP's) to the environment "
        "repo, with a message that says so; the reconciler applies it like any commit. The next "
        "publish that would deploy the rolled-back version again is refused until it changes (a "
        "fix) or is given --replace-rollback. `unhazzle history` lists the deploys.",
    )
    add_target(parser)
    add_env_repo(parser, pushes=True)
    parser.add_argument("--to", metavar="REVISION", help="the deploy to go back to (default: the one before)")
    parser.add_argument(
        "--allow-delete-volume",
        action="store_true",
        help="go back even though an app with a volume did not exist then (its disk and data are deleted)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the commit; do not commit or push")
    parser.add_argument("--attempts", type=int, default=8, metavar="N", help="push attempts (default: 8)")
    parser.set_defaults(run=run, check_flags=checked_by(push_flags))


def run(args: argparse.Namespace) -> int:
    from unhazzle.commands.publish import result_text
    from unhazzle.compiler.publishing import deploys, rollback
    from unhazzle.compiler.publishing.publish import PublishOptions, fetched, project_files_at, publish

    target = resolve(args)
    envs = [e.name for e in target.environments] or ([target.env] if target.env else [])
    env, project, app = one_environment(envs, "roll back"), target.project, target.app
    what = f"{project}/{env}" + (f"/{app}" if app else "")
    options = PublishOptions(
        allow_delete_volume=args.allow_delete_volume, dry_run=args.dry_run, **push_flags(args)
    )
    with fetched(args.repo, options, flag="--repo") as (repo, tip):
        history = deploys.read(repo, tip, project, env, limit=200)
        current, earlier = rollback.choose(history, to=args.to, app=app, where=what)
        now = project_files_at(repo, tip, project)
        files = rollback.files_after(
            now,
            deploys.folder_at(repo, earlier.revision, project, env),
            project=project,
            environment=env,
            app=app,
        )
    # (`--to` a deploy that ran what runs now: the files that run are the same, by the same
    # fingerprint a rollback in force is known by)
    if rollback.fingerprint(now, what) == rollback.fingerprint(files, what):
        said = f"--to: {what}" if args.to else f"{what}: it"
        raise UsageError(f"{said} runs now what {earlier.revision[:12]} ran; nothing to roll back")
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    files[f"{project}/{env}/{rollback.MARKER_FILE}"] = rollback.marker(what, current, earlier, now, when=when)
    subject = f"Roll back {what} to {earlier.revision[:12]} (from {current.revision[:12]})"
    trailers = rollback.trailer(what, current, earlier)
    # Its own folder only: the others (a preview's too) are as they are.
    options = dataclasses.replace(
        options, trailers=trailers, subject=subject, replace_rollback=True, only=frozenset({env})
    )
    result = publish(project, files, args.repo, source=rollback.source_of(earlier), options=options)
    print(result_text(project, result), end="")
    if result.changed and not result.dry_run:
        print(
            f"the reconciler applies it on its next pass; `unhazzle publish` will not deploy the version "
            f"of {what} rolled back from ({current.revision[:12]}) again until it changes "
            f"(or with {rollback.REPLACE_FLAG})"
        )
    return 0
