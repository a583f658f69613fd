"""`unhazzle status [APP] [--env ENV] [--output text|json] [--watch]`: is it up, in plain words."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.target import Target, add_target, environments, resolve
from unhazzle.errors import OperationError, UsageError

# Enter the terminal's second screen, as top does, so --watch leaves the scrollback untouched.
ALT_SCREEN, MAIN_SCREEN, HOME_CLEAR = "\x1b[?1049h", "\x1b[?1049l", "\x1b[H\x1b[2J"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help="what runs: instances, health, the deploy, restarts and why, autoscaling, volumes",
        description="Per environment and app: instances ready and wanted, health, the deploy it "
        "runs, restarts in the last hour and the last reason in plain words with a hint.",
    )
    add_target(parser)
    parser.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    parser.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="--watch refresh (default 2)"
    )
    parser.set_defaults(run=run, check_flags=checked_by(_check))


def collect(target: Target, reader: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """The whole report for the target, read from the cluster now."""
    from unhazzle.observe import overview
    from unhazzle.observe import reads as observe

    now = now or datetime.now(UTC)
    envs = []
    for env in environments(target, reader):
        snap = observe.snapshot(reader, env.namespace, with_events=False)
        apps = [target.app] if target.app else env.apps
        report = overview.environment_report(snap, name=env.name, badge=env.badge, apps=apps, now=now)
        if target.app:
            report["apps"] = [a for a in report["apps"] if a["name"] == target.app]
        envs.append(report)
    return overview.report(target.project, envs, now=now)


def render(data: dict[str, Any], output: str) -> str:
    from unhazzle.observe import overview

    if output == "json":
        return json.dumps(data, indent=2, sort_keys=True)
    now = datetime.strptime(data["generated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return "\n".join(overview.text(data, now=now))


def _check(args: argparse.Namespace) -> None:
    if args.interval <= 0 or args.interval > 3600:
        raise UsageError(f"--interval: {args.interval} is out of range (0-3600 seconds)")


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe.reads import connect

    _check(args)
    target = resolve(args)
    reader = connect(args.kubeconfig)
    if not args.watch:
        print(render(collect(target, reader), args.output))
        return 0
    return _watch(target, reader, output=args.output, interval=args.interval)


def _watch(target: Target, reader: Any, *, output: str, interval: float) -> int:
    """Redraw until Ctrl-C, which is the normal way out (exit 0). On a terminal the view
    replaces itself in place; piped, each refresh is printed after the last."""
    tty = sys.stdout.isatty()
    if tty:
        sys.stdout.write(ALT_SCREEN)
    try:
        while True:
            try:
                body = render(collect(target, reader), output)
            except OperationError as err:  # a blip in the cluster should not end the view
                body = f"cannot read the cluster right now: {err}"
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            header = f"unhazzle status, every {interval:g} s, {stamp} UTC (Ctrl-C to stop)"
            sys.stdout.write((HOME_CLEAR if tty else "") + f"{header}\n\n{body}\n")
            sys.stdout.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0
    finally:
        if tty:
            sys.stdout.write(MAIN_SCREEN)
            sys.stdout.flush()
