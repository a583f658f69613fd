"""What a publish changes in the environment repo, and the commit message that says so.

Pure: the project's new files and what the repo holds now in, a ChangeSet out. Only this
project's folder is ever considered, so other projects' folders cannot be touched; an environment
folder that the spec no longer has is removed only when the caller allows it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from unhazzle.shared.names import ALLOW_DELETE_ENVIRONMENT, INDEX_FILE, PREVIEW_FILE

Status = Literal["added", "changed", "removed"]
# Index fields that record where a publish came from, not what runs: a new source commit with
# the same manifests is not a change worth a commit.
PROVENANCE = ("source", "compiler")
SUBJECT_MAX = 100
LETTERS = {"added": "A", "changed": "M", "removed": "D"}


@dataclass(frozen=True, order=True)
class FileChange:
    path: str
    status: Status

    def line(self) -> str:
        """As `git status --short` would show it: A, M or D and the path."""
        return f"{LETTERS[self.status]} {shown(self.path)}"


def shown(text: str) -> str:
    """*text* for people: a file name in the repo that is not UTF-8 is kept byte for byte in
    paths (decoded with surrogateescape, so publish can remove it), and shown with U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True)
class ChangeSet:
    """The files to write and remove under one project's folder, with a summary per environment."""

    project: str
    writes: dict[str, bytes]
    removals: list[str]
    files: list[FileChange]
    summaries: dict[str, str] = field(default_factory=dict)
    # What happens to volumes and their data, in words (compiler/publishing/volumes.py), for the message.
    notes: list[str] = field(default_factory=list)
    # The deletions the user opted into, as trailers the reconciler reads (shared/names.py).
    opt_ins: dict[str, str] = field(default_factory=dict)
    # Why it may not be published as it is (an environment deleted without the flag), one line
    # each: said together with what the volumes refuse, so every refusal comes at once.
    refusals: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.files)

    def subject(self) -> str:
        if not self.summaries:
            return f"{self.project}: no change"
        if len(self.summaries) == 1:
            [(env, text)] = self.summaries.items()
            return f"{self.project}/{env}: {text}"
        alike: dict[str, list[str]] = {}  # environments that changed alike are named together
        for env, text in self.summaries.items():
            alike.setdefault(text, []).append(env)
        joined = f"{self.project}: " + "; ".join(f"{', '.join(envs)}: {text}" for text, envs in alike.items())
        if len(joined) <= SUBJECT_MAX:
            return joined
        return f"{self.project}: {len(self.summaries)} environments changed ({', '.join(self.summaries)})"

    def message(self, trailers: Mapping[str, str], *, subject: str = "") -> str:
        """Subject (*subject*, else one made from the changes), one line per environment when
        several changed, what happens to volumes, the files, then trailers."""
        body = [f"{self.project}/{env}: {text}" for env, text in self.summaries.items()]
        if subject:
            made = self.subject()  # kept below the given subject (one environment's says it all)
            body = [made, *(line for line in body if line != made)] if len(body) <= 1 else body
        notes = "\n".join(self.notes)
        parts = [subject or self.subject(), "\n".join(body) if len(body) > 1 or subject else "", notes,
                 _files_block(self.files)]  # fmt: skip
        parts.append("\n".join(f"{key}: {value}" for key, value in trailers.items() if value))
        return shown("\n\n".join(part for part in parts if part) + "\n")


def _files_block(files: list[FileChange]) -> str:
    return "\n".join(change.line() for change in files)


def blob_id(data: bytes) -> str:
    """Git's object id for a file holding *data*, so unchanged files are found without Git."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def plan_changes(
    project: str,
    new_files: Mapping[str, bytes],
    old_blobs: Mapping[str, str],
    *,
    old_indexes: Mapping[str, Mapping[str, Any]],
    allow_delete: bool,
) -> ChangeSet:
    """*new_files*: every file the project should have (``PROJECT/ENV/NAME`` -> bytes).
    *old_blobs*: what the repo holds under ``PROJECT/`` now (path -> blob id); *old_indexes*: the
    parsed ``_index.json`` per environment there. `_secrets.json` is one of the project's files
    like any other: written when the environment has secret values, removed when it has none."""
    new_envs = {env_of(path) for path in new_files}
    old_envs = {env for env in map(env_of, old_blobs) if env}
    gone = sorted(old_envs - new_envs)
    refusals = [_delete_refusal(project, gone)] if gone and not allow_delete else []
    removals = sorted(
        path
        for path in old_blobs
        if env_of(path) in gone or (env_of(path) in new_envs and path not in new_files)
    )
    writes = {path: data for path, data in new_files.items() if old_blobs.get(path) != blob_id(data)}
    writes = _without_provenance_only(writes, old_indexes)
    if not writes and not removals:
        return ChangeSet(project=project, writes={}, removals=[], files=[], refusals=refusals)
    files = sorted(
        [FileChange(path, "changed" if path in old_blobs else "added") for path in writes]
        + [FileChange(path, "removed") for path in removals]
    )
    envs = sorted({env_of(change.path) for change in files})
    summaries = {
        env: summarize(old_indexes.get(env), _new_index(new_files, project, env), _touched(files, env))
        for env in envs
    }
    opt_ins = {ALLOW_DELETE_ENVIRONMENT: ", ".join(f"{project}/{env}" for env in gone)} if gone else {}
    return ChangeSet(
        project=project,
        writes=writes,
        removals=removals,
        files=files,
        summaries=summaries,
        opt_ins=opt_ins,
        refusals=refusals,
    )


def env_of(path: str) -> str:
    """The environment of a `PROJECT/ENV/NAME` path ("" for a path that is not in one)."""
    parts = path.split("/")
    return parts[1] if len(parts) >= 3 else ""


def _delete_refusal(project: str, gone: list[str]) -> str:
    names = shown(", ".join(f"{project}/{env}" for env in gone))
    noun = "environment" if len(gone) == 1 else "environments"
    return (
        f"{names}: the spec no longer has this {noun}, so publishing would delete its folder from "
        "the environment repo (and stop what runs there; its volumes and their data stay on the "
        "cluster); pass --allow-delete-environment to do that"
    )


def _without_provenance_only(
    writes: Mapping[str, bytes], old_indexes: Mapping[str, Mapping[str, Any]]
) -> dict[str, bytes]:
    """Drop an environment's new index when only its provenance changed and nothing else in that
    environment did: a new source commit that renders the same leaves the folder alone."""
    busy = {env_of(path) for path in writes if not path.endswith(f"/{INDEX_FILE}")}
    kept = {}
    for path, data in writes.items():
        env = env_of(path)
        old = old_indexes.get(env)
        provenance_only = (
            path.endswith(f"/{INDEX_FILE}")
            and env not in busy
            and old is not None
            and _content(old) == _content(_load(data))
        )
        if not provenance_only:
            kept[path] = data
    return kept


def _content(index: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in index.items() if key not in PROVENANCE}


def _load(data: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(data)
    return loaded


def _new_index(new_files: Mapping[str, bytes], project: str, env: str) -> dict[str, Any] | None:
    data = new_files.get(f"{project}/{env}/{INDEX_FILE}")
    return _load(data) if data is not None else None


def _touched(files: list[FileChange], env: str) -> list[str]:
    names = [c.path.rsplit("/", 1)[1] for c in files if env_of(c.path) == env]
    marker = [PREVIEW_FILE.removesuffix(".json")] if PREVIEW_FILE in names else []
    return sorted([*(name.removesuffix(".yaml") for name in names if name.endswith(".yaml")), *marker])


def summarize(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, touched: list[str]) -> str:
    """One environment's change in words: "web 2-6 -> 3-8 instances, +1 secret"."""
    if new is None:
        return "environment removed"
    new_apps, new_jobs = _apps(new), _apps(new, "jobs")
    if old is None:
        said = f"new environment, {_counted(new_apps, 'app')}"
        return said + (f", {_counted(new_jobs, 'job')}" if new_jobs else "")
    old_apps, old_jobs = _apps(old), _apps(old, "jobs")
    notes = [f"+{name}" for name in new_apps if name not in old_apps]
    notes += [f"-{name}" for name in old_apps if name not in new_apps]
    for name in (n for n in new_apps if n in old_apps):
        notes += _app_notes(name, old_apps[name], new_apps[name])
    notes += [f"+job {name}" for name in new_jobs if name not in old_jobs]
    notes += [f"-job {name}" for name in old_jobs if name not in new_jobs]
    for name in (n for n in new_jobs if n in old_jobs):
        notes += _job_notes(name, old_jobs[name], new_jobs[name])
    notes += _secret_notes({**old_apps, **old_jobs}, {**new_apps, **new_jobs})
    notes += _cost_note(old, new)
    if not notes:
        named = [name for name in touched if name in new_apps or name in new_jobs]
        shared = "_environment" in touched
        notes = [f"{'job ' * (name in new_jobs)}{name} settings" for name in named]
        notes += ["shared settings"] if shared else []
        if notes:
            notes[-1] += " changed"
        if "_preview" in touched:
            notes.append("the preview's expiry moved on")
        notes = notes or ["index updated changed"]
    return ", ".join(notes)


def likely_renames(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, str]:
    """Removed app -> added app, where an added app has the image of exactly one removed app
    and no other added app has it too: most likely the same app under a new name. *before* and
    *after* map app names to their images."""
    removed = {name: image for name, image in before.items() if name not in after}
    added = {name: image for name, image in after.items() if name not in before}
    guesses: dict[str, list[str]] = {}
    for name, image in added.items():
        same = [old for old, old_image in removed.items() if old_image == image]
        if len(same) == 1:
            guesses.setdefault(same[0], []).append(name)
    return {old: new[0] for old, new in guesses.items() if len(new) == 1}


def app_images(index: Mapping[str, Any]) -> dict[str, Any]:
    """App -> image in an index (None where a hand edit lost it)."""
    return {name: info.get("image") for name, info in _apps(index).items()}


def _apps(index: Mapping[str, Any], section: str = "apps") -> dict[str, Mapping[str, Any]]:
    """The apps (or jobs) of an index, each a mapping: an old index may have been edited by hand."""
    apps = index.get(section)
    if not isinstance(apps, Mapping):
        return {}
    return {str(name): info if isinstance(info, Mapping) else {} for name, info in apps.items()}


def _counted(names: Mapping[str, Any], what: str) -> str:
    return f"{len(names)} {what}{'s' if len(names) != 1 else ''} ({', '.join(names)})"


def _app_notes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    notes = []
    before, after = _range(old.get("instances")), _range(new.get("instances"))
    if before != after:
        notes.append(f"{name} {before} -> {after} instance{'' if after == '1' else 's'}")
    return notes + _run_notes(name, old, new)


def _job_notes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    notes = []
    before, after = (old.get("schedule"), old.get("timezone")), (new.get("schedule"), new.get("timezone"))
    if before != after:
        zone = f" ({after[1]})" if before[1] != after[1] else ""
        notes.append(f"job {name} schedule {before[0]} -> {after[0]}{zone}")
    return notes + _run_notes(f"job {name}", old, new)


def _run_notes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What an app and a job share: their image, settings and secret values."""
    notes = []
    if old.get("image") != new.get("image"):
        notes.append(f"{name} image {_short(old.get('image'))} -> {_short(new.get('image'))}")
    # Indexes written before these fingerprints have neither: then the touched files speak.
    # (A secret added or removed is said by name count, +1 secret: its values changing is not news.)
    same_secrets = old.get("secrets") == new.get("secrets")
    for key, words in (("settings_sha256", "settings"), ("secrets_checksum", "secret values")):
        if key == "secrets_checksum" and not same_secrets:
            continue
        if old.get(key) is not None and new.get(key) is not None and old.get(key) != new.get(key):
            notes.append(f"{name} {words} changed")
    return notes


def _range(instances: Any) -> str:
    if not isinstance(instances, Mapping):
        return "?"
    low, high = instances.get("min"), instances.get("max")
    return f"{low}" if low == high else f"{low}-{high}"


def _short(image: Any) -> str:
    """The tag or the start of the digest: what a reader compares."""
    text = str(image)
    if "@" in text:
        return "@" + text.rsplit("@", 1)[1].removeprefix("sha256:")[:12]
    last = text.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else text


def _secret_notes(old_apps: Mapping[str, Any], new_apps: Mapping[str, Any]) -> list[str]:
    def names(apps: Mapping[str, Any]) -> set[tuple[str, str]]:
        listed = ((app, info.get("secrets")) for app, info in apps.items())
        return {(app, str(s)) for app, secrets in listed if isinstance(secrets, list) for s in secrets}

    before, after = names(old_apps), names(new_apps)
    notes = []
    for sign, count in (("+", len(after - before)), ("-", len(before - after))):
        if count:
            notes.append(f"{sign}{count} secret{'s' if count != 1 else ''}")
    return notes


def _cost_note(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = old.get("cost_eur_month"), new.get("cost_eur_month")
    if not isinstance(before, Mapping) or not isinstance(after, Mapping) or before == after:
        return []
    return [
        f"cost {before.get('min')}-{before.get('max')} -> {after.get('min')}-{after.get('max')} EUR/month"
    ]
