"""What `status` and `metrics` say about jobs and release steps, from the cluster's objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from unhazzle.observe import overview, runs
from unhazzle.observe.usage import usage_rows

NOW = datetime(2026, 12, 5, 12, 0, 30, tzinfo=UTC)
OURS = {"app.kubernetes.io/managed-by": "unhazzle"}


def cronjob(name: str = "report") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {**OURS, "unhazzle.io/job": name}},
            "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin"}}  # fmt: skip


def run(name: str, state: str, *, started: str, ended: str | None = None, label: str = "unhazzle.io/job",
        owner: str = "report") -> dict[str, Any]:  # fmt: skip
    conditions = {"succeeded": [{"type": "Complete", "status": "True"}],
                  "failed": [{"type": "Failed", "status": "True", "lastTransitionTime": ended}],
                  "running": []}[state]  # fmt: skip
    status: dict[str, Any] = {"startTime": started, "conditions": conditions}
    if state == "succeeded":
        status["completionTime"] = ended
    return {"metadata": {"name": name, "labels": {**OURS, label: owner}}, "status": status}


def run_pod(
    job: str, *, code: int, said: str, owner: tuple[str, str] = ("unhazzle.io/job", "report")
) -> dict:
    return {
        "metadata": {"name": f"{job}-abcde", "creationTimestamp": "2026-12-05T02:00:00Z",
                     "labels": {"job-name": job, owner[0]: owner[1]}},
        "spec": {"containers": [{"name": owner[1], "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                                                                "limits": {"cpu": "1", "memory": "256Mi"}}}]},
        "status": {"containerStatuses": [{"name": owner[1], "state": {"terminated": {
            "exitCode": code, "message": said}}}]},
    }  # fmt: skip


def test_a_job_shows_its_last_finished_run_a_run_in_progress_and_the_next_one() -> None:
    jobs = [
        run("report-1", "failed", started="2026-12-04T02:00:00Z", ended="2026-12-04T02:00:42Z"),
        run("report-2", "succeeded", started="2026-12-05T02:00:00Z", ended="2026-12-05T02:01:05Z"),
        run("report-3", "running", started="2026-12-05T11:59:00Z"),
    ]
    [report] = runs.job_reports([cronjob()], jobs, [], now=NOW)
    assert report["running"] == 1
    assert report["last_run"]["name"] == "report-2" and report["last_run"]["result"] == "succeeded"
    assert report["last_run"]["duration_s"] == 65
    assert report["next_run_at"] == "2026-12-06T02:00:00Z"  # 03:00 in Berlin
    text = runs.job_lines(report, 6, now=NOW)[0]
    assert "runs 0 3 * * * (Europe/Berlin); a run in progress; last run 10 h ago: succeeded in 65 s" in text


def test_a_failed_run_says_why_with_its_last_lines() -> None:
    jobs = [run("report-1", "failed", started="2026-12-05T02:00:00Z", ended="2026-12-05T02:00:42Z")]
    pods = [run_pod("report-1", code=2, said="connecting\nerror: database is read-only\n")]
    [report] = runs.job_reports([cronjob()], jobs, pods, now=NOW)
    assert report["last_run"]["reason"] == "failed (exit code 2)"
    lines = runs.job_lines(report, 6, now=NOW)
    assert lines[1].strip() == "- the last run failed (exit code 2)"
    assert lines[-1].strip() == "error: database is read-only"


def test_an_apps_failed_release_step_is_its_first_finding() -> None:
    step = run("api-release-0123456789", "failed", started="2026-12-05T11:00:00Z", ended="2026-12-05T11:00:09Z",
               label="unhazzle.io/release-of", owner="api")  # fmt: skip
    pod = run_pod("api-release-0123456789", code=1, said="relation users does not exist",
                  owner=("unhazzle.io/release-of", "api"))  # fmt: skip
    snap = overview.Snapshot("shop-production", exists=True, jobs=[step], pods=[pod])
    report = overview.app_report(snap, "api", now=NOW)
    first = report["findings"][0]
    assert first["message"] == (
        "the new version's release step failed (exit code 1); it last printed: relation users does not exist"
    )
    assert "retry-release" in first["hint"] and first["severity"] == "failing"
    assert report["release_step"]["result"] == "failed"
    succeeded = run("api-release-0123456789", "succeeded", started="2026-12-05T11:00:00Z",
                    ended="2026-12-05T11:00:09Z", label="unhazzle.io/release-of", owner="api")  # fmt: skip
    snap = overview.Snapshot("shop-production", exists=True, jobs=[succeeded], pods=[pod])
    assert overview.app_report(snap, "api", now=NOW)["release_step"] is None


def test_metrics_measure_a_jobs_run_in_progress() -> None:
    pod = run_pod("report-3", code=0, said="")
    metrics = [{"metadata": {"name": "report-3-abcde"},
                "containers": [{"name": "report", "usage": {"cpu": "250m", "memory": "128Mi"}}]}]  # fmt: skip
    [row] = usage_rows(metrics, [pod])
    assert row.app == "report" and row.cpu == 0.25 and row.memory_mb == 128
