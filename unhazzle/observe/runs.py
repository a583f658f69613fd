"""What runs to completion, for `status`: each scheduled job (its last run, how it ended, the next
one) and each app's release step while it matters (running, or failed and holding a version back).
Pure: the environment's CronJobs, Jobs and instances in, reports out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from unhazzle.observe import words
from unhazzle.reconciler.objects import labels
from unhazzle.reconciler.sync.release import failure_reason, job_state, last_words
from unhazzle.shared.cron import CronError, parse
from unhazzle.shared.names import JOB_LABEL, MANAGED_BY, OURS, RELEASE_LABEL

Obj = dict[str, Any]
LAST_LINES = 5


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _started(obj: Obj) -> str:
    status = obj.get("status") or {}
    return str(status.get("startTime") or (obj.get("metadata") or {}).get("creationTimestamp") or "")


def _pods_of(job: Obj, pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if labels(p).get("job-name") == _name(job)]


def run_report(job: Obj, pods: list[Obj], *, now: datetime) -> dict[str, Any]:
    """One run (or release step): when it started, how it ended and, when it failed, why."""
    state = job_state(job)
    status = job.get("status") or {}
    started = words.parse_time(_started(job))
    ended = words.parse_time(status.get("completionTime")) if status.get("completionTime") else None
    if ended is None and state == "failed":
        failed_at = [
            c.get("lastTransitionTime") for c in status.get("conditions") or [] if c.get("type") == "Failed"
        ]
        ended = words.parse_time(failed_at[0]) if failed_at and failed_at[0] else None
    mine = _pods_of(job, pods)
    report: dict[str, Any] = {
        "name": _name(job),
        "result": state if state != "absent" else "running",
        "started_at": _started(job) or None,
        "duration_s": round((ended - started).total_seconds()) if ended and started else None,
        "attempts": len(mine),
    }
    if state == "failed":
        report["reason"] = failure_reason(job, mine)
        report["last_lines"] = last_words(mine, lines=LAST_LINES)
    return report


def job_reports(
    cronjobs: list[Obj], jobs: list[Obj], pods: list[Obj], *, now: datetime
) -> list[dict[str, Any]]:
    """Each scheduled job of ours: schedule, runs in progress, the last finished run and the next."""
    out = []
    for cron in sorted(cronjobs, key=_name):
        if labels(cron).get(MANAGED_BY) != OURS:
            continue
        name = _name(cron)
        spec = cron.get("spec") or {}
        runs = sorted((j for j in jobs if labels(j).get(JOB_LABEL) == name), key=_started)
        ended = [j for j in runs if job_state(j) in ("succeeded", "failed")]
        zone = str(spec.get("timeZone") or "UTC")
        try:
            upcoming = parse(str(spec.get("schedule", ""))).next_run(now, zone)
        except (CronError, ValueError):
            upcoming = None
        out.append(
            {
                "name": name,
                "schedule": spec.get("schedule"),
                "timezone": zone,
                "running": sum(job_state(j) == "running" for j in runs),
                "last_run": run_report(ended[-1], pods, now=now) if ended else None,
                "next_run_at": upcoming.astimezone(now.tzinfo).strftime("%Y-%m-%dT%H:%M:%SZ")
                if upcoming
                else None,
            }
        )
    return out


def release_report(app: str, jobs: list[Obj], pods: list[Obj], *, now: datetime) -> dict[str, Any] | None:
    """The app's newest release step, when it is running or failed (a succeeded one is history)."""
    steps = sorted((j for j in jobs if labels(j).get(RELEASE_LABEL) == app), key=_started)
    if not steps or job_state(steps[-1]) == "succeeded":
        return None
    return run_report(steps[-1], pods, now=now)


def job_lines(job: dict[str, Any], width: int, *, now: datetime) -> list[str]:
    head = f"  {job['name']:<{width}}  job         runs {job['schedule']} ({job['timezone']})"
    parts = [head]
    last = job["last_run"]
    if job["running"]:
        parts.append("a run in progress")
    if last is None:
        parts.append("no run has finished yet")
    else:
        when = words.ago(words.parse_time(last["started_at"]), now) if last["started_at"] else ""
        took = f" in {last['duration_s']} s" if last["duration_s"] is not None else ""
        parts.append(f"last run {when}: {last['result']}{took}")
    if job["next_run_at"]:
        parts.append(f"next {job['next_run_at'].replace('T', ' ').removesuffix('Z')} UTC")
    lines = ["; ".join(parts)]
    if last and last["result"] == "failed":
        lines.append(f"  {'':<{width}}  - the last run {last['reason']}")
        lines += [
            f"  {'':<{width}}    {line.strip()}" for line in (last.get("last_lines") or "").splitlines()
        ]
    return lines


def release_finding(step: dict[str, Any]) -> words.Finding:
    if step["result"] == "failed":
        said = (step.get("last_lines") or "").strip().splitlines()
        tail = f"; it last printed: {said[-1].strip()}" if said else ""
        return words.Finding(
            f"the new version's release step {step['reason']}{tail}",
            "the previous version keeps serving; fix and publish again, or `unhazzle retry-release`",
            "failing",
        )
    return words.Finding(
        "the new version's release step is running", "it rolls out when the step succeeds", "progressing"
    )
