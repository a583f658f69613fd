"""Apply one environment's objects in stages, writing only what drifted (after fluxcd/pkg ssa).

Per object: the cheap check first (live carries the hash of exactly this desired object and still
holds every field we set); otherwise a server-side dry-run, compared with live after removing
bookkeeping; a real apply only when that differs. A missing object is created directly (nothing
to compare). Stages run in order -- namespaces and cluster-wide objects, then what others refer
to, then the rest -- and a failed stage stops the environment before the next stage and before
any pruning.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from unhazzle.reconciler import diff
from unhazzle.reconciler.client import Client, ClusterError, Forbidden, NotFound
from unhazzle.reconciler.objects import Obj, Ref, stage


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply.

    dry_run: ask the server what would change (dryRun=All) and write nothing.
    workers: concurrent requests within one stage; the API server handles them in parallel.
    diffs: keep a unified diff (Secret values masked) per changed object, for --dry-run output.
    """

    dry_run: bool = False
    workers: int = 8
    diffs: bool = False


@dataclass(frozen=True)
class Change:
    """What happened to one object: created, configured, unchanged, skipped or failed.
    `drift` marks a configured object whose desired state had not changed: someone edited it."""

    ref: Ref
    action: str
    drift: bool = False
    diff: str = ""
    error: str = ""


def fetch_live(client: Client, refs: list[Ref]) -> dict[Ref, Obj | None]:
    """Live objects for `refs`: one LIST per kind and namespace, not one GET per object."""
    live: dict[Ref, Obj | None] = dict.fromkeys(refs)
    groups: dict[tuple[str, str, str], set[Ref]] = defaultdict(set)
    for ref in refs:
        groups[(ref.api_version, ref.kind, ref.namespace)].add(ref)
    for (api_version, kind, namespace), wanted in sorted(groups.items()):
        if not namespace:
            for ref in wanted:
                live[ref] = client.get(ref)
            continue
        try:
            items = client.list_kind(api_version, kind, namespace=namespace)
        except NotFound:
            continue
        for item in items:
            ref = Ref(api_version, kind, namespace, item["metadata"]["name"])
            if ref in wanted:
                live[ref] = item
    return live


def apply_objects(
    client: Client, objects: list[Obj], live: dict[Ref, Obj | None], options: ApplyOptions
) -> list[Change]:
    """Apply stage by stage; after a failed stage the rest is `skipped`."""
    changes: list[Change] = []
    ordered = sorted(objects, key=stage)
    failed = False
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for _, group in itertools.groupby(ordered, key=stage):
            batch = list(group)
            if failed:
                changes += [Change(Ref.of(o), "skipped", error="an earlier stage failed") for o in batch]
                continue
            results = list(pool.map(lambda o: apply_one(client, o, live.get(Ref.of(o)), options), batch))
            changes += results
            failed = any(c.action == "failed" for c in results)
    return changes


def apply_one(client: Client, obj: Obj, live: Obj | None, options: ApplyOptions) -> Change:
    ref = Ref.of(obj)
    desired = diff.with_hash(obj)
    if diff.up_to_date(desired, live):
        return Change(ref, "unchanged")
    try:
        if live is None:
            return _create(client, desired, ref, options)
        merged = client.apply(desired, dry_run=True)
        if not diff.changed(merged, live):
            return Change(ref, "unchanged")
        drift = diff.applied_hash(obj) == _live_hash(live)
        text = diff.render_diff(live, merged, name=str(ref)) if options.diffs else ""
        if not options.dry_run:
            client.apply(desired)
        return Change(ref, "configured", drift=drift, diff=text)
    except ClusterError as err:
        return Change(ref, "failed", error=str(err))


def _create(client: Client, desired: Obj, ref: Ref, options: ApplyOptions) -> Change:
    if not options.dry_run:
        client.apply(desired)
        return Change(ref, "created")
    try:
        merged = client.apply(desired, dry_run=True)
    except (NotFound, Forbidden):  # its namespace (and the identity that applies there) does not
        merged = desired  # exist yet: they will, in the first stage of a real pass
    return Change(ref, "created", diff=diff.render_diff(None, merged, name=str(ref)) if options.diffs else "")


def _live_hash(live: Obj) -> str:
    return str(((live.get("metadata") or {}).get("annotations") or {}).get(diff.HASH_ANNOTATION, ""))
