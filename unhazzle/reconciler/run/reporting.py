"""Report each environment's outcome: its status in the cluster, metrics, one webhook notice per
commit and verdict."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from unhazzle.reconciler.run import webhooks
from unhazzle.reconciler.run.records import Records
from unhazzle.reconciler.run.state import EnvOutcome, State
from unhazzle.reconciler.sync import status, verdicts


class Reporting(Records):
    def report(self, outcomes: list[EnvOutcome]) -> None:
        """Write each environment's status. With a stop asked (SIGTERM), a status write the API
        server did not answer ends the report: each environment's read and write would wait out
        their retries in turn, and the process would outlive its grace period. A write the server
        answered with a refusal ends nothing."""
        unanswered = False
        for done, outcome in enumerate(outcomes):
            if unanswered and self.stop.is_set():
                left = [o.key for o in outcomes[done:]]
                self.log.error("status.not_reported", environments=left,
                               reason="stopping, and the API server does not answer")  # fmt: skip
                return
            if not outcome.namespace or outcome.not_ours:  # nowhere of ours to write: the log only
                self.log.error("status", environment=outcome.key, errors=outcome.errors)
                continue
            if outcome.disposed and not outcome.errors:  # its namespace is going: the log and webhook
                self._disposed(outcome)
                continue
            old = self.statuses.get(outcome.key) or self._read_status(outcome.namespace)
            new = self._status(outcome, old)
            if old is not None:
                new = replace(new, drift_corrected=old.drift_corrected + outcome.drift)
                if not (outcome.applied or outcome.pruned):  # `applied`/`pruned` describe the last change
                    new = replace(
                        new,
                        applied=old.applied,
                        pruned=old.pruned,
                        timings_s=old.timings_s,
                        applied_at=old.applied_at if new.revision == old.revision else new.applied_at,
                    )
            if old is None or old.essence() != new.essence():
                written = self._write_status(new)
                if not written:
                    unanswered = unanswered or written is None
                    continue  # not remembered as written: the next pass tries again
                self.log.info("status", **{k: v for k, v in new.__dict__.items() if k != "timings_s"})
            self.statuses[outcome.key] = new
            self._metrics(outcome, new)
            self._notify(outcome, new)

    def _status(self, outcome: EnvOutcome, previous: status.EnvStatus | None) -> status.EnvStatus:
        health = outcome.health
        applied = not outcome.errors
        when = datetime.now(UTC)
        return status.EnvStatus(
            environment=outcome.key,
            namespace=outcome.namespace,
            revision=outcome.commit if applied else (previous.revision if previous else ""),
            wanted_revision=self.tip or outcome.commit,
            health="removed" if outcome.removed else health.word if health else "unknown",
            waiting=[*(health.waiting + health.failed if health else []), *outcome.ordered],
            errors=sorted({*outcome.errors, *([self.source_error] if self.source_error else [])}),
            objects=len(outcome.changes),
            applied=outcome.applied,
            pruned=len(outcome.pruned),
            updated_at=(now := verdicts.stamp(when)),
            applied_at=now if applied else (previous.applied_at if previous else ""),
            timings_s=outcome.timings,
            deploys=(previous.deploys if previous else [])
            if outcome.removed
            else verdicts.recorded(previous.deploys if previous else [], self._seen(outcome, when)),
        )

    def _seen(self, outcome: EnvOutcome, now: datetime) -> verdicts.Pass:
        health = outcome.health
        own = any(c.action in ("created", "configured") and not c.drift for c in outcome.changes)
        return verdicts.Pass(
            commit=outcome.commit,
            changed=own or bool(outcome.pruned),
            now=now,
            health=health.word if health else "unknown",
            failed=list(health.failed) if health else [],
            errors=list(outcome.errors),
            held=bool(outcome.ordered or outcome.releasing),
            rolled_back=list(outcome.rolled_back),
            refused=outcome.refused_commit if outcome.fallback else "",
        )

    def _disposed(self, outcome: EnvOutcome) -> None:
        """A preview removed whole: said once per commit (an expired one is seen every pass, and
        one whose namespace is gone already has nothing left to say)."""
        if not outcome.pruned or self.notified.get(outcome.key) == (outcome.commit, "removed"):
            return
        self.notified[outcome.key] = (outcome.commit, "removed")
        self.statuses.pop(outcome.key, None)
        why = f"preview removed ({outcome.disposed}): everything of it deleted, volumes included"
        self.log.info("preview.removed", environment=outcome.key, reason=outcome.disposed,
                      deleted=len(outcome.pruned))  # fmt: skip
        if self.webhook is not None and not self.options.dry_run:
            project, _, environment = outcome.key.partition("/")
            self.webhook.send(webhooks.event("preview.removed", project=project, environment=environment,
                                             message=why, reason=outcome.disposed))  # fmt: skip

    def _metrics(self, outcome: EnvOutcome, new: status.EnvStatus) -> None:
        if self.metrics is None:
            return
        self.metrics.applied.labels(outcome.key).inc(outcome.applied)
        self.metrics.pruned.labels(outcome.key).inc(len(outcome.pruned))
        self.metrics.drift.labels(outcome.key).inc(outcome.drift)
        self.metrics.healthy.labels(outcome.key).set(1 if new.health == "healthy" else 0)
        if new.revision:
            self.metrics.set_revision(outcome.key, new.revision)

    def _notify(self, outcome: EnvOutcome, new: status.EnvStatus) -> None:
        if self.webhook is None or self.options.dry_run:
            return
        # One notice per commit and verdict: a deploy that converges, or fails, is reported once.
        verdict = ""
        if outcome.errors or new.health == "failed":
            verdict = "failed"
        elif new.health in ("healthy", "removed") and not outcome.ordered:
            verdict = "succeeded"  # (an app still held back for the apps it comes after: not yet)
        if not verdict or self.notified.get(outcome.key) == (outcome.commit, verdict):
            return
        self.notified[outcome.key] = (outcome.commit, verdict)
        project, _, environment = outcome.key.partition("/")
        message = "; ".join(new.errors) or ("removed" if new.health == "removed" else f"{new.health}")
        status = {k: v for k, v in new.__dict__.items() if k not in ("environment", "errors")}
        self.webhook.send(
            webhooks.event(
                f"deploy.{verdict}", project=project, environment=environment, message=message,
                errors=new.errors, **status,
            )
        )  # fmt: skip


def print_dry_run(rec: State, outcomes: list[EnvOutcome]) -> None:
    """What a real pass would do, per environment; Secret values masked in every diff."""
    write = rec.out.write if rec.out else print
    for outcome in outcomes:
        changes = [c for c in outcome.changes if c.action != "unchanged"]
        unchanged = len(outcome.changes) - len(changes)
        head = f"{outcome.key} (namespace {outcome.namespace}) at {outcome.commit[:12]}"
        write(f"{head}: {len(changes)} to change, {len(outcome.pruned)} to delete, {unchanged} unchanged\n")
        for change in changes:
            write(
                f"  {change.action}: {change.ref}{' (error: ' + change.error + ')' if change.error else ''}\n"
            )
            if change.diff:
                write("".join(f"    {line}" for line in change.diff.splitlines(keepends=True)))
        for ref in outcome.pruned:
            write(f"  deleted: {ref}\n")
        for error in outcome.errors:
            write(f"  error: {error}\n")


def summary_lines(rec: State, outcomes: list[EnvOutcome]) -> list[str]:
    """`--once` for a person: one line per environment (what was applied, deleted and repaired,
    and whether it is healthy, or why not), then a summary."""
    lines = []
    for o in outcomes:
        did = f"{o.applied} applied, {len(o.pruned)} deleted, {o.drift} repaired"
        at = f" at {o.commit[:12]}" if o.commit else ""
        if o.removed and o.disposed and not o.errors and not o.pruned:
            lines.append(f"{o.key}: preview {o.disposed}; nothing of it is left")
        elif o.removed and o.disposed and not o.errors:
            lines.append(f"{o.key}: preview removed ({o.disposed}): everything of it, volumes included")
        elif o.removed and o.errors:
            lines.append(f"{o.key}: not removed yet")
            lines += [f"  {error}" for error in o.errors]
        elif o.removed:
            lines.append(f"{o.key}: removed (its namespace and volumes are kept)")
        elif o.errors:
            kept = "; kept on the revision applied before" if o.fallback else ""
            lines.append(f"{o.key}: not applied{at}{kept}; {did}")
            lines += [f"  {error}" for error in o.errors]
        elif o.health is not None and o.health.healthy:
            lines.append(f"{o.key}: healthy{at}; {did}")
        else:
            waiting = (o.health.failed + o.health.waiting) if o.health else []
            word = "failed" if o.health and o.health.failed else "not healthy yet"
            lines.append(f"{o.key}: {word}{at}; {did}")
            lines += [f"  {why}" for why in waiting]
    good = sum(o.ok for o in outcomes)
    total = f"{len(outcomes)} environment{'s' * (len(outcomes) != 1)}"
    lines.append(f"{total}: {good} healthy, {len(outcomes) - good} not")
    if rec.source_error:
        lines.append(f"the environment repo: {rec.source_error}")
    return lines
