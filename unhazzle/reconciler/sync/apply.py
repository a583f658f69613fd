"""Apply one environment's objects in stages, writing only what drifted (after fluxcd/pkg ssa).

Per object: the cheap checks first, in the calling thread and without a request -- the object is
proved unchanged since an earlier pass (`Verified`), or live carries the hash of exactly this
desired object and still holds every field we set; otherwise a server-side dry-run, compared with
live after removing bookkeeping; a real apply only when that differs. Only objects that need a
request go to the thread pool. A missing object is created directly (nothing to compare). Stages
run in order -- namespaces and cluster-wide objects, then what others refer to, then the rest,
then what starts containers -- and a failed stage stops the environment before the next stage
and before any pruning.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from unhazzle.reconciler.cluster.client import Client, ClusterError, Forbidden, NotFound, refuses_object
from unhazzle.reconciler.objects import Obj, Ref, stage
from unhazzle.reconciler.sync import diff
from unhazzle.reconciler.sync.server_words import reason
from unhazzle.reconciler.sync.volumes import lifts_later, refusal_in_words, waits_for_room


class Verified:
    """Objects proved up to date, remembered across passes: Ref -> (hash of the desired object,
    resourceVersion of the live object it was compared with).

    Why this is sound: the API server gives an object a new resourceVersion on every stored
    change -- spec, metadata, status, by any client (`kubectl edit`, the autoscaler, a controller)
    -- and a deleted and re-created object gets a new one too. So live with the same
    resourceVersion is the very object we compared, and the desired object with the same hash is
    the very one we compared it with: the earlier verdict "applying it changes nothing" still
    holds, and neither the field-by-field comparison nor a dry-run is needed again. Any change
    (a manual edit, the autoscaler's instance count, a status update) falls back to the full
    check, so drift is still found every pass and what others own is judged as before. A
    dry-run's "no change" is remembered the same way; it also depends on the server's mutating
    admission, which an object meets again as soon as anything changes it.
    """

    LIMIT = 200_000  # forget everything past this many objects: a memory bound, not a verdict

    def __init__(self) -> None:
        self._proved: dict[Ref, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def holds(self, ref: Ref, digest: str, live: Obj | None) -> bool:
        version = _version(live)
        with self._lock:
            return bool(version) and self._proved.get(ref) == (digest, version)

    def record(self, ref: Ref, digest: str, live: Obj | None, *, unchanged: bool) -> None:
        """After a check: `unchanged` proves (digest, live); anything else forgets `ref`."""
        version = _version(live)
        with self._lock:
            if not (unchanged and version):
                self._proved.pop(ref, None)
                return
            if len(self._proved) >= self.LIMIT:
                self._proved.clear()
            self._proved[ref] = (digest, version)


class Digests:
    """Each desired object with its hash annotation (diff.with_hash), worked out once a revision
    rather than every pass: hashing is writing the object out as sorted JSON, and it was a
    quarter of a no-change pass at 4,000 objects. Keyed by the very object (a revision's objects
    are kept from pass to pass and never written to); one not asked for in a whole pass is
    forgotten, so an old revision's objects are not kept alive. Only the hash is kept: the
    stamped copy is three small maps, made again each time. Used from one thread."""

    def __init__(self) -> None:
        self._now: dict[int, tuple[Obj, str]] = {}  # id -> (the object, its hash)
        self._before: dict[int, tuple[Obj, str]] = {}

    def of(self, obj: Obj) -> tuple[Obj, str]:
        key = id(obj)
        entry = self._now.get(key) or self._before.get(key)
        if entry is None or entry[0] is not obj:  # (an id is only reused once its object is gone)
            entry = (obj, diff.applied_hash(obj))
        if obj.get("kind") != "Secret":  # one is made afresh each pass from the sealed values
            self._now[key] = entry
        return diff.with_digest(obj, entry[1]), entry[1]

    def next_pass(self) -> None:
        self._before, self._now = self._now, {}


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply.

    dry_run: ask the server what would change (dryRun=All) and write nothing.
    workers: concurrent requests within one stage; the API server handles them in parallel.
    diffs: keep a unified diff (Secret values masked) per changed object, for --dry-run output.
    verified: what earlier passes proved (kept by the caller across passes); a fresh one proves
    nothing, so every object gets the full check.
    digests: the desired objects' hashes, likewise kept across passes.
    """

    dry_run: bool = False
    workers: int = 8
    diffs: bool = False
    verified: Verified = field(default_factory=Verified)
    digests: Digests = field(default_factory=Digests)


@dataclass(frozen=True)
class Change:
    """What happened to one object: created, configured, unchanged, skipped, waiting or failed.
    `waiting`: a new volume the environment has no room for yet (reconciler/sync/volumes.py).
    `drift` marks a configured object whose desired state had not changed: someone edited it.
    `cause`: why it failed, as the server (or the connection) said it."""

    ref: Ref
    action: str
    drift: bool = False
    diff: str = ""
    error: str = ""
    cause: ClusterError | None = None


def fetch_live(
    client: Client,
    refs: list[Ref],
    *,
    workers: int = 4,
    listed: dict[tuple[str, str, str], list[Obj]] | None = None,
) -> dict[Ref, Obj | None]:
    """Live objects for `refs`: one LIST per kind and namespace, not one GET per object. A few
    LISTs go out together (the API server answers one while we decode another's answer). Each
    object is kept without its managedFields (about half of what the server sends, and nothing
    the reconciler compares: diff.VOLATILE_METADATA). `listed`, when given, gets every object of
    each kind listed, (api_version, kind, namespace) -> objects, `refs` or not."""
    live: dict[Ref, Obj | None] = dict.fromkeys(refs)
    groups: dict[tuple[str, str, str], set[Ref]] = defaultdict(set)
    for ref in refs:
        groups[(ref.api_version, ref.kind, ref.namespace)].add(ref)
    for key in [key for key in groups if not key[2]]:  # cluster-wide: a GET each (the Namespace)
        for ref in groups.pop(key):
            live[ref] = client.get(ref)

    def list_one(key: tuple[str, str, str]) -> list[Obj]:
        try:
            items = client.list_kind(key[0], key[1], namespace=key[2])
        except NotFound:
            return []
        for item in items:
            (item.get("metadata") or {}).pop("managedFields", None)
        return items

    keys = sorted(groups)
    with ThreadPoolExecutor(max(1, min(workers, len(keys)))) as pool:
        for (api_version, kind, namespace), items in zip(keys, pool.map(list_one, keys), strict=True):
            if listed is not None:
                listed[(api_version, kind, namespace)] = items
            wanted = groups[(api_version, kind, namespace)]
            for item in items:
                ref = Ref(api_version, kind, namespace, item["metadata"]["name"])
                if ref in wanted:
                    live[ref] = item
    return live


@dataclass(frozen=True)
class Preflight:
    """A server-side dry-run of every object that needs one, before any is written.
    refused: what the server will not take (the revision goes no further); merged: what applying
    each of the others that exists already would store, so the real apply need not ask again;
    proved: the objects the cheap checks found unchanged (with their hash), so the apply need not
    check them again."""

    refused: dict[Ref, ClusterError]
    merged: dict[Ref, Obj]
    proved: dict[Ref, tuple[Obj, str]] = field(default_factory=dict)


def preflight(
    client: Client, objects: list[Obj], live: dict[Ref, Obj | None], options: ApplyOptions
) -> Preflight:
    """Dry-run every object the cheap checks cannot prove unchanged, as the identity that will
    apply it. A volume refusal the cluster lifts by itself is left to the apply (volumes.py);
    trouble that is not about the object (no answer, RBAC) is raised, as on a real apply."""
    pending: list[tuple[Ref, Obj]] = []
    proved: dict[Ref, tuple[Obj, str]] = {}
    for obj in objects:
        ref = Ref.of(obj)
        desired, digest = options.digests.of(obj)
        if options.verified.holds(ref, digest, live.get(ref)) or diff.up_to_date(desired, live.get(ref)):
            proved[ref] = (obj, digest)
        else:
            pending.append((ref, desired))

    def check(item: tuple[Ref, Obj]) -> tuple[Ref, Obj | ClusterError | None]:
        ref, desired = item
        try:
            # Only an existing object's answer is used again (apply_one compares it with the
            # live one); a new object is created without one, so its answer is not even
            # decoded: a first sync never holds the server's whole answer for each of its
            # objects (4,008 at 1,000 apps, the reconciler's peak memory when they were kept).
            exists = live.get(ref) is not None
            answer = client.apply(desired, dry_run=True, answer=exists)
            return ref, answer if exists else None
        except NotFound:
            return ref, None  # its namespace does not exist yet (--dry-run of a new environment)
        except ClusterError as err:
            if not refuses_object(err):
                raise
            return ref, None if lifts_later(ref, err.message) else err

    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        answers = list(pool.map(check, pending))
    return Preflight(
        refused={ref: a for ref, a in answers if isinstance(a, ClusterError)},
        merged={ref: a for ref, a in answers if isinstance(a, dict)},
        proved=proved,
    )


def apply_objects(
    client: Client,
    objects: list[Obj],
    live: dict[Ref, Obj | None],
    options: ApplyOptions,
    *,
    known: Preflight | None = None,
) -> list[Change]:
    """Apply stage by stage; after a failed stage the rest is `skipped`. `known`: what a
    preflight of these objects found (its dry-run answers and its proofs), not asked again."""
    changes: list[Change] = []
    ordered = sorted(objects, key=stage)
    failed = False
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for _, group in itertools.groupby(ordered, key=stage):
            batch = list(group)
            if failed:
                changes += [Change(Ref.of(o), "skipped", error="an earlier stage failed") for o in batch]
                continue
            results = _apply_batch(pool, client, batch, live, options, known or Preflight({}, {}))
            changes += results
            failed = any(c.action == "failed" for c in results)
    return changes


def _apply_batch(
    pool: ThreadPoolExecutor,
    client: Client,
    batch: list[Obj],
    live: dict[Ref, Obj | None],
    options: ApplyOptions,
    known: Preflight,
) -> list[Change]:
    """The cheap checks here, in this thread (threads only add overhead to pure CPU work); the
    objects that need a request go to the pool. Every verdict is recorded in `options.verified`.
    An object the preflight proved unchanged is not checked twice (unless it was replaced since,
    as a rollback replaces a Deployment: the very same object, or the full check)."""
    results: dict[Ref, Change] = {}
    pending: list[tuple[Ref, Obj, str]] = []
    for obj in batch:
        ref = Ref.of(obj)
        proof = known.proved.get(ref)
        if proof is not None and proof[0] is obj:
            results[ref] = Change(ref, "unchanged")
            options.verified.record(ref, proof[1], live.get(ref), unchanged=True)
            continue
        desired, digest = options.digests.of(obj)  # the preflight's, for the very same object
        if options.verified.holds(ref, digest, live.get(ref)) or diff.up_to_date(desired, live.get(ref)):
            results[ref] = Change(ref, "unchanged")
            options.verified.record(ref, digest, live.get(ref), unchanged=True)
        else:
            pending.append((ref, desired, digest))
    merged = known.merged
    checked = pool.map(lambda p: apply_one(client, p[1], live.get(p[0]), options, merged.get(p[0])), pending)
    for (ref, _, digest), change in zip(pending, checked, strict=True):
        results[ref] = change
        options.verified.record(ref, digest, live.get(ref), unchanged=change.action == "unchanged")
    return [results[Ref.of(obj)] for obj in batch]


def apply_one(
    client: Client, desired: Obj, live: Obj | None, options: ApplyOptions, known: Obj | None = None
) -> Change:
    """Dry-run (unless `known` is its answer already), compare, apply if needed: `desired`
    already carries the hash annotation."""
    ref = Ref.of(desired)
    if diff.up_to_date(desired, live):
        return Change(ref, "unchanged")
    try:
        if live is None:
            return _create(client, desired, ref, options)
        merged = known or client.apply(desired, dry_run=True)
        if not diff.changed(merged, live):
            return Change(ref, "unchanged")
        drift = _hash_of(desired) == _hash_of(live)
        text = diff.render_diff(live, merged, name=str(ref)) if options.diffs else ""
        if not options.dry_run:
            client.apply(desired, answer=False)
        return Change(ref, "configured", drift=drift, diff=text)
    except ClusterError as err:
        words = refusal_in_words(ref, str(err), desired=desired, live=live) or f"{ref}: {reason(err.message)}"
        if live is None and waits_for_room(ref, str(err)):
            # not a failure: the room comes when pruning deletes what this revision removed
            return Change(ref, "waiting", error=words)
        return Change(ref, "failed", error=words, cause=err)


def _create(client: Client, desired: Obj, ref: Ref, options: ApplyOptions) -> Change:
    if not options.dry_run:
        client.apply(desired, answer=False)
        return Change(ref, "created")
    try:
        merged = client.apply(desired, dry_run=True)
    except (NotFound, Forbidden):  # its namespace (and the identity that applies there) does not
        merged = desired  # exist yet: they will, in the first stage of a real pass
    return Change(ref, "created", diff=diff.render_diff(None, merged, name=str(ref)) if options.diffs else "")


def _hash_of(obj: Obj) -> str:
    """The hash annotation an object carries ("" when none)."""
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(diff.HASH_ANNOTATION, ""))


def _version(live: Obj | None) -> str:
    return str(((live or {}).get("metadata") or {}).get("resourceVersion") or "")
