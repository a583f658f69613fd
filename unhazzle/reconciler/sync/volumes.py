"""Why the cluster refused a change to an app's volume, in the user's words.

A disk never shrinks; it grows only where the cluster's storage can resize disks (Hetzner's
can, the local development cluster's cannot); and nothing about it changes before the disk
exists. The API server says each in its own words (HTTP 422 or 403 on the claim), naming
objects and fields a user never wrote. Publish refuses a smaller volume before it gets here;
this is for an environment repo edited by hand, or a cluster that cannot grow disks.
Pure: the object we asked for, the live one and the server's message in, a sentence out.
"""

from __future__ import annotations

from unhazzle.reconciler.objects import Obj, Ref, labels
from unhazzle.shared.names import APP_LABEL
from unhazzle.shared.quantity import quantity_mb, size_text

CLAIM = "PersistentVolumeClaim"
WAITS = "until then this revision is not applied: the environment stays on the one before"
QUOTA = "exceeded quota"


def waits_for_room(ref: Ref, message: str) -> bool:
    """A new volume refused for want of room in the environment's quota. When an app with a
    volume is renamed, the new volume is applied before pruning deletes the old one, which
    holds the room until then: stopping here would keep the old one, and so the refusal, forever.
    So this is not a failure that stops the environment; the volume waits for a later pass."""
    return ref.kind == CLAIM and QUOTA in message


def lifts_later(ref: Ref, message: str) -> bool:
    """A volume refusal the cluster lifts by itself (room freed in the quota, the disk created at
    last): not a reason to refuse the revision as a whole; it is tried again on every pass."""
    return ref.kind == CLAIM and (QUOTA in message or "immutable after creation" in message)


def refusal_in_words(ref: Ref, message: str, *, desired: Obj, live: Obj | None) -> str | None:
    """The refusal of a volume change in words; None when *message* is not one we know."""
    if ref.kind != CLAIM:
        return None
    for marker, template in _KNOWN:
        if marker in message:
            if marker == QUOTA and live is not None:
                template = NO_ROOM_TO_GROW
            app = labels(desired).get(APP_LABEL) or ref.name.removesuffix("-data")
            sizes = {"asked": _size(_asked(desired)), "has": _size(_has(live)), "waits": WAITS}
            return f"{ref.namespace}: app '{app}': " + template.format(**sizes)
    return None


# The API server's words (as kube-apiserver 1.35 says them) -> ours; {has} is the disk's size now.
_KNOWN = (
    (
        QUOTA,
        "its new {asked} volume cannot be created yet: the environment's room for disks is taken "
        "by volumes still on the cluster (one this change removes, until it is deleted, or one kept "
        "for its data after its app stopped using it); it is tried again on every pass",
    ),
    (
        "can not be less than",
        "its volume cannot be made smaller, from {has} to {asked}: a disk only grows. The app keeps "
        "its {has} disk and the data on it; set the size back to {has} or more ({waits})",
    ),
    (
        "must support resize",
        "its volume cannot grow from {has} to {asked}: this cluster's disks cannot be resized. The "
        "app keeps its {has} disk and the data on it; set the size back to {has} (`unhazzle "
        "publish --allow-smaller-volume`), or ask the cluster's operator for disks that can grow "
        "({waits})",
    ),
    (
        "immutable after creation",
        "its volume cannot change (to {asked}) before its disk has been created; the change is "
        "tried again on every pass (nothing else in this environment changes until then)",
    ),
)
NO_ROOM_TO_GROW = (
    "its volume cannot grow from {has} to {asked} yet: the environment's room for disks is used "
    "up; it is tried again on every pass (nothing else in this environment changes until then)"
)


def _asked(obj: Obj | None) -> object:
    spec = (obj or {}).get("spec") or {}
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def _has(live: Obj | None) -> object:
    capacity = ((live or {}).get("status") or {}).get("capacity") or {}
    return capacity.get("storage") or _asked(live)


def _size(value: object) -> str:
    mb = quantity_mb(value)
    return size_text(mb) if mb else "its current size"
