"""An environment's deploys, read from the environment repo: each commit that changed its folder,
newest first, who made it, from which source commit, what it changed in words (from the
`_index.json` it left), and whether it was a rollback or was rolled back. Pure but for `read`,
which asks Git through the publish cache copy."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.compiler.publishing.gitread import blobs
from unhazzle.compiler.publishing.index import parse_index
from unhazzle.errors import OperationError
from unhazzle.shared.imagetag import written_tag
from unhazzle.shared.names import ENVIRONMENT_FILE, INDEX_FILE, PREVIEW_FILE, ROLLBACK_FILE, SECRETS_FILE

ROLLBACK_TRAILER = "Unhazzle-Rollback"  # "PROJECT/ENV[/APP] BAD -> GOOD", on a rollback's commit
FIELD, RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Deploy:
    revision: str  # the environment repo's commit
    when: str  # ISO 8601, the commit's time
    author: str
    subject: str
    trailers: dict[str, str]
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)  # the index's apps (and jobs) then
    changes: list[str] = field(default_factory=list)  # against the deploy before it, in words
    outcome: str = ""  # "running now", "replaced", "rolled back", ...
    files: list[str] = field(default_factory=list)  # the files of the folder it changed

    @property
    def rollback(self) -> tuple[str, str, str] | None:
        """(what, bad revision, good revision) when this deploy is a rollback."""
        return parse_rollback(self.trailers.get(ROLLBACK_TRAILER, ""))

    def touches(self, app: str) -> bool:
        """Whether this deploy changed `app` (or rolled it, or its whole environment, back)."""
        back = self.rollback
        if back is not None:
            return back[0].count("/") == 1 or back[0].endswith(f"/{app}")
        return any(c.startswith(f"{app}:") or c in (f"added {app}", f"removed {app}") for c in self.changes)

    def as_json(self) -> dict[str, Any]:
        back = self.rollback
        return {
            "revision": self.revision,
            "when": self.when,
            "author": self.author,
            "source_commit": self.trailers.get("Source-Commit") or None,
            "source_repo": self.trailers.get("Source-Repo") or None,
            "message": self.subject,
            "changes": list(self.changes),
            "files": list(self.files),
            "outcome": self.outcome,
            "rollback_of": {"what": back[0], "from": back[1], "to": back[2]} if back else None,
        }


def unrecorded(files: list[str]) -> list[str]:
    """The files of an app (or anything but the environment's own) among *files* a deploy
    changed: a change its index does not record was made by hand."""
    own = {ENVIRONMENT_FILE, INDEX_FILE, SECRETS_FILE, PREVIEW_FILE, ROLLBACK_FILE}
    return [name for name in files if name not in own]


def parse_rollback(value: str) -> tuple[str, str, str] | None:
    what, _, revisions = value.strip().partition(" ")
    bad, arrow, good = revisions.partition(" -> ")
    return (what, bad.strip(), good.strip()) if what and arrow and bad.strip() and good.strip() else None


def trailers_of(message: str) -> dict[str, str]:
    """The `Key: value` lines of a commit message's last paragraph."""
    last = message.strip().split("\n\n")[-1]
    found = {}
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            found[key] = value.strip()
    return found


def read(repo: Path, tip: str | None, project: str, environment: str, *, limit: int = 50) -> list[Deploy]:
    """The environment's deploys at *tip*, newest first (at most *limit*): one `git log`, and
    one `git cat-file` for every deploy's index."""
    from unhazzle.compiler.publishing.publish import git_out

    if tip is None:
        return []
    folder = f"{project}/{environment}/"
    fields = FIELD.join(["%H", "%aI", "%an", "%B", ""])
    log = git_out(
        repo, "log", "--name-only", f"-{limit + 1}", f"--format={RECORD}{fields}", tip, "--", folder
    )
    records = [[*record.split(FIELD), "", "", "", ""][:5] for record in filter(None, log.split(RECORD))]
    names = [f"{revision}:{folder}{INDEX_FILE}" for revision, *_ in records]
    deploys = []
    for (revision, when, author, message, paths), data in zip(
        records, blobs(repo, names, what="the indexes"), strict=True
    ):
        # (the files of the folder it changed, by name: Git quotes an unusual one, said as it is)
        files = sorted(path.removeprefix(folder) for path in paths.split("\n") if path.startswith(folder))
        index: dict[str, Any] = {}
        if data is not None:
            with contextlib.suppress(OperationError):  # an unreadable index tells less, no more
                index = parse_index(data)
        apps = {
            **_mapping(index.get("apps")),
            **{f"job {k}": v for k, v in _mapping(index.get("jobs")).items()},
        }
        subject = message.strip().splitlines()[0] if message.strip() else ""
        deploys.append(Deploy(revision, when, author, subject, trailers_of(message), apps, files=files))
    return described(deploys)[:limit]


def described(deploys: list[Deploy]) -> list[Deploy]:
    """Each deploy with what it changed against the one before it and how it ended."""
    undone = {back[1] for d in deploys if (back := d.rollback)}
    out = []
    for at, deploy in enumerate(deploys):
        before = deploys[at + 1].apps if at + 1 < len(deploys) else {}
        outcome = "running now" if at == 0 else "replaced"
        if any(deploy.revision.startswith(bad) for bad in undone):
            outcome = "rolled back"
        out.append(
            Deploy(
                **{**deploy.__dict__, "changes": changes_in_words(before, deploy.apps), "outcome": outcome}
            )
        )
    return out


def changes_in_words(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """`api: image 1.4 -> 1.5`, `web: 2-9 -> 3-18 instances`, `added worker`, `removed cache`."""
    words = []
    for name in sorted({*before, *after}):
        old, new = _mapping(before.get(name)), _mapping(after.get(name))
        if not old:
            words.append(f"added {name}")
        elif not new:
            words.append(f"removed {name}")
        else:
            words += [f"{name}: {change}" for change in _app_changes(old, new)]
    return words


def _app_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    found = []
    if old.get("image") != new.get("image"):
        found.append(f"image {_short(old.get('image'))} -> {_short(new.get('image'))}")
    if old.get("instances") != new.get("instances"):
        found.append(f"{_count(old.get('instances'))} -> {_count(new.get('instances'))} instances")
    if old.get("schedule") != new.get("schedule"):
        found.append(f"schedule {old.get('schedule')} -> {new.get('schedule')}")
    if old.get("settings_sha256") != new.get("settings_sha256"):
        found.append("settings changed")
    if old.get("secrets_checksum") != new.get("secrets_checksum") or old.get("secrets") != new.get("secrets"):
        found.append("secrets changed")
    return found


def _short(image: Any) -> str:
    """The part of an image reference that changes between versions: its tag, else its digest."""
    text = str(image or "?")
    digest = text.partition("@")[2]
    return written_tag(text) or (digest[:19] if digest else text)


def _count(instances: Any) -> str:
    n = _mapping(instances)
    low, high = n.get("min", "?"), n.get("max", "?")
    return str(low) if low == high else f"{low}-{high}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def folder_at(repo: Path, revision: str, project: str, environment: str) -> dict[str, bytes]:
    """Every file of the environment's folder at *revision* (`PROJECT/ENV/NAME` -> bytes), a
    name that is not UTF-8 kept byte for byte, as publish writes names back (changes.shown)."""
    from unhazzle.compiler.publishing.changes import env_of
    from unhazzle.compiler.publishing.publish import project_blobs

    listed = {p: sha for p, sha in project_blobs(repo, revision, project).items() if env_of(p) == environment}
    found = blobs(repo, list(listed.values()), what=f"{project}/{environment}/ at {revision[:12]}")
    return {path: data for path, data in zip(listed, found, strict=True) if data is not None}


def carried(repo: Path, revision: str, project: str, environment: str) -> str | None:
    """The deploy a commit carried for the environment: the newest commit at or before it that
    changed the environment's folder (None: not in this repo, or no such commit)."""
    from unhazzle.compiler.publishing.publish import git_out

    try:
        found = git_out(repo, "rev-list", "-1", revision, "--", f"{project}/{environment}/").strip()
    except OperationError:
        return None
    return found or None
