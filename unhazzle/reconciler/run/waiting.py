"""Wait for health after a change: assess every environment until all are healthy, the deadline
passes, a stop is asked, or a new commit arrives (which cuts the wait short)."""

from __future__ import annotations

import time

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.run.state import EnvOutcome, State
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
        while True:
            pending = [o for o in outcomes if not o.errors and not o.removed]
            for outcome in pending:
                try:
                    self.assess(outcome)
                except ClusterError as err:
                    outcome.health = health_mod.Health(waiting=[str(err)])
            if all(o.health and o.health.healthy for o in pending) or time.monotonic() >= deadline:
                return False
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.options.poll_during_wait
                if self._tip_moved():
                    self.log.info("health.wait.interrupted", reason="new commit")
                    return True
            if self.stop.wait(1.0):
                return False

    def _tip_moved(self) -> bool:
        try:
            return self.source.remote_tip() not in (self.tip, self.bad_tip)
        except SourceError:
            return False
