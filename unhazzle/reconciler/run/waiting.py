"""Wait for health after a change, each environment on its own.

`--once` waits for every environment it applied (wait_healthy). The loop never waits: it follows
each changed environment (follow) and goes on healing the others every pass; between passes it
looks again at the followed ones only, so a healthy verdict is reported within seconds. What an
environment waits for is logged whenever it changes, and given up on after the timeout.

A followed environment's health is read from watches (cluster/watch.py), not by listing again
and again: when it starts being followed -- each time it applies anything -- its health kinds are
listed once (so what it reads is what was just written), then watched, keeping only what health
reads of each object, until it is no longer followed; the wait wakes when a watch sees a change.
An environment not followed (and any with no time to wait, `--timeout 0`) is told from what its
pass listed anyway when the pass wrote nothing there (the kinds of its revision: apps and
autoscalers), and from one LIST per kind for the rest, as the loop looks at it once a pass."""

from __future__ import annotations

import time

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.cluster.watch import NamespaceWatch
from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.run.state import EnvOutcome, Followed, State
from unhazzle.reconciler.source.git import SourceError
from unhazzle.reconciler.sync import health as health_mod
from unhazzle.shared.names import MANAGED_BY, OURS

SETTLE_S = 0.5  # after a change: a burst of them (an app's instances starting) is assessed once
TICK_S = 0.1  # how soon a stop is seen while waiting for a change


class Waiting(State):
    def assess(self, outcome: EnvOutcome) -> None:
        watch = self.watches.get(outcome.key)
        if watch is not None and watch.namespace == outcome.namespace:
            version = watch.version  # before reading: a change meanwhile is assessed next time
            seen = self.assessed.get(outcome.key)
            if seen is None or seen[0] != version:
                self.assessed[outcome.key] = (version, health_mod.assess(watch.objects()))
            outcome.health = self.assessed[outcome.key][1]
            return
        objects: list[Obj] = []
        listed, outcome.seen = outcome.seen, {}  # used once: not kept through the rest of the pass
        for api_version, kind in health_mod.HEALTH_KINDS:
            if (api_version, kind) in listed:  # listed by this pass, nothing written since
                objects += listed[(api_version, kind)]
                continue
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
        self.follow(outcomes, start=outcomes, watch=timeout > 0)  # nothing to watch for: look once
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
            if self._until_changed(min(1.0, max(0.0, deadline - time.monotonic()))):
                return False
            self.follow([o for o in outcomes if o.key in self.following], start=[])

    def _until_changed(self, most: float) -> bool:
        """Rest until a watch sees a change, and a moment more, or `most` seconds pass (for the
        timeout and the commits); True when a stop is asked."""
        end = time.monotonic() + most
        while not self.health_changed.is_set() and time.monotonic() < end:
            if self.stop.wait(TICK_S):
                return True
        if self.health_changed.is_set() and self.stop.wait(SETTLE_S):
            return True
        self.health_changed.clear()
        return False

    def follow(
        self, outcomes: list[EnvOutcome], *, start: list[EnvOutcome] | None = None, watch: bool = True
    ) -> None:
        """Assess each environment once. Those in `start` (by default: those that applied or
        pruned anything) are followed from now until healthy or the timeout passes, by a watch
        unless `watch` is False; looking again at the same outcomes passes `start=[]`, so their
        wait goes on from when it began."""
        now = time.monotonic()
        started = [o for o in outcomes if o.applied or o.pruned or o.releasing or o.ordered]
        for outcome in started if start is None else start:
            self.following[outcome.key] = Followed(outcome.commit, now)
            self._unwatch(outcome.key)  # listed afresh: what it reads is what was just written
        for outcome in outcomes:
            if outcome.errors:
                self.following.pop(outcome.key, None)
            if outcome.removed or outcome.not_ours or not outcome.namespace:
                self.following.pop(outcome.key, None)  # nothing of it runs to wait for
                continue
            if outcome.errors and not outcome.fallback:
                continue  # (a refused revision leaves the last one running: its health is still told)
            try:
                listed = bool(outcome.seen)
                if watch and not listed:
                    self._watch(outcome)
                self.assess(outcome)
                unhealthy = not (outcome.health and outcome.health.healthy)
                if watch and listed and unhealthy and self._watch(outcome):
                    self.assess(outcome)  # unchanged, but not healthy as it was listed: watched now
            except ClusterError as err:
                outcome.health = health_mod.Health(waiting=[str(err)])
            self._settle(outcome, now)
        for key in [k for k in self.watches if k not in self.following]:
            self._unwatch(key)

    def _watch(self, outcome: EnvOutcome) -> bool:
        """A followed environment's health kinds watched from now on (listed once, here); True
        when a watch starts here."""
        if outcome.key not in self.following or outcome.key in self.watches:
            return False
        watch = NamespaceWatch(
            self.tenancy.client_for(outcome.namespace),
            health_mod.HEALTH_KINDS,
            namespace=outcome.namespace,
            selector=f"{MANAGED_BY}={OURS}",
            keep=health_mod.essentials,
            changed=self.health_changed.set,
        )
        watch.start()
        self.watches[outcome.key] = watch
        return True

    def _unwatch(self, key: str) -> None:
        watch = self.watches.pop(key, None)
        self.assessed.pop(key, None)
        if watch is not None:
            watch.stop()

    def stop_watching(self) -> None:
        for key in list(self.watches):
            self._unwatch(key)

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
