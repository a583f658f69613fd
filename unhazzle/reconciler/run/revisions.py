"""Which revision of the environment repo is in force: poll Git, take a new tip in, and keep the
last good revision of each environment when Git or a folder has trouble (also after a restart).

With shards, only this shard's folders are parsed; the others are listed (`parsed` False), so
their environments are known to exist (never removed as dropped) while their objects are neither
read nor held. Pins read at a pass may give this shard a folder it only listed: it is read then,
before anything is applied (`read_newly_mine`)."""

from __future__ import annotations

from dataclasses import replace

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
        fresh, problems = {}, {}
        for key, env in revision.environments.items():
            env = self._checked(key, env)
            if env.problems:
                problems[key] = env.problems
            if (entry := self._in_force(revision.commit, key, env)) is not None:
                fresh[key] = entry
        self.good, self.problems = fresh, problems
        self.log.info("source.revision", commit=revision.commit, environments=sorted(revision.environments))
        return True

    def _checked(self, key: str, env: Environment) -> Environment:
        """*env*, refused when it would reach the reconciler's own namespace."""
        if env.namespace and env.namespace == self.options.own_namespace:
            problem = f"{key}: refused: the namespace '{env.namespace}' is the reconciler's own"
            return replace(env, problems=[*env.problems, problem])
        return env

    def _in_force(self, commit: str, key: str, env: Environment) -> tuple[str, Environment] | None:
        """What is in force for *key* now that its folder at *commit* reads as *env*: that folder,
        or when it has problems (each logged) its last good revision (None: it has none)."""
        if not env.problems:
            return (commit, env)
        for problem in env.problems:
            self.log.error("source.problem", environment=key, commit=commit, error=problem)
        last = self.good.get(key)
        if last is None or not last[1].parsed:  # (listed, when it was another shard's)
            last = self._recover(key, env.namespace)
        return last

    def read_newly_mine(self) -> None:
        """After this pass's pins are read: a folder in force that this shard owns now but only
        listed is read (at the commit it was listed at) and judged as a new tip's would be; the
        rest of what is in force, a refused revision's bookkeeping included, stays as it is.
        Should the read fail, the folder stays unread, and is skipped (never applied, never
        pruned) until a pass reads it."""
        listed: dict[str, set[str]] = {}  # commit -> keys
        for key, (commit, env) in self.good.items():
            if self.mine(key) and not env.parsed:
                listed.setdefault(commit, set()).add(key)
        for commit, keys in listed.items():
            try:
                found = self.source.read(commit, wanted=keys.__contains__).environments
            except SourceError as err:
                self.log.error("source.error", error=str(err), keeping=self.tip or None)
                continue
            for key in sorted(keys):
                folder = found.get(key)
                if folder is None or not folder.parsed:
                    continue
                folder = self._checked(key, folder)
                if folder.problems:
                    self.problems[key] = folder.problems
                if (entry := self._in_force(commit, key, folder)) is not None:
                    self.good[key] = entry
                else:
                    del self.good[key]  # broken, with nothing to fall back on: reported each pass

    def _recover(self, key: str, namespace: str) -> tuple[str, Environment] | None:
        return self._recover_each([(key, namespace)]).get(key)

    def _recover_all(self) -> dict[str, tuple[str, Environment]]:
        inventories = [i for i in self._our_inventories() if self.mine(i.environment)]  # (another's: its own)
        return self._recover_each([(i.environment, i.namespace) for i in inventories])

    def _recover_each(self, wanted: list[tuple[str, str]]) -> dict[str, tuple[str, Environment]]:
        """After a restart: each environment's (key, namespace) last good revision is the commit
        its status says was applied, read back from the mirror: one read per commit, of those
        folders only."""
        by_commit: dict[str, set[str]] = {}
        for key, namespace in wanted:
            old = self._read_status(namespace) if namespace else None  # (None when unreadable)
            if old is not None and old.revision:
                by_commit.setdefault(old.revision, set()).add(key)
        recovered = {}
        for commit, keys in by_commit.items():
            try:
                found = self.source.read(commit, wanted=keys.__contains__).environments
            except SourceError:
                continue
            for key in keys:
                env = found.get(key)
                if env is not None and env.parsed and not env.problems:
                    recovered[key] = (commit, env)
        return recovered
