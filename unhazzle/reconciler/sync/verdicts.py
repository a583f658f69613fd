"""How each deploy of an environment ended, as the reconciler saw it: kept in its status (newest
first, at most KEEP) so `unhazzle history` can say "healthy in 40 s", "failed: ...", "rolled back:
..." beside each deploy, and `unhazzle events` can list them.

A record is keyed by the commit the reconciler applied; one starts when a pass writes a change of
this environment's own (drift repaired is not a deploy), or when a revision is refused. History
maps a commit to the deploy it carried (the newest commit that changed the folder). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KEEP = 30
# A deploy's end. "failed" may still turn healthy, and "refused" be applied (a refusal for what
# the cluster holds is tried again every pass).
FINAL = ("healthy", "rolled back")
REASON_CHARS = 600


@dataclass(frozen=True)
class Pass:
    """What one pass saw of one environment."""

    commit: str  # the revision applied (on a refusal: the one in force instead)
    changed: bool  # the pass wrote a change of the revision's own (not drift)
    now: datetime
    health: str = "unknown"  # healthy | progressing | failed | unknown
    failed: list[str] = field(default_factory=list)  # why health is "failed", in words
    errors: list[str] = field(default_factory=list)
    held: bool = False  # apps still held back (release steps, order): not healthy yet
    rolled_back: list[tuple[str, str]] = field(default_factory=list)  # (app, why) rolled back now
    refused: str = ""  # a revision this pass would not apply (the last good one runs instead)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def recorded(records: list[dict[str, Any]], seen: Pass) -> list[dict[str, Any]]:
    """`records` (newest first) with what this pass saw."""
    out = [dict(r) for r in records]
    reason = next(iter(seen.errors), "refused")[:REASON_CHARS]
    known = any(r["revision"] == seen.refused for r in out)
    again = bool(out) and out[0]["outcome"] == "refused" and out[0]["reason"] == reason  # the same folder
    if seen.refused and not known and not again:
        out.insert(0, _new(seen.refused, seen.now, outcome="refused", reason=reason, decided=True))
    target = next((r for r in out if r["revision"] == seen.commit), None)
    if target is None and (seen.changed or not any(r["outcome"] != "refused" for r in out)):
        target = _new(seen.commit, seen.now, timed=seen.changed)
        out.insert(0, target)
    elif target is None:
        target = next((r for r in out if r["outcome"] != "refused"), None)
    if target is not None and target["outcome"] not in FINAL:
        target.update(_verdict(target, seen))
    return out[:KEEP]


def _new(
    revision: str, now: datetime, *, outcome: str = "progressing", reason: str = "", decided: bool = False,
    timed: bool = True,
) -> dict[str, Any]:  # fmt: skip
    return {
        "revision": revision,
        "started_at": stamp(now),
        "outcome": outcome,
        "reason": reason[:REASON_CHARS],
        "decided_at": stamp(now) if decided else "",
        "healthy_after_s": None,
        "timed": timed,  # started by this reconciler's change, so "healthy in N s" means something
        "rolled_back": [],
    }


def _verdict(record: dict[str, Any], seen: Pass) -> dict[str, Any]:
    """The fields of `record` that change with what this pass saw."""
    if seen.rolled_back:
        apps = [{"app": app, "why": why[:REASON_CHARS]} for app, why in seen.rolled_back]
        reason = "; ".join(f"{r['app']}: {r['why']}" for r in apps)
        return _decided("rolled back", reason, seen, rolled_back=apps)
    if seen.errors and not seen.refused:
        return _decided("failed", seen.errors[0], seen)
    if seen.health == "healthy" and not seen.held:
        started = datetime.strptime(record["started_at"], "%Y-%m-%dT%H:%M:%S%z")
        after = round((seen.now - started).total_seconds()) if record.get("timed", True) else None
        return _decided("healthy", "", seen, healthy_after_s=after)
    if seen.health == "failed":
        return _decided("failed", "; ".join(seen.failed) or "failed", seen)
    return {"outcome": "progressing", "reason": "", "decided_at": ""}


def _decided(outcome: str, reason: str, seen: Pass, **more: Any) -> dict[str, Any]:
    return {"outcome": outcome, "reason": reason[:REASON_CHARS], "decided_at": stamp(seen.now), **more}


def in_words(record: dict[str, Any]) -> str:
    """`healthy in 40 s`, `failed: ...`, `rolled back automatically: api: ...`."""
    outcome, reason = record.get("outcome", ""), record.get("reason", "")
    if outcome == "healthy":
        after = record.get("healthy_after_s")
        return f"healthy in {after} s" if isinstance(after, int) else "healthy"
    if outcome == "rolled back":
        return f"rolled back automatically: {reason}"
    if outcome in ("failed", "refused"):
        return f"{outcome}: {reason}" if reason else outcome
    return "still rolling out"
