"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it.

Only the holder applies. A candidate takes the lease over once it has seen the same record
(holder and renew time) unchanged for a whole lease duration -- measured on its own clock, so
clock skew between replicas does not matter. Every update is a PUT with the resourceVersion read,
so two candidates can never both win (the loser gets 409). A leader that cannot renew within the
duration stops leading before anyone else may start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from unhazzle.reconciler.cluster.client import Client, ClusterError, Conflict, NotFound
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.sync.shards import LEASE_NAME


@dataclass(frozen=True)
class LeaseOptions:
    """namespace/name: where the Lease lives. duration: how long a silent leader is trusted.
    renew_every: how often the holder renews (well under `duration`)."""

    namespace: str = "unhazzle-system"
    name: str = LEASE_NAME  # with shards, one per shard (sync/shards.py)
    duration: float = 15.0
    renew_every: float = 5.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: Client, identity: str, options: LeaseOptions) -> None:
        self._client = client
        self.identity = identity
        self.options = options
        self._ref = Ref("coordination.k8s.io/v1", "Lease", options.namespace, options.name)
        self._seen: tuple[str, str] | None = None  # (holder, renewTime) last observed
        self._seen_at = 0.0
        self._leading_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem = ""  # why the lease could not be read or written, in words ("" when it could)

    def is_leader(self) -> bool:
        return time.monotonic() < self._leading_until

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and hand the lease back, so a successor need not wait it out."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self.is_leader():
            self._release()

    def _run(self) -> None:
        if self.is_leader():  # just acquired (`acquire`): the next renewal is due in renew_every
            self._stop.wait(self.options.renew_every)
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            self._stop.wait(self.options.renew_every if self.is_leader() else self.options.renew_every / 2)

    def acquire(self, stop: threading.Event) -> bool:
        """Become the leader before one pass (`--once`): at once when nobody holds the lease,
        else after its holder has been silent for a whole lease duration; False when another
        replica keeps renewing it (or the lease cannot be written: `problem` says why)."""
        deadline = time.monotonic() + self.options.duration + self.options.renew_every
        while not self.try_acquire_or_renew():
            if self.problem or time.monotonic() >= deadline or stop.wait(self.options.renew_every / 2):
                return False  # a lease it cannot use is not worth waiting for
        return True

    def holder(self) -> str:
        """Who holds the lease as last seen ("" when nobody or not yet read)."""
        return self._seen[0] if self._seen and self._seen[0] != self.identity else ""

    def try_acquire_or_renew(self) -> bool:
        started = time.monotonic()
        try:
            lease = self._client.get(self._ref)
            won = self._create() if lease is None else self._update(lease, started)
        except NotFound:
            self.problem = (
                f"the namespace '{self.options.namespace}' of the leader lease does not exist: install "
                "the reconciler (`unhazzle install-manifests | kubectl apply -f -` creates it), "
                "pass --lease-namespace, or --no-leader-election when only one reconciler runs"
            )
            return self.is_leader()
        except ClusterError as err:
            self.problem = f"the leader lease cannot be read or written: {err}"
            return self.is_leader()  # a leader keeps leading until its own deadline runs out
        self.problem = ""
        self._leading_until = started + self.options.duration if won else 0.0
        return won

    def _spec(self, transitions: int, acquired: str | None = None) -> dict[str, object]:
        now = _now()
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.options.duration)),
            "acquireTime": acquired or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def _create(self) -> bool:
        body: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.options.name, "namespace": self.options.namespace},
            "spec": self._spec(0),
        }
        try:
            self._client.create(body)
        except Conflict:
            return False
        return True

    def _update(self, lease: Obj, started: float) -> bool:
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""))
        if record != self._seen:
            self._seen, self._seen_at = record, started
        ours = holder == self.identity
        expired = not holder or started - self._seen_at >= float(
            spec.get("leaseDurationSeconds") or self.options.duration
        )
        if not ours and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
        lease["spec"] = self._spec(transitions, acquired=spec.get("acquireTime") if ours else None)
        try:
            updated = self._client.replace(lease)
        except Conflict:
            return False
        self._seen = (self.identity, str(updated.get("spec", {}).get("renewTime", "")))
        self._seen_at = started
        return True

    def _release(self) -> None:
        try:
            lease = self._client.get(self._ref)
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = ""
                self._client.replace(lease)
        except ClusterError:
            pass
        self._leading_until = 0.0
