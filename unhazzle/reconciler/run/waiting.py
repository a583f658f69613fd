"""Wait for health after a change, each environment on its own.

`--once` waits for every environment it applied (wait_healthy). The loop never waits: it follows
each changed environment (follow) and goes on healing the others every pass; between passes it
looks again at the followed ones only, so a healthy verdict is reported within seconds. What an
environment waits for is logged whenever it changes, and given up on after the timeout."""

from __future__ import annotations

import time

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.run.state import EnvOutcome, Followed, State
from unhazzle.reconciler.source.git import SourceError
from unhazzle.reconciler.sync import health as health_mod
from unhazzle.shared.names import MANAGED_BY, OURS


class Waiting(State):
    def assess(self, outcome: EnvOutcome) -> None:
        objects: list[Obj] = []
        for api_version, kind in health_mod.HEALTH_KINDS:
            objects += self.tenancy.client_for(outcome.namespace).list_kind(
                api_version,
                kind,
                namespace=outcome.namespace,
                selector=f"{MANAGED_BY}={OURS}",
            )
        outcome.health = health_mod.assess(objects)

    def wait_healthy(self, outcomes: list[EnvOutcome], *, timeout: float) -> bool:
        """Assess until every environment is healthy, the timeout passes, a stop is asked, or a
        new commit arrives (True: interrupted by a new commit)."""
        deadline = time.monotonic() + timeout
        next_poll = time.monotonic() + self.options.poll_during_wait
        self.follow(outcomes, start=outcomes)
        while True:
            if any(self.released(o) for o in outcomes):
                return True  # a release step ended: apply what waited for it
            if not self.following or time.monotonic() >= deadline:
                return False
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.options.poll_during_wait
                if self.tip_moved():
                    self.log.info("health.wait.interrupted", reason="new commit")
                    return True
            if self.stop.wait(1.0):
                return False
            self.follow([o for o in outcomes if o.key in self.following])

    def follow(self, outcomes: list[EnvOutcome], *, start: list[EnvOutcome] | None = None) -> None:
        """Assess each environment once. Those in `start` (by default: those that applied or
        pruned anything) are followed from now until healthy or the timeout passes."""
        now = time.monotonic()
        started = [o for o in outcomes if o.applied or o.pruned or o.releasing or o.ordered]
        for outcome in started if start is None else start:
            self.following[outcome.key] = Followed(outcome.commit, now)
        for outcome in outcomes:
            if outcome.errors:
                self.following.pop(outcome.key, None)
            if outcome.removed or outcome.not_ours or not outcome.namespace:
                self.following.pop(outcome.key, None)  # nothing of it runs to wait for
                continue
            if outcome.errors and not outcome.fallback:
                continue  # (a refused revision leaves the last one running: its health is still told)
            try:
                self.assess(outcome)
            except ClusterError as err:
                outcome.health = health_mod.Health(waiting=[str(err)])
            self._settle(outcome, now)

    def _settle(self, outcome: EnvOutcome, now: float) -> None:
        followed = self.following.get(outcome.key)
        if followed is None or outcome.health is None:
            return
        waited = round(now - followed.since, 1)
        if outcome.health.healthy:
            self.log.info("health.ready", environment=outcome.key, commit=followed.commit, after_s=waited)
            del self.following[outcome.key]
        elif outcome.health.failed or waited >= self.options.timeout:
            self.log.error(
                "health.gave_up",
                environment=outcome.key,
                commit=followed.commit,
                after_s=waited,
                reason="will not get there without a change" if outcome.health.failed else "timed out",
                waiting=outcome.health.waiting + outcome.health.failed,
            )
            del self.following[outcome.key]
        elif tuple(outcome.health.waiting) != followed.said:  # said once, and again when it moves
            followed.said = tuple(outcome.health.waiting)
            self.log.info(
                "health.waiting",
                environment=outcome.key,
                commit=followed.commit,
                for_s=waited,
                waiting=outcome.health.waiting,
            )

    EARLY_PASSES = 10  # per environment and commit: a chain of `after:` takes one each

    def released(self, outcome: EnvOutcome) -> bool:
        """Whether apps of `outcome` were held back for what has now happened, so the next pass
        should come now: a release step ended (to roll them out, or to say it failed), or the
        apps they come after are healthy (nothing else is waited for), or a new version stalled
        and is to be rolled back (sync/rollback.py)."""
        health = outcome.health
        key = (outcome.key, outcome.commit)
        if health is None or self.early.get(key, 0) >= self.EARLY_PASSES:
            return False
        steps_done = bool(outcome.releasing) and not health.releasing
        order_done = bool(outcome.ordered) and health.healthy
        if steps_done or order_done or health.stalled:  # stalled: to be rolled back
            self.early[key] = self.early.get(key, 0) + 1
            return True
        return False

    def tip_moved(self) -> bool:
        try:
            return self.source.remote_tip() not in (self.tip, self.bad_tip)
        except SourceError:
            return False
