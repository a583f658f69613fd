"""Which revision of the environment repo is in force: poll Git, take a new tip in, and keep the
last good revision of each environment when Git or a folder has trouble (also after a restart).

With shards, only this shard's folders are parsed; the others are listed (`parsed` False), so
their environments are known to exist (never removed as dropped) while their objects are neither
read nor held. Pins read at a pass may give this shard a folder it only listed: it is read then,
before anything is applied (`read_newly_mine`)."""

from __future__ import annotations

from dataclasses import replace

from unhazzle.reconciler.cluster.client import ClusterError
from unhazzle.reconciler.run.sharding import Sharding
from unhazzle.reconciler.source.git import Environment, Revision, SignatureError, SourceError


class Revisions(Sharding):
    def poll(self) -> bool:
        """Ask for the tip; fetch and read it only when it moved. True when a new revision
        was taken in. Errors are reported and leave the last good revision in force."""
        try:
            tip = self.source.remote_tip()
        except SourceError as err:
            self._source_failed(str(err))
            return self._fall_back_to_mirror()
        if tip in (self.tip, self.bad_tip):
            self.source_error = "" if tip == self.tip else self.source_error
            return False
        try:
            self.source.fetch(tip)
            revision = self.source.read(tip, wanted=self.mine)
        except SignatureError as err:
            return self._refuse_tip(tip, str(err))
        except SourceError as err:
            return self._source_failed(str(err))
        return self._take(revision)

    def _refuse_tip(self, tip: str, message: str) -> bool:
        """A tip that must not be applied (not signed by a trusted key, or no environments at
        all): remembered, so it is not read again every interval and does not cut health waits
        short; the last good revision stays (after a restart: recovered from the status)."""
        self.bad_tip, self.tip_refusal = tip, message
        if not self.good:
            self.good = self._recover_all()
        return self._source_failed(message)

    def _fall_back_to_mirror(self) -> bool:
        """Just started and Git is down: the mirror's last fetched commit is the last good one."""
        local = None if self.good else self.source.local_tip()
        if local is None or local == self.bad_tip:
            return False
        try:
            revision = self.source.read(local, wanted=self.mine)
        except SourceError:
            return False
        error = self.source_error
        taken = self._take(revision)
        self.source_error = error  # still an error to report: the remote is unreachable
        return taken

    def _source_failed(self, message: str) -> bool:
        self.source_error = message
        self.log.error("source.error", error=message, keeping=self.tip or None)
        return False

    def _take(self, revision: Revision) -> bool:
        if not revision.environments:
            return self._refuse_tip(
                revision.commit,
                f"{self.source.url}@{revision.commit[:12]}: the commit has no environments; "
                "refusing to remove everything",
            )
        self.tip, self.source_error, self.tip_refusal = revision.commit, "", ""
        fresh = {}
        for key, env in list(revision.environments.items()):
            if env.namespace and env.namespace == self.options.own_namespace:
                problem = f"{key}: refused: the namespace '{env.namespace}' is the reconciler's own"
                env = revision.environments[key] = replace(env, problems=[*env.problems, problem])
            if env.problems:
                for problem in env.problems:
                    self.log.error("source.problem", environment=key, commit=revision.commit, error=problem)
                last = self.good.get(key)
                if last is None or not last[1].parsed:  # (listed when another shard's)
                    last = self._recover(key, env.namespace)
                if last:
                    fresh[key] = last
                continue
            fresh[key] = (revision.commit, env)
        self.good = fresh
        self.problems = {k: e.problems for k, e in revision.environments.items() if e.problems}
        self.log.info("source.revision", commit=revision.commit, environments=sorted(revision.environments))
        return True

    def _recover(self, key: str, namespace: str) -> tuple[str, Environment] | None:
        """After a restart: an environment's last good revision is the commit its status says
        was applied, read back from the mirror."""
        try:
            old = self._read_status(namespace) if namespace else None
            if old is None or not old.revision:
                return None
            env = self.source.read(old.revision, wanted=key.__eq__).environments.get(key)
        except (SourceError, ClusterError):
            return None
        return (old.revision, env) if env is not None and not env.problems else None

    def read_newly_mine(self) -> None:
        """After this pass's pins are read: a folder of the revision in force that this shard
        owns now but only listed is read (the folders read before come from the parse cache), and
        the revision taken in again. Should that fail, the folder stays unread, and is skipped
        (never applied, never pruned) until a pass reads it."""
        if not any(self.mine(key) and not env.parsed for key, (_, env) in self.good.items()):
            return
        error = self.source_error
        try:
            self._take(self.source.read(self.tip, wanted=self.mine))
        except SourceError as err:
            self.log.error("source.error", error=str(err), keeping=self.tip or None)
        self.source_error = error  # this is no news about the remote

    def _recover_all(self) -> dict[str, tuple[str, Environment]]:
        recovered = {}
        for inventory in self._our_inventories():
            last = self._recover(inventory.environment, inventory.namespace)
            if last:
                recovered[inventory.environment] = last
        return recovered
