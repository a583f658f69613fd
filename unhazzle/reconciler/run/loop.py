"""Running the reconciler: one pass and a health wait (`--once`), or the steady loop until a
SIGTERM, with leader election."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.reporting import print_dry_run
from unhazzle.reconciler.run.state import EnvOutcome


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
    while rec.wait_healthy(outcomes, timeout=max(0.0, deadline - time.monotonic())):
        rec.poll()  # a new commit cut the wait short: apply it, then wait for it instead
        outcomes = _pass(rec)
    rec.report(outcomes)
    if rec.webhook:
        rec.webhook.drain()
    return _exit_code(rec, ok=all(o.ok for o in outcomes), outcomes=outcomes)


def _exit_code(rec: Reconciler, *, ok: bool, outcomes: Sequence[EnvOutcome] = ()) -> int:
    """2 when a folder of the tip was refused for what it holds, or for what it would touch in
    the cluster (bad input, like a bad spec: it is the commit to fix, not the cluster), else 0
    when all is well and 1 for any other trouble."""
    refusals = {p for problems in rec.problems.values() for p in problems}
    refusals |= {error for o in outcomes if o.refused for error in o.errors}
    if refusals:
        # Also as plain lines, like a bad spec's: the JSON log is for machines watching the loop.
        for refusal in sorted(refusals):
            print(refusal, file=sys.stderr)
        return 2
    return 0 if ok and not rec.source_error else 1


def run_loop(rec: Reconciler) -> int:
    """Poll, apply, wait for health (a new commit cuts the wait short), report, sleep; until a
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
            try:
                interrupted = _steady_pass(rec)
            except ClusterError as err:  # the loop outlives any one failed pass; the next one retries
                rec.log.error("reconcile.pass_failed", error=str(err))
                interrupted = False
            if not interrupted:  # start to start: a push waits at most one interval to be seen
                rec.stop.wait(max(0.0, rec.options.interval - (time.monotonic() - started)))
    finally:
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


def _steady_pass(rec: Reconciler) -> bool:
    """One pass of the loop; True when a new commit cut its health wait short."""
    rec.poll()
    outcomes = _pass(rec)
    interrupted = False
    if any(o.applied or o.pruned for o in outcomes):
        interrupted = rec.wait_healthy(outcomes, timeout=rec.options.timeout)
    else:
        for outcome in outcomes:
            if not outcome.errors and not outcome.removed:
                _assess_quietly(rec, outcome)
    rec.report(outcomes)
    return interrupted


def _assess_quietly(rec: Reconciler, outcome: EnvOutcome) -> None:
    try:
        rec.assess(outcome)
    except ClusterError as err:
        outcome.errors.append(str(err))


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
