"""How each deploy ended, read back: beside the environment repo's deploys in `history`, and as
moments in `events`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from unhazzle.commands.events import deploy_rows
from unhazzle.observe.outcomes import attach, moments


def record(revision: str, outcome: str, **more: Any) -> dict[str, Any]:
    return {
        "revision": revision, "started_at": "2026-12-05T12:00:00Z", "outcome": outcome, "reason": "",
        "decided_at": "2026-12-05T12:00:40Z", "healthy_after_s": None, "rolled_back": [], **more,
    }  # fmt: skip


def test_each_deploy_gets_the_verdict_of_the_commit_that_carried_it() -> None:
    deploys: list[dict[str, Any]] = [{"revision": "d3"}, {"revision": "d2"}, {"revision": "d1"}]
    records = [
        record("t9", "healthy", healthy_after_s=12),  # the tip then: another folder's commit after d3
        record("d2", "rolled back", reason="api: ran out of memory", rolled_back=[{"app": "api", "why": "ran out of memory"}]),
    ]  # fmt: skip
    attach(deploys, records, {"t9": "d3"}.get)
    assert [d["result"] and d["result"]["words"] for d in deploys] == [
        "healthy in 12 s",
        "rolled back automatically: api: ran out of memory",
        None,  # before the reconciler kept records, or replaced before it got to it
    ]


def test_a_deploys_start_and_end_are_moments_and_a_rollback_is_its_apps() -> None:
    records = [
        record("d2" * 20, "rolled back", decided_at="2026-12-05T12:05:00Z",
               rolled_back=[{"app": "api", "why": "crashed at start (exit code 3); its last lines:\n  boom"}]),
        record("d1" * 20, "healthy", healthy_after_s=40),
    ]  # fmt: skip
    rows = moments(records)
    assert [(r["time"][11:], r["app"], r["warning"], r["message"]) for r in rows] == [
        ("12:00:00Z", "", False, f"deploy {'d1' * 6} started"),
        ("12:00:00Z", "", False, f"deploy {'d2' * 6} started"),
        ("12:00:40Z", "", False, f"deploy {'d1' * 6} healthy in 40 s"),
        ("12:05:00Z", "api", True,
         f"deploy {'d2' * 6} rolled back automatically to the version before: crashed at start (exit code 3); its last lines:"),
    ]  # fmt: skip


def test_events_keep_the_window_and_the_app_asked_for() -> None:
    records = [record("d1", "failed", reason="web: keeps crashing", rolled_back=[])]
    since = datetime(2026, 12, 5, 12, 0, 30, tzinfo=UTC)
    rows = deploy_rows(records, only="web", since=since)
    assert [(r["message"], r["warning"]) for r in rows] == [("deploy d1 failed: web: keeps crashing", True)]
    assert deploy_rows(records, only=None, since=datetime(2026, 12, 6, tzinfo=UTC)) == []
