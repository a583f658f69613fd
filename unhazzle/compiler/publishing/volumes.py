"""What a change does to the apps' volumes, in the user's words: the check that keeps preview and
publish from losing data without saying so.

Pure: the disks before and after (environment -> app -> Disk) in, VolumeChanges out. The rules
follow what the reconciler does with a published change (reconciler/sync/prune.py):
- an app removed (or renamed: a new name is a new app) from an environment that stays has its
  volume deleted, with every byte on it;
- an app that stays but loses its `volume:` keeps its disk on the cluster, but starts without it;
- a removed environment keeps its volumes (publish already refuses that without a flag);
- a disk cannot be made smaller: the cluster refuses, so publish refuses first -- unless told
  the disk never grew (the cluster refused to grow it): setting the size back is then the way
  out, and harmless either way, since the cluster never shrinks a disk.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from unhazzle.shared.names import APP_LABEL
from unhazzle.shared.quantity import quantity_mb, size_text

Kind = Literal["deleted", "detached", "shrunk", "grown", "moved"]
DELETE_FLAG = "--allow-delete-volume"
SMALLER_FLAG = "--allow-smaller-volume"
CLAIM_KIND = "PersistentVolumeClaim"  # read from manifests only; never shown to a user


@dataclass(frozen=True)
class Disk:
    size_mb: int | None  # None: a size we cannot read (a hand-edited manifest)
    path: str | None = None  # where the app sees it; None when unknown


Disks = Mapping[str, Mapping[str, Disk]]  # environment -> app -> its disk


@dataclass(frozen=True)
class VolumeChange:
    environment: str
    app: str
    kind: Kind
    before: Disk
    after: Disk | None = None
    renamed_to: str | None = None  # a deleted app's likely new name

    @property
    def needs_flag(self) -> bool:
        """The app loses its data: publish goes ahead only when told to."""
        return self.kind in ("deleted", "detached")

    @property
    def impossible(self) -> bool:
        """The cluster refuses it if the disk has the size before: publish goes ahead only when
        told the disk never got that size (the cluster refused to grow it)."""
        return self.kind == "shrunk"

    def message(self) -> str:
        size, where = _size(self.before), f"{self.environment}: app '{self.app}'"
        if self.kind == "deleted":
            text = f"{where} is removed, so its {size} volume and all the data on it will be deleted"
            if self.renamed_to:
                text += (
                    f"; it looks renamed to '{self.renamed_to}', but the data does not follow a new "
                    f"name: to keep it, keep the name '{self.app}'"
                )
            return text
        if self.kind == "detached":
            return (
                f"{where} no longer has its {size} volume{_at(self.before)}, so it will start without "
                "the data on it (the disk stays on the cluster, unused, until the volume is put back)"
            )
        after = self.after or Disk(None)
        if self.kind == "shrunk":
            return (
                f"{where} has its volume made smaller, from {size} to {_size(after)}: a disk only "
                f"grows; keep it at {size} or more"
            )
        if self.kind == "grown":
            return f"{where} has its volume grown from {size} to {_size(after)}; the data stays"
        return f"{where} sees its volume at {after.path} instead of {self.before.path}; same disk, same data"

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "app": self.app,
            "change": self.kind,
            "size_mb": {"before": self.before.size_mb, "after": self.after.size_mb if self.after else None},
            "renamed_to": self.renamed_to,
            "data_lost": self.needs_flag,
            "possible": not self.impossible,
            "message": self.message(),
        }


def _size(disk: Disk) -> str:
    return size_text(disk.size_mb) if disk.size_mb else "(size unknown)"


def _at(disk: Disk) -> str:
    return f" at {disk.path}" if disk.path else ""


def volume_changes(
    before: Disks,
    after: Disks,
    *,
    apps_after: Mapping[str, Collection[str]],
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> list[VolumeChange]:
    """Every volume that goes, shrinks, grows or moves. *apps_after*: the apps of each environment
    after the change (an environment missing from it is removed, and its volumes are kept);
    *renames*: per environment, removed app -> the added app it was most likely renamed to."""
    changes = []
    for env, disks in sorted(before.items()):
        if env not in apps_after:
            continue
        for app, old in sorted(disks.items()):
            new = after.get(env, {}).get(app)
            if app not in apps_after[env]:
                renamed = (renames or {}).get(env, {}).get(app)
                changes.append(VolumeChange(env, app, "deleted", old, renamed_to=renamed))
            elif new is None:
                changes.append(VolumeChange(env, app, "detached", old))
            else:
                changes += _resized_or_moved(env, app, old, new)
    return changes


def _resized_or_moved(env: str, app: str, old: Disk, new: Disk) -> list[VolumeChange]:
    found = []
    if old.size_mb and new.size_mb and old.size_mb != new.size_mb:
        found.append(VolumeChange(env, app, "shrunk" if new.size_mb < old.size_mb else "grown", old, new))
    if old.path and new.path and old.path != new.path:
        found.append(VolumeChange(env, app, "moved", old, new))
    return found


def refusal(
    changes: list[VolumeChange], *, allow_delete: bool, allow_smaller: bool = False, project: str = ""
) -> list[str]:
    """Why publish must stop, one line per volume, each starting with PROJECT/ENVIRONMENT ([]: go
    ahead)."""
    where = f"{project}/" if project else ""
    lines = []
    if not allow_smaller:
        lines += [
            f"{where}{c.message()}; if the disk never grew to {_size(c.before)} (the cluster refused to "
            f"grow it: `unhazzle status` says so), set it back with {SMALLER_FLAG}"
            for c in changes
            if c.impossible
        ]
    if not allow_delete:
        lines += [
            f"{where}{c.message()}; to delete it all the same, pass {DELETE_FLAG}"
            for c in changes
            if c.needs_flag
        ]
    return lines


def disks_in_manifests(files: Mapping[str, str]) -> dict[str, dict[str, Disk]]:
    """The disks that rendered app files (``PROJECT/ENV/APP.yaml`` -> text) ask for, read from
    the manifests themselves: what the environment repo holds is what the reconciler applies,
    hand edits included. Text that is not YAML holds no disk we can speak for."""
    if not files:  # the usual publish: no file it rewrites can hold a volume, by the index
        return {}
    import yaml  # only here: `preview` and most publishes never read a manifest

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, as the reconciler reads them
    found: dict[str, dict[str, Disk]] = {}
    for path, text in files.items():
        parts = path.split("/")
        if len(parts) != 3 or not parts[2].endswith(".yaml"):
            continue
        try:
            docs = [d for d in yaml.load_all(text, Loader=loader) if isinstance(d, dict)]
        except yaml.YAMLError:
            continue
        for doc in docs:
            if doc.get("kind") == CLAIM_KIND:
                app = _label(doc) or parts[2].removesuffix(".yaml")
                found.setdefault(parts[1], {})[app] = Disk(_claim_size(doc))
    return found


def _label(doc: Mapping[str, Any]) -> str:
    labels = (doc.get("metadata") or {}).get("labels") or {}
    return str(labels.get(APP_LABEL) or "") if isinstance(labels, dict) else ""


def _claim_size(doc: Mapping[str, Any]) -> int | None:
    try:
        return quantity_mb(doc["spec"]["resources"]["requests"]["storage"])
    except (KeyError, TypeError):
        return None
