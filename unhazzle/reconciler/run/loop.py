"""Running the reconciler: one pass and a health wait (`--once`), or the steady loop until a
SIGTERM, with leader election."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.reporting import print_dry_run, summary_lines
from unhazzle.reconciler.run.state import EnvOutcome
from unhazzle.shared import collector


def run_once(rec: Reconciler) -> int:
    """One pass and a health wait: 0 when every environment converged and is healthy. With
    leader election, only as the leader: a pass never writes while another replica leads."""
    rec.poll()  # what to apply, and what may not be, is known before the cluster is asked
    if rec.leader is None or not rec.good:
        return _once(rec)
    if not rec.leader.acquire(rec.stop):
        holder = rec.leader.holder()
        why = rec.leader.problem or (
            f"another reconciler ({holder or 'unknown'}) holds the leader lease and keeps renewing it; "
            "nothing was applied. Stop it first, or pass --no-leader-election to apply anyway"
        )
        rec.log.error("leader.not_acquired", error=why)
        print(f"unhazzle reconcile: {why}", file=sys.stderr)
        return 1
    rec.leader.start()  # renewed through the pass and the health wait, handed back at the end
    try:
        return _once(rec)
    finally:
        rec.leader.stop()


def _once(rec: Reconciler) -> int:
    if not rec.good:
        rec.log.error("reconcile.nothing", error=rec.source_error or "no environment to apply")
        return _exit_code(rec, ok=False)
    outcomes = _pass(rec)
    if rec.options.dry_run:
        print_dry_run(rec, outcomes)
        return _exit_code(rec, ok=all(not o.errors for o in outcomes), outcomes=outcomes)
    deadline = time.monotonic() + rec.options.timeout
    try:
        while rec.wait_healthy(outcomes, timeout=max(0.0, deadline - time.monotonic())):
            rec.poll()  # a new commit cut the wait short: apply it, then wait for it instead
            outcomes = _pass(rec)
    finally:
        rec.stop_watching()
    rec.report(outcomes)
    if rec.webhook:
        rec.webhook.drain()
    if rec.options.human:
        print("\n".join(summary_lines(rec, outcomes)), file=rec.out or sys.stdout, flush=True)
    return _exit_code(rec, ok=all(o.ok for o in outcomes), outcomes=outcomes)


def _exit_code(rec: Reconciler, *, ok: bool, outcomes: Sequence[EnvOutcome] = ()) -> int:
    """2 when the tip (unsigned, or with no environments) or a folder of it was refused for what
    it holds, or for what it would touch in the cluster (bad input, like a bad spec: it is the
    commit to fix, not the cluster), else 0 when all is well and 1 for any other trouble."""
    refusals = {p for problems in rec.problems.values() for p in problems}
    refusals |= {rec.tip_refusal} - {""}
    refusals |= {error for o in outcomes if o.refused for error in o.errors}
    if refusals:
        # Also as plain lines, like a bad spec's: the JSON log is for machines watching the loop.
        for refusal in sorted(refusals):
            print(refusal, file=sys.stderr)
        return 2
    return 0 if ok and not rec.source_error else 1


def run_loop(rec: Reconciler) -> int:
    """Poll, apply, follow health (waiting.py), report, rest until the next pass; until a
    stop is asked (SIGTERM), which is honoured between steps."""
    if rec.leader:
        rec.leader.start()
    was_leader = None
    try:
        while not rec.stop.is_set():
            started = time.monotonic()
            leading = rec.leader is None or rec.leader.is_leader()
            if leading != was_leader:
                rec.log.info(
                    "leader" if leading else "standby",
                    identity=rec.leader.identity if rec.leader else "",
                    **_standby_reason(rec, leading),
                )
                if rec.metrics:
                    rec.metrics.leader.set(1 if leading else 0)
                was_leader = leading
            if not leading:
                rec.stop.wait(min(rec.options.interval, 1.0))
                continue
            outcomes: list[EnvOutcome] = []
            collector.between_passes()  # (before the first pass too: it sets the pace)
            try:
                outcomes = _steady_pass(rec)
            except ClusterError as err:  # the loop outlives any one failed pass; the next one retries
                rec.log.error("reconcile.pass_failed", error=str(err))
            # start to start: a push waits at most one interval to be seen
            _rest(rec, outcomes, until=started + rec.options.interval)
    finally:
        rec.stop_watching()
        if rec.leader:
            rec.leader.stop()
    rec.log.info("stopped")
    return 0


def _standby_reason(rec: Reconciler, leading: bool) -> dict[str, str]:
    """What a standby replica waits for, in words: a live leader, or a lease it cannot use."""
    if leading or rec.leader is None:
        return {}
    if rec.leader.problem:
        return {"reason": rec.leader.problem}
    holder = rec.leader.holder()
    return {"reason": f"{holder} leads; taking over if it stops renewing"} if holder else {}


def _steady_pass(rec: Reconciler) -> list[EnvOutcome]:
    """One pass of the loop: apply every environment, then look at each one's health once. A
    change is followed (waiting.py), never waited for here: one environment's slow start never
    delays another's healing."""
    rec.poll()
    outcomes = _pass(rec)
    rec.follow(outcomes)
    rec.report(outcomes)
    return outcomes


def _rest(rec: Reconciler, outcomes: list[EnvOutcome], *, until: float) -> None:
    """Sleep until the next pass. While environments are followed, look at those again every
    few seconds and report as they get there; a new commit ends the rest early."""
    while not rec.stop.is_set():
        left = until - time.monotonic()
        followed = [o for o in outcomes if o.key in rec.following]
        if left <= 0 or rec.stop.wait(min(left, rec.options.poll_during_wait) if followed else left):
            return
        if not followed:
            continue
        rec.follow(followed, start=[])  # the same outcomes: their waits go on
        rec.report([_health_only(o) for o in followed])
        if any(rec.released(o) for o in followed):
            return  # a release step ended: the apps waiting for it go now, not an interval later
        if rec.tip_moved():
            rec.log.info("health.wait.interrupted", reason="new commit")
            return


def _health_only(outcome: EnvOutcome) -> EnvOutcome:
    """The outcome re-reported for its health alone: its changes were reported with the pass."""
    return replace(
        outcome, changes=[replace(c, action="unchanged", drift=False) for c in outcome.changes], pruned=[]
    )


def _pass(rec: Reconciler) -> list[EnvOutcome]:
    started, cpu = time.monotonic(), time.process_time()
    writes_before, requests_before = rec.client.writes(), dict(rec.client.requests)
    outcomes = rec.reconcile()
    elapsed = time.monotonic() - started
    result = "error" if any(o.errors for o in outcomes) or rec.source_error else "ok"
    cut_short = rec.leader is not None and not rec.leader.is_leader()
    if cut_short:
        result = "interrupted"  # lost the lease mid-pass: what was applied stays; the new leader goes on
    if rec.metrics:
        rec.metrics.reconciles.labels(result).inc()
        rec.metrics.duration.observe(elapsed)
    (rec.log.error if result != "ok" else rec.log.info)(
        "reconcile.pass",
        commit=rec.tip,
        result=result,
        **({"reason": "lost the leader lease; the new leader carries on"} if cut_short else {}),
        environments=len(outcomes),
        writes=rec.client.writes() - writes_before,
        requests={
            k: n - requests_before.get(k, 0)
            for k, n in rec.client.requests.items()
            if n > requests_before.get(k, 0)
        },
        duration_s=round(elapsed, 3),
        cpu_s=round(time.process_time() - cpu, 3),  # all threads; on a busy machine wall time misleads
    )
    return outcomes
