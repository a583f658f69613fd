"""How each deploy ended, as the reconciler recorded it in the environment's status
(reconciler/sync/verdicts.py): read from the cluster and set beside the environment repo's
deploys for `unhazzle history`, and listed as moments for `unhazzle events`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from unhazzle.observe.reads import Reader, reconciler_status
from unhazzle.reconciler.sync.verdicts import in_words


def records(reader: Reader, namespace: str) -> list[dict[str, Any]]:
    """The environment's deploy records, newest first (none before the reconciler wrote any)."""
    data = reconciler_status(reader, namespace) or {}
    try:
        found = json.loads(data.get("status.json") or "{}").get("deploys") or []
    except (ValueError, AttributeError):
        return []
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("revision"), str)]


def attach(
    deploys: list[dict[str, Any]], found: list[dict[str, Any]], carried: Callable[[str], str | None]
) -> None:
    """Set each deploy's `result` (None: the reconciler recorded nothing of it). A record is
    keyed by the commit the reconciler applied; `carried` names the deploy that commit carried
    (the newest commit at or before it that changed the folder)."""
    revisions = {d["revision"] for d in deploys}
    by_deploy: dict[str, dict[str, Any]] = {}
    for record in found:  # newest first: a deploy's newest record wins
        revision = record["revision"]
        deploy = revision if revision in revisions else carried(revision)
        if deploy is not None:
            by_deploy.setdefault(deploy, record)
    for deploy in deploys:
        mine = by_deploy.get(deploy["revision"])
        deploy["result"] = None if mine is None else result(mine)


def result(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "outcome": record.get("outcome", ""),
        "words": in_words(record),
        "healthy_after_s": record.get("healthy_after_s"),
        "reason": record.get("reason", ""),
        "started_at": record.get("started_at", ""),
        "decided_at": record.get("decided_at", ""),
        "rolled_back": list(record.get("rolled_back") or []),
    }


def moments(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record as events' rows {time, app, warning, message}, oldest first: a deploy began,
    and how it ended (each app rolled back is its own row)."""
    rows = []
    for record in found:
        short = record["revision"][:12]
        if record.get("outcome") != "refused" and record.get("started_at"):
            rows.append(_row(record["started_at"], "", False, f"deploy {short} started"))
        decided = record.get("decided_at") or ""
        if not decided:
            continue
        if record.get("outcome") == "rolled back":
            for app in record.get("rolled_back") or []:
                why = str(app.get("why", "")).splitlines()[0]
                message = f"deploy {short} rolled back automatically to the version before: {why}"
                rows.append(_row(decided, str(app.get("app", "")), True, message))
        else:
            warning = record.get("outcome") != "healthy"
            rows.append(_row(decided, "", warning, f"deploy {short} {in_words(record)}".splitlines()[0]))
    return sorted(rows, key=lambda r: (r["time"], r["app"], r["message"]))


def _row(when: str, app: str, warning: bool, message: str) -> dict[str, Any]:
    return {"time": when, "app": app, "count": 1, "warning": warning, "message": message}
