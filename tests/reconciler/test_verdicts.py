"""How each deploy ended, as the reconciler records it for `history` and `events`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from unhazzle.reconciler.sync.verdicts import KEEP, Pass, in_words, recorded

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def passes(*seen: Pass) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for one in seen:
        records = recorded(records, one)
    return records


def test_a_deploy_is_healthy_in_the_seconds_it_took_from_its_first_write() -> None:
    records = passes(
        Pass("c1", changed=True, now=at(0), health="progressing"),
        Pass("c1", changed=False, now=at(25), health="progressing"),
        Pass("c1", changed=False, now=at(40), health="healthy"),
        Pass("c1", changed=False, now=at(900), health="failed", failed=["api: keeps crashing"]),
    )
    assert [(r["revision"], r["outcome"], r["healthy_after_s"]) for r in records] == [("c1", "healthy", 40)]
    assert in_words(records[0]) == "healthy in 40 s"  # a later crash is not this deploy's outcome


def test_each_deploy_has_its_own_record_newest_first_and_drift_or_other_folders_start_none() -> None:
    records = passes(
        Pass("c1", changed=True, now=at(0), health="healthy"),
        Pass("c2", changed=False, now=at(60), health="healthy"),  # another environment's commit
        Pass("c3", changed=True, now=at(120), health="progressing"),
        Pass("c3", changed=False, now=at(130), health="failed", failed=["api: ran out of memory"]),
    )
    assert [(r["revision"], r["outcome"]) for r in records] == [("c3", "failed"), ("c1", "healthy")]
    assert in_words(records[0]) == "failed: api: ran out of memory"


def test_a_failed_deploy_that_recovers_is_healthy_and_one_held_back_is_not_yet() -> None:
    records = passes(
        Pass("c1", changed=True, now=at(0), health="failed", failed=["api: keeps crashing"]),
        Pass("c1", changed=False, now=at(30), health="healthy", held=True),  # web waits for api
        Pass("c1", changed=False, now=at(50), health="healthy"),
    )
    assert (records[0]["outcome"], records[0]["healthy_after_s"]) == ("healthy", 50)


def test_an_automatic_rollback_is_final_and_says_which_app_and_why() -> None:
    why = "crashed at start (exit code 3); its last lines:\n  no such table"
    records = passes(
        Pass("c1", changed=True, now=at(0), health="healthy"),
        Pass("c2", changed=True, now=at(60), health="progressing"),
        Pass("c2", changed=True, now=at(300), health="progressing", errors=["rolled back"], rolled_back=[("api", why)]),
        Pass("c2", changed=False, now=at(330), health="healthy", errors=["not applied again"]),
    )  # fmt: skip
    assert records[0]["outcome"] == "rolled back"
    assert records[0]["rolled_back"] == [{"app": "api", "why": why}]
    assert in_words(records[0]).startswith("rolled back automatically: api: crashed at start (exit code 3)")


def test_a_refused_revision_is_recorded_once_and_the_one_in_force_keeps_its_verdict() -> None:
    refusal = "production/api.yaml:3:1: the server refused it"
    records = passes(
        Pass("c1", changed=True, now=at(0), health="healthy"),
        Pass("c1", changed=False, now=at(60), health="healthy", errors=[refusal], refused="c2"),
        Pass("c1", changed=False, now=at(90), health="healthy", errors=[refusal], refused="c2"),
    )
    assert [(r["revision"], r["outcome"]) for r in records] == [("c2", "refused"), ("c1", "healthy")]
    assert in_words(records[0]) == f"refused: {refusal}"


def test_a_release_step_that_fails_fails_the_deploy_until_a_new_commit() -> None:
    failure = "shop/production: app api: its release step failed (exit code 7)"
    records = passes(
        Pass("c2", changed=True, now=at(0), health="healthy", held=True),
        Pass("c2", changed=False, now=at(20), health="healthy", errors=[failure]),
    )
    assert (records[0]["outcome"], records[0]["reason"]) == ("failed", failure)


def test_a_record_started_without_a_change_of_this_reconciler_has_no_time_to_healthy() -> None:
    records = passes(Pass("c1", changed=False, now=at(0), health="healthy"))
    assert in_words(records[0]) == "healthy"


def test_only_the_newest_records_are_kept() -> None:
    records = passes(*(Pass(f"c{i}", changed=True, now=at(i), health="healthy") for i in range(KEEP + 5)))
    assert len(records) == KEEP and records[0]["revision"] == f"c{KEEP + 4}"
