"""Is a live object what we would apply? Pure functions over plain dicts.

Two questions, as in fluxcd/pkg `ssa`:
- `contains(desired, live)`: does the live object already hold every field we set, with equal
  values once the server's rewriting is allowed for? (`1000m` is `1`, `0.5` is `500m`: the API
  server re-serialises quantities; empty maps and lists are dropped.) With the hash annotation
  this is the cheap check that lets a no-change reconcile skip the dry-run entirely.
- `changed(merged, live)`: after a server-side dry-run returned the merged object, does it
  differ from live in anything but bookkeeping (managedFields, resourceVersion, status...)?
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from typing import Any

import yaml

from unhazzle.reconciler.objects import Obj
from unhazzle.shared.quantity import parse_quantity

HASH_ANNOTATION = "unhazzle.io/applied-hash"
# Server bookkeeping: changes on every write, never drift.
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink")
# Maps whose values are quantities (resources, quotas, limit ranges, volume sizes).
QUANTITY_MAPS = frozenset(
    {"requests", "limits", "hard", "default", "defaultRequest", "max", "min", "capacity"}
)
QUANTITY_KEYS = frozenset({"sizeLimit", "storage"})
MASK = "***"


def same_quantity(a: Any, b: Any) -> bool:
    qa, qb = parse_quantity(a), parse_quantity(b)
    return qa is not None and qa == qb


def _empty(value: Any) -> bool:
    """None, or maps and lists holding only empties: the server drops them all."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == []


def contains(desired: Any, live: Any, *, quantity: bool = False) -> bool:
    """True when every field of `desired` is in `live` with an equal value (see module doc)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return _empty(desired) and _empty(live)
        for key, want in desired.items():
            if key not in live:
                if _empty(want):
                    continue
                return False
            nested = key in QUANTITY_MAPS or key in QUANTITY_KEYS
            if not contains(want, live[key], quantity=nested or (quantity and not isinstance(want, dict))):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list):
            return _empty(desired) and _empty(live)
        return len(desired) == len(live) and all(contains(d, v) for d, v in zip(desired, live, strict=True))
    if desired == live:
        return True
    return quantity and same_quantity(desired, live)


def strip(obj: Obj) -> Obj:
    """A copy without status and server bookkeeping: what is left can drift."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in VOLATILE_METADATA:
        meta.pop(key, None)
    return out


def changed(merged: Obj, live: Obj) -> bool:
    """Would applying change anything? `merged` is the server-side dry-run's answer."""
    return strip(merged) != strip(live)


def applied_hash(obj: Obj) -> str:
    """A digest of exactly what we apply (without the annotation itself), key order ignored."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    clean = _annotated(obj, None) if HASH_ANNOTATION in annotations else obj
    text = json.dumps(clean, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def with_hash(obj: Obj) -> Obj:
    """`obj` plus the hash annotation: a later reconcile knows the live object came from this."""
    return _annotated(obj, applied_hash(obj))


def with_digest(obj: Obj, digest: str) -> Obj:
    """with_hash(obj), its hash already known (applied_hash(obj))."""
    return _annotated(obj, digest)


def _annotated(obj: Obj, digest: str | None) -> Obj:
    """A copy of `obj` with the hash annotation set to `digest` (None: removed). Only the three
    maps on the way to the annotation are copied, not the whole object (a deep copy per object
    was a third of a no-change pass): the rest is shared, and nothing here writes to objects."""
    meta = dict(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != HASH_ANNOTATION}
    if digest is not None:
        annotations[HASH_ANNOTATION] = digest
    if annotations or "annotations" in meta:
        meta["annotations"] = annotations
    return {**obj, "metadata": meta}


def up_to_date(desired: Obj, live: Obj | None) -> bool:
    """The cheap check: same hash (desired did not change since we applied it) and every field
    still holds our value (nobody edited it). Anything else goes to the server-side dry-run."""
    if live is None:
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    want = ((desired.get("metadata") or {}).get("annotations") or {}).get(HASH_ANNOTATION)
    return want is not None and annotations.get(HASH_ANNOTATION) == want and contains(desired, live)


def mask_secrets(obj: Obj) -> Obj:
    """Secret values replaced by *** (keys kept, so a diff still says which key changed)."""
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = {key: MASK for key in out[field]}
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return out


def render_diff(before: Obj | None, after: Obj | None, *, name: str) -> str:
    """A unified diff of two objects as YAML, Secret values masked, bookkeeping left out."""

    def text(obj: Obj | None) -> list[str]:
        if obj is None:
            return []
        clean = mask_secrets(strip(obj))
        return yaml.safe_dump(clean, sort_keys=True, default_flow_style=False).splitlines(keepends=True)

    a, b = text(before), text(after)
    if before is not None and after is not None and before.get("kind") == "Secret":
        # Masking hides *that* a value changed; say so without showing it.
        old, new = before.get("data") or {}, after.get("data") or {}
        changed_keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        b = [*b, *(f"# value of {key} changed\n" for key in changed_keys)]
    return "".join(difflib.unified_diff(a, b, fromfile=f"live/{name}", tofile=f"git/{name}"))
