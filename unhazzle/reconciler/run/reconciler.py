"""The reconcile loop: poll Git, apply each environment, prune by inventory, wait for health,
report. One `Reconciler` per process, its verbs one module each (state.py says which);
loop.py runs it once (`--once`) or for ever.

Safety rules, in the order they bite:
- Git trouble (unreachable, empty or unreadable commit, or a tip not signed by a trusted key when
  signatures are required) never reaches the cluster: the last good revision stays in force and
  drift is still corrected from it.
- An environment whose folder in a new commit has problems keeps its last good revision.
- A failed apply stops that environment before pruning; a SIGTERM stops before the next step.
- Pruning deletes only what the previous inventory lists (see prune.py for what is kept).
- An environment disappears (its objects are pruned) only when a readable commit with at least
  one environment no longer has its folder, and only for inventories this source recorded.
"""

from __future__ import annotations

from unhazzle.reconciler.run.removal import Removal
from unhazzle.reconciler.run.reporting import Reporting
from unhazzle.reconciler.run.revisions import Revisions
from unhazzle.reconciler.run.state import EnvOutcome
from unhazzle.reconciler.run.waiting import Waiting


class Reconciler(Revisions, Removal, Waiting, Reporting):
    """One pass over every environment of the revision in force, then the dropped ones."""

    def reconcile(self) -> list[EnvOutcome]:
        """Apply every environment of the last good revision, then remove dropped ones."""
        outcomes = []
        for key, (commit, env) in sorted(self.good.items()):
            if not self._may_write():
                break
            outcome = self.reconcile_env(commit, env)
            outcome.errors = [*self.problems.get(key, []), *outcome.errors]
            outcomes.append(outcome)
        for key in sorted(set(self.problems) - set(self.good)):  # broken, and nothing to fall back on
            outcomes.append(EnvOutcome(key, "", self.tip, errors=list(self.problems[key])))
        if self.tip and self._may_write():
            outcomes += self._remove_dropped()
        return outcomes

    def _may_write(self) -> bool:
        return not self.stop.is_set() and (self.leader is None or self.leader.is_leader())
