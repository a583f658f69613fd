"""The reconcile loop: poll Git, apply each environment, prune by inventory, wait for health,
report. One `Reconciler` per process, its verbs one module each (state.py says which);
loop.py runs it once (`--once`) or for ever.

Safety rules, in the order they bite:
- Git trouble (unreachable, empty or unreadable commit, or a tip not signed by a trusted key when
  signatures are required) never reaches the cluster: the last good revision stays in force and
  drift is still corrected from it.
- An environment whose folder in a new commit has problems keeps its last good revision.
- Every object of an environment's revision is put to the server (a dry-run) before any is
  written; one it refuses refuses the revision, which is not tried again before a new commit,
  and the environment stays on, and is healed from, the revision last applied. A new
  environment's objects are created directly, all but what starts containers (dry-run first,
  created last), and deleted again if one is refused: nothing of a refused revision runs.
- A failed apply stops that environment before pruning; a SIGTERM stops before the next step,
  and ends the report at the first status write the API server does not answer (reporting.py).
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
from unhazzle.reconciler.source.git import Environment


class Reconciler(Revisions, Removal, Waiting, Reporting):
    """One pass over every environment of the revision in force, then the dropped ones."""

    def reconcile(self) -> list[EnvOutcome]:
        """Apply every environment of the last good revision, then remove dropped ones."""
        outcomes = []
        self.serving = None  # (applying.py: the cluster's addresses, listed afresh each pass)
        self.digests.next_pass()
        self.read_pins()
        self.read_newly_mine()
        # What was applied counts as an environment's last revision only while it is this
        # shard's and in force: not once another shard applies it, or its folder left the repo.
        self.applied = {k: v for k, v in self.applied.items() if k in self.good and self.mine(k)}
        for key, (commit, env) in sorted(self.good.items()):
            if not self.mine(key):
                continue  # another shard's (sharding.py)
            if not env.parsed:  # its folder could not be read this pass (revisions.py)
                outcomes.append(EnvOutcome(key, "", commit, errors=[f"{key}: its folder is not read yet"]))
                continue
            if not self._may_write():
                break
            if self.expired(env):
                outcomes.append(self.expire(commit, env))
                continue
            outcome = self.reconcile_env(commit, env)
            if outcome.rejected:
                outcome = self._fall_back(outcome, env)
            else:
                outcome.fallback = key in self.problems  # its folder in the tip has problems
                outcome.refused_commit = self.tip if outcome.fallback else ""
                outcome.errors = [*self.problems.get(key, []), *outcome.errors]
            if not outcome.errors:
                self.applied[key] = (outcome.commit, env)
            outcomes.append(outcome)
        for key in sorted(k for k in set(self.problems) - set(self.good) if self.mine(k)):
            # broken, and nothing to fall back on
            outcomes.append(EnvOutcome(key, "", self.tip, errors=list(self.problems[key])))
        if self.tip and self._may_write():
            outcomes += self._remove_dropped()
        return outcomes

    def _fall_back(self, rejected: EnvOutcome, env: Environment) -> EnvOutcome:
        """This revision of the environment was refused: the last revision applied stays in
        force, applied now, so the rest of the environment is still healed. A revision the
        server refused is not tried again before a new commit; one refused for what the cluster
        holds (which can change) is tried again next pass."""
        key = rejected.key
        if rejected.rejected == "commit":
            self.problems[key] = rejected.errors
        last = self.applied.get(key) or self._recover(key, env.namespace)
        if last is None or last[0] == rejected.commit:
            if rejected.rejected == "commit":
                self.good.pop(key, None)  # nothing to fall back on: reported each pass, not re-tried
            rejected.rejected = ""  # (and nothing of it runs whose health could be told)
            return rejected
        if rejected.rejected == "commit":
            self.good[key] = last
        healed = self.reconcile_env(*last)
        healed.errors = [*rejected.errors, *healed.errors]
        healed.refused, healed.rejected, healed.fallback = True, rejected.rejected, True
        healed.refused_commit = rejected.commit
        return healed

    def _may_write(self) -> bool:
        return not self.stop.is_set() and (self.leader is None or self.leader.is_leader())
