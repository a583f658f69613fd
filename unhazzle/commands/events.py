"""`unhazzle events [APP] [--env ENV] [--since 1h]`: what happened, in plain words."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.target import add_target, environments, resolve
from unhazzle.errors import UsageError


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "events",
        help="what happened to your apps, in plain words",
        description="The cluster's events for your apps, oldest first, translated, with the "
        "reconciler's own: each deploy's start and how it ended (healthy, failed and why, rolled back).",
    )
    add_target(parser)
    parser.add_argument("--since", default="1h", metavar="DURATION", help="how far back (default 1h)")
    parser.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    parser.set_defaults(run=run, check_flags=checked_by(_window))


def translate(
    events: list[dict[str, Any]],
    *,
    apps: list[str],
    only: str | None,
    since: datetime,
    said: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Events as rows {time, app, kind, count, message, warning}, oldest first; events of
    objects that are not our apps' are left out. `said`: each instance's last words (why it
    crashed, words.last_words)."""
    from unhazzle.observe import words

    rows, said = [], said or {}
    for event in events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        app = words.app_of(str(involved.get("kind", "")), str(involved.get("name", "")), apps)
        when = words.event_time(event)
        if app is None or (only and app != only) or when is None or when < since:
            continue
        rows.append({
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "app": app,
            "count": words.event_count(event),
            "warning": event.get("type") == "Warning",
            "message": words.event_words(event, app=app, said=said.get(str(involved.get("name")), "")),
        })  # fmt: skip
    return _combined(sorted(rows, key=lambda r: (r["time"], r["app"], r["message"])))


def _combined(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two cluster events that read the same in our words, at the same moment, are one row."""
    out: list[dict[str, Any]] = []
    for row in rows:
        last = out[-1] if out else None
        if last and (last["time"], last["app"], last["message"]) == (row["time"], row["app"], row["message"]):
            last["count"] = max(last["count"], row["count"])
            continue
        out.append(row)
    return out


def deploy_rows(records: list[dict[str, Any]], *, only: str | None, since: datetime) -> list[dict[str, Any]]:
    """The reconciler's deploy records as rows: a deploy's start and end belong to the whole
    environment (app ""), an automatic rollback to its app."""
    from unhazzle.observe import outcomes

    cutoff = since.strftime("%Y-%m-%dT%H:%M:%SZ")  # the records' own form, so compared as text
    return [
        row
        for row in outcomes.moments(records)
        if row["time"] >= cutoff and (only is None or row["app"] in ("", only))
    ]


def _window(args: argparse.Namespace) -> timedelta:
    from unhazzle.observe import words

    try:
        return words.window(args.since)
    except ValueError as err:
        raise UsageError(f"--since: {err}") from None


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe import outcomes, words
    from unhazzle.observe import reads as observe

    since = datetime.now(UTC) - _window(args)
    target = resolve(args)
    reader = observe.connect(args.kubeconfig)
    found: list[dict[str, Any]] = []
    for env in environments(target, reader):
        apps = [*(env.apps or observe.app_names(reader, env.namespace)), *env.jobs]
        said = words.last_words(observe.all_pods(reader, env.namespace))
        rows = translate(
            observe.events(reader, env.namespace), apps=apps, only=target.app, since=since, said=said
        )
        rows += deploy_rows(outcomes.records(reader, env.namespace), only=target.app, since=since)
        rows.sort(key=lambda r: (r["time"], r["app"], r["message"]))
        found += [{"environment": env.name, **row} for row in rows]
    if args.output == "json":
        print(json.dumps({"format": 1, "events": found}, indent=2, sort_keys=True))
        return 0
    if not found:
        print(f"no events in the last {args.since}" + (f" for {target.app}" if target.app else ""))
    for row in found:
        times = f" (x{row['count']})" if row["count"] > 1 else ""
        mark = "!" if row["warning"] else " "
        where = f"{row['environment']}/{row['app']}" if row["app"] else row["environment"]
        print(f"{row['time'][11:19]} {mark} {where}: {row['message']}{times}")
    return 0
