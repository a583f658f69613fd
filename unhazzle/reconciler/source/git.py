"""The environment repo: ask for the branch tip cheaply, fetch only when it moved, read a commit.

Polling is `git ls-remote` (one small round trip, no objects); a fetch happens only for a new tip,
into a local bare mirror, and a revision is read straight from the commit's tree (no checkout),
so a half-fetched or corrupt commit fails here, as `SourceError`, and never reaches the cluster.
With trusted keys configured, a commit is read only after Git has checked its signature
(signatures.py); an unsigned or wrongly signed commit fails as `SignatureError`.
Git runs as plain processes (shared/gitrun.py), in the mirror through `--git-dir`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import sys
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.errors import OperationError, Problem
from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.source.guard import check_manifests, parse_folder
from unhazzle.reconciler.source.parsecache import ParseCache
from unhazzle.reconciler.source.signatures import FORMAT, Trust, refusal
from unhazzle.shared import previewmark
from unhazzle.shared.gitrun import GitUnavailable, run_git, text
from unhazzle.shared.names import (
    ALLOW_DELETE_ENVIRONMENT,
    ALLOW_DELETE_VOLUME,
    APP_LABEL,
    ENVIRONMENT_FILE,
    INDEX_FILE,
    MAX_NAMESPACE,
    PREVIEW_FILE,
    PREVIEW_LABEL,
    SECRETS_FILE,
    namespace_for,
    reserved,
)
from unhazzle.shared.previewmark import PreviewMark

# The modules whose code decides what a folder parses to; their source salts the parse cache.
PARSER_MODULES = (
    __name__,
    "unhazzle.reconciler.source.guard",
    "unhazzle.reconciler.source.manifestyaml",
    "unhazzle.reconciler.objects",
    "unhazzle.shared.names",
    "unhazzle.shared.previewmark",
    "unhazzle.errors",
)
CACHE_FORMAT = 2  # of an entry's body: bump with _environment_to_json
_SHA = re.compile(r"^[0-9a-f]{40}$")
NAMED_FOLDERS = 100  # at most this many folders named to `git archive`; more: the whole commit
FOLDER_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # the spec's names for projects and environments


class SourceError(OperationError):
    """The environment repo could not be reached or a commit could not be read."""


class NoSuchRepo(SourceError):
    """The repo named on the command line is not a Git repo: a typo to fix, not an outage."""

    exit_code = 2


class NoSuchBranch(SourceError):
    """The repo answers but has no such branch: a typo, or nothing published there yet."""

    exit_code = 2


class GitFailed(Exception):
    """A git command that exited non-zero; `stderr` holds what it said."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr


# Git's messages in English (they are matched and shown), and never a prompt for a password.
_GIT_ENV = {"LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"}


def _git(*args: str, env: Mapping[str, str] | None = None) -> bytes:
    """What `git ARGS` prints; GitFailed when it fails, or cannot start for a moment (a process
    limit: the loop tries again next poll, as for any Git trouble). No Git at all is raised as
    it is: nothing will change that before a restart."""
    try:
        done = run_git(args, env={**_GIT_ENV, **(env or {})})
    except GitUnavailable as exc:
        if not exc.passing:
            raise
        raise GitFailed(f"fatal: {exc}") from None
    if done.status != 0:
        raise GitFailed(text(done.err))
    return done.out


def _said(out: bytes) -> str:
    return text(out).removesuffix("\n")


class SignatureError(SourceError):
    """The commit is not signed by a trusted key: it must not be read, let alone applied."""


@dataclass(frozen=True)
class Environment:
    """One `<project>/<environment>/` folder of a commit, parsed and checked."""

    key: str  # "project/environment"
    namespace: str
    objects: list[Obj]
    apps: frozenset[str]
    secrets: dict[str, Any] | None = None  # the `_secrets.json` document, still encrypted
    problems: list[str] = field(default_factory=list)
    places: dict[str, str] = field(default_factory=dict)  # Ref.key() -> "file:line" it was written at
    preview: PreviewMark | None = None  # a preview environment's `_preview.json`: when it expires
    # False: the folder is in the commit but was not read (another shard's, GitSource.read's
    # `wanted`); it holds no objects and must never be applied or pruned by
    parsed: bool = True

    def place(self, ref: Ref) -> str:
        """Where `ref` was written ("file:line"), for a message; the environment when unknown."""
        return self.places.get(ref.key(), self.key)


@dataclass(frozen=True)
class Revision:
    commit: str
    environments: dict[str, Environment]


class GitSource:
    """A remote branch and its local mirror under `cache_dir`."""

    def __init__(self, url: str, branch: str, cache_dir: Path, *, trust: Trust | None = None) -> None:
        self.url = url
        self.branch = branch
        self.trust = trust
        digest = hashlib.sha256(f"{url}#{branch}".encode()).hexdigest()[:16]
        self.mirror = cache_dir / digest
        self.parsed = ParseCache(self.mirror / "parsed", parser_fingerprint())
        self._ready = False

    def _local(self, *args: str, env: Mapping[str, str] | None = None) -> bytes:
        """What `git ARGS` prints in the mirror, made (or made again) first when it is not one:
        a broken mirror is only a cache."""
        if not self._ready:
            if not all((self.mirror / part).exists() for part in ("HEAD", "objects", "refs")):
                try:
                    self.mirror.mkdir(parents=True, exist_ok=True)
                    _git(f"--git-dir={self.mirror}", "init", "--bare", "--quiet")
                except OSError as exc:
                    raise SourceError(
                        f"{self.mirror}: cannot make the mirror: {exc.strerror or exc}"
                    ) from None
                except GitFailed as exc:
                    raise SourceError(f"{self.mirror}: cannot make the mirror: {_first_line(exc)}") from None
            self._ready = True
        return _git(f"--git-dir={self.mirror}", *args, env=env)

    def remote_tip(self) -> str:
        """The branch tip's commit id, asking the remote only (no objects transferred)."""
        heads = self._heads(f"refs/heads/{self.branch}")
        if self.branch in heads:
            return heads[self.branch]
        others = sorted(self._heads())
        has = f"it has {', '.join(others)}" if others else "nothing is published there yet"
        raise NoSuchBranch(f"{self.url}: branch '{self.branch}' does not exist; {has}")

    def _heads(self, *patterns: str) -> dict[str, str]:
        """Branch name -> tip of the remote's branches (matching *patterns*, else all)."""
        try:
            # in the mirror: never under the settings of whatever repo the process runs in
            out = _said(self._local("ls-remote", "--heads", self.url, *patterns))
        except GitFailed as exc:
            reason = _first_line(exc)
            if "not a git repository" in reason or "does not appear to be a git repository" in reason:
                there = os.path.exists(self.url)  # False, not an error, for a name too long
                raise NoSuchRepo(
                    f"{self.url}: {'not a Git repo' if there else 'no such environment repo'}"
                ) from None
            raise SourceError(f"{self.url}: cannot reach the environment repo: {reason}") from None
        heads = {}
        for line in str(out).splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/") and _SHA.match(sha):
                heads[ref.removeprefix("refs/heads/")] = sha
        return heads

    def local_tip(self) -> str | None:
        """The last commit fetched into the mirror: what a restarted reconciler applies (and
        heals drift from) while the remote is unreachable."""
        if not self.mirror.exists():
            return None
        try:
            tip = self._local("rev-parse", "--verify", "--quiet", f"refs/heads/{self.branch}^{{commit}}")
            return _said(tip)
        except GitFailed:
            return None

    def fetch(self, commit: str) -> None:
        """Bring `commit` into the mirror (a no-op when it is already there)."""
        if self._has(commit):
            return
        spec = f"+refs/heads/{self.branch}:refs/heads/{self.branch}"
        try:
            # full history: older commits stay readable
            self._local("fetch", "--quiet", self.url, spec, "--no-tags")
        except GitFailed as exc:
            raise SourceError(f"{self.url}: fetch of {commit[:12]} failed: {_first_line(exc)}") from None
        if not self._has(commit):
            raise SourceError(
                f"{self.url}: {commit[:12]} is no longer the tip of '{self.branch}'; will retry"
            )

    def _has(self, commit: str) -> bool:
        try:
            self._local("cat-file", "-e", f"{commit}^{{commit}}")
        except GitFailed:
            return False
        return True

    def read(self, commit: str, wanted: Callable[[str], bool] | None = None) -> Revision:
        """Parse every environment folder of `commit` (those `wanted` takes, when given: the
        others are listed, unparsed, so a shard knows they exist without holding or parsing
        another shard's objects); SourceError when it cannot be read.
        A folder parsed before, by this code, at the same Git tree is taken from the parse cache
        (parsecache.py) -- after the signature check, which the cache never skips -- so a
        restarted or `--once` reconciler, or a commit that changed one environment, parses only
        the folders it has not seen."""
        self.verify(commit)  # before the cache too: it may predate the trusted keys
        every = self._folders(commit)
        listed = {key: _unparsed(key) for key in every if wanted is not None and not wanted(key)}
        trees = {key: tree for key, tree in every.items() if key not in listed}
        found = {key: self._cached(key, tree) for key, tree in trees.items()}
        missing = sorted(key for key, env in found.items() if env is None)
        if missing:
            parsed = parse_revision(commit, *self._files_of(commit, missing, every=len(every)))
            for key in missing:
                env = found[key] = parsed.environments.get(key)
                if env is not None:
                    self.parsed.store(key, trees[key], _environment_to_json(env))
        found |= listed
        return Revision(commit, {key: env for key, env in sorted(found.items()) if env is not None})

    def _cached(self, key: str, tree: str) -> Environment | None:
        data = self.parsed.load(key, tree)
        try:
            return _environment_from_json(key, data) if isinstance(data, dict) else None
        except (ValueError, KeyError, TypeError):
            return None  # an entry of another shape: parse the folder again

    def _folders(self, commit: str) -> dict[str, str]:
        """`project/environment` -> Git tree id, for each folder of `commit` holding an
        `_environment.yaml` file (as parse_revision counts them: a link by that name is not one)."""
        try:
            out = text(self._local("ls-tree", "-r", "-t", "-z", commit))
        except GitFailed as exc:
            raise SourceError(
                f"{self.url}@{commit[:12]}: cannot read the commit: {_first_line(exc)}"
            ) from None
        trees, environments = {}, set()
        for entry in filter(None, out.split("\0")):
            meta, _, path = entry.partition("\t")
            mode, kind, sha = meta.split(" ")
            parts = path.split("/")
            if kind == "tree" and len(parts) == 2:
                trees[path] = sha
            elif kind == "blob" and mode != "120000" and parts[2:] == [ENVIRONMENT_FILE]:
                environments.add(f"{parts[0]}/{parts[1]}")
        return {key: trees[key] for key in sorted(environments) if key in trees}

    def opt_ins(self, since: str, until: str) -> frozenset[str]:
        """What the commits after `since` up to `until` allowed to be deleted, from their
        trailers (shared/names.py): "volume PROJECT/ENV/APP" and "environment PROJECT/ENV".
        With trusted keys, only commits signed by one of them count. Without a usable `since`
        (a first pass, a rewritten history), `until` alone speaks."""
        keys = {ALLOW_DELETE_VOLUME: "volume", ALLOW_DELETE_ENVIRONMENT: "environment"}
        fmt = "%(trailers:" + ",".join(f"key={k}" for k in keys) + ",unfold,separator=%x01)"
        fmt = f"{FORMAT}%x02{fmt}" if self.trust else f"-%x02{fmt}"
        env = self.trust.git_env() if self.trust else None
        span = [f"{since}..{until}"] if since and _SHA.match(since) and self._has(since) else ["-1", until]
        try:
            out = _said(self._local("log", f"--format={fmt}%x03", *span, "--", env=env))
        except GitFailed:
            return frozenset()
        found = set()
        for entry in out.split("\x03"):
            verdict, _, trailers = entry.strip().partition("\x02")
            if self.trust and refusal(verdict):
                continue  # not signed by a trusted key: its word does not count
            for trailer in filter(None, trailers.split("\x01")):
                key, _, value = trailer.partition(":")
                kind = keys.get(key.strip())
                found |= {f"{kind} {item.strip()}" for item in value.split(",") if kind and item.strip()}
        return frozenset(found)

    def verify(self, commit: str) -> None:
        """SignatureError unless `commit` carries a good signature by a trusted key (a no-op
        when no keys are configured). Git checks it, as `git verify-commit` would."""
        if self.trust is None:
            return
        try:
            said = self._local("log", "-1", f"--format={FORMAT}", commit, "--", env=self.trust.git_env())
            line = _said(said)
        except GitFailed as exc:
            raise SourceError(
                f"{self.url}@{commit[:12]}: cannot check the signature: {_first_line(exc)}"
            ) from None
        why = refusal(line)
        if why:
            raise SignatureError(f"{self.url}@{commit[:12]}: not applied: {why}")

    def _files_of(
        self, commit: str, folders: list[str], *, every: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        """_files of *folders* (of the commit's *every* folders): named to git while they are
        few, else from the archive of the whole commit (git matches each path against each
        name, and a shard with an empty cache may want thousands), kept to those folders."""
        if len(folders) == every:
            return self._files(commit, [])
        return self._files(commit, folders if len(folders) <= NAMED_FOLDERS else [], keep=set(folders))

    def _files(
        self, commit: str, folders: list[str], *, keep: set[str] | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The commit's `<project>/<environment>/<file>` texts (of `folders` only, unless empty;
        of the folders in `keep` only, when given: the others' files are not even decoded), and
        its links there (path -> target), which are never followed: reported, so a folder
        holding one is refused."""
        try:  # one `git archive` of the commit: far faster than walking the tree blob by blob
            if not self._local("ls-tree", "--name-only", commit).strip():
                return {}, {}  # an empty tree (tarfile cannot open an archive of nothing)
            data = self._local(
                "archive", "--format=tar", commit, "--", *folders,
                env={"GIT_LITERAL_PATHSPECS": "1"},  # a folder named `*` is that folder, not a pattern
            )  # fmt: skip
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                members = [m for m in tar.getmembers() if m.name.count("/") == 2
                           and (keep is None or m.name.rpartition("/")[0] in keep)]  # fmt: skip
                files = {m.name: _read(tar, m) for m in members if m.isfile()}
                links = {m.name: m.linkname for m in members if m.issym() or m.islnk()}
        except GitFailed as exc:
            reason = _first_line(exc)
            raise SourceError(f"{self.url}@{commit[:12]}: cannot read the commit: {reason}") from None
        except (ValueError, UnicodeDecodeError, OSError, tarfile.TarError) as exc:
            raise SourceError(f"{self.url}@{commit[:12]}: cannot read the commit: {exc}") from None
        return files, links


def _unparsed(key: str) -> Environment:
    """A folder of the commit that was listed, not read."""
    return Environment(key, "", [], frozenset(), parsed=False)


def _environment_to_json(e: Environment) -> dict[str, Any]:
    return {"namespace": e.namespace, "objects": e.objects, "apps": sorted(e.apps), "secrets": e.secrets,
            "problems": e.problems, "places": e.places,
            "preview": dataclasses.asdict(e.preview) if e.preview else None}  # fmt: skip


def _environment_from_json(key: str, e: dict[str, Any]) -> Environment:
    return Environment(
        key,
        str(e["namespace"]),
        list(e["objects"]),
        frozenset(e["apps"]),
        e["secrets"],
        list(e["problems"]),
        dict(e["places"]),
        PreviewMark(**e["preview"]) if e["preview"] else None,
    )


def parser_fingerprint() -> str:
    """What a folder's parsed form depends on besides its files: the code that parses and judges
    it. A digest of that code's source (a new version, or an edited checkout, parses afresh);
    "" when the source cannot be read, and then nothing is cached."""
    digest = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    for name in PARSER_MODULES:
        try:
            digest.update(Path(str(sys.modules[name].__file__)).read_bytes())
        except (KeyError, OSError):
            return ""
    return digest.hexdigest()[:32]


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    return handle.read().decode("utf-8") if handle else ""


def _first_line(exc: GitFailed) -> str:
    """Git's own reason: its first `fatal:` or `error:` line (the lines after it are advice,
    which cut to one line reads as nonsense: "and the repository exists."), with the cause git
    puts on the next line ("unable to connect to host:" / "errno=Connection refused") or a
    transport printed before it ("ssh: connect to host ...: Connection refused")."""
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    for at, line in enumerate(lines):
        if line.startswith(("fatal:", "error:")):
            reason = line.split(":", 1)[1].strip()
            if reason.endswith(":") and at + 1 < len(lines):
                reason = f"{reason} {lines[at + 1]}"
            before = [b for b in lines[:at] if not b.startswith(("hint:", "warning:"))]
            return f"{reason} ({before[-1]})" if before else reason
    return lines[-1] if lines else "git failed"


def parse_revision(commit: str, files: dict[str, str], links: dict[str, str] | None = None) -> Revision:
    """Pure: relative path -> text for `<project>/<environment>/<file>`, into environments;
    `links`: the symbolic links among them (path -> target)."""
    folders = sorted({path.rsplit("/", 1)[0] for path in files if path.endswith("/" + ENVIRONMENT_FILE)})
    envs = {}
    for folder in folders:
        own = {p.rsplit("/", 1)[1]: text for p, text in files.items() if p.rsplit("/", 1)[0] == folder}
        own_links = {p: target for p, target in (links or {}).items() if p.rsplit("/", 1)[0] == folder}
        envs[folder] = parse_environment(folder, own, links=own_links)
    return Revision(commit, envs)


def parse_environment(key: str, files: dict[str, str], *, links: dict[str, str] | None = None) -> Environment:
    """One folder's files (name -> text). Problems are collected, not raised: the loop refuses an
    environment with problems and keeps its last good revision. The guard (reconciler/source/guard.py)
    parses the folder once and checks it: this folder may touch only its own namespace, only with
    the kinds the compiler renders, and no hand edit may run an app privileged or on the host."""
    project, _, environment = key.partition("/")
    manifests, refused = parse_folder(key, {name: text.encode("utf-8") for name, text in files.items()})
    refused += check_manifests(manifests, project=project, environment=environment)
    # A link could point anywhere (out of the repo, at another environment's files): not followed.
    refused += [Problem(path, 1, 1, f"a symbolic link (to '{target}'); only plain files are read")
                for path, target in (links or {}).items()]  # fmt: skip
    problems = [str(problem) for problem in sorted(set(refused))]
    objects: list[Obj] = [m.body for m in manifests if m.file.endswith(".yaml")]
    places = {Ref.of(m.body).key(): f"{m.file}:{m.line}" for m in manifests if m.file.endswith(".yaml")}
    namespace = _namespace(key, objects, files, problems)
    apps = frozenset(obj["metadata"].get("labels", {}).get(APP_LABEL, "") for obj in objects) - {""}
    secrets = _secrets(key, files, problems)
    preview = _preview(key, objects, files, problems)
    if not objects:
        problems.append(
            f"{key}: the revision holds no objects for this environment; refusing to delete it all"
        )
    return Environment(key, namespace, objects, apps, secrets, problems, places, preview)


def _preview(key: str, objects: list[Obj], files: dict[str, str], problems: list[str]) -> PreviewMark | None:
    """A preview's marker, when the folder has one. Its Namespace must carry the label that lets
    the reconciler remove all of it when it expires, and no folder without one may carry it."""
    namespaces = [o for o in objects if o.get("kind") == "Namespace"]
    marked = {(o["metadata"].get("labels") or {}).get(PREVIEW_LABEL) for o in namespaces}
    if PREVIEW_FILE not in files:
        if marked - {None}:
            problems.append(f"{key}/{ENVIRONMENT_FILE}: its Namespace is labelled {PREVIEW_LABEL}, which "
                            f"only a preview environment (with its {PREVIEW_FILE}) may be")  # fmt: skip
        return None
    try:
        mark = previewmark.parse(files[PREVIEW_FILE])
    except previewmark.BadMark as err:
        problems.append(f"{key}/{PREVIEW_FILE}: not a preview marker: {err}")
        return None
    if marked != {"true"}:
        problems.append(f"{key}/{PREVIEW_FILE}: marks a preview, but its Namespace is not labelled "
                        f"{PREVIEW_LABEL}: true")  # fmt: skip
        return None
    return mark


def _namespace(key: str, objects: list[Obj], files: dict[str, str], problems: list[str]) -> str:
    """The namespace the reconciler derives from the folder's two names, and nothing else: what
    the folder's Namespace object or its index say must agree with it. A folder whose names
    would derive a namespace of the cluster's own (`kube/system/`) is refused outright."""
    project, _, environment = key.partition("/")
    namespace = namespace_for(project, environment)
    if not (FOLDER_NAME.match(project) and FOLDER_NAME.match(environment)) or len(namespace) > MAX_NAMESPACE:
        problems.append(f"{key}: not an environment folder (PROJECT/ENVIRONMENT, lowercase names)")
        return ""
    if reserved(namespace):
        problems.append(
            f"{key}: refused: it would reach the namespace '{namespace}', which belongs to the "
            "cluster itself, not to a project"
        )
        return ""
    if INDEX_FILE in files:
        try:
            indexed = str(json.loads(files[INDEX_FILE])["namespace"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{key}/{INDEX_FILE}: not a valid index")
        else:
            if indexed != namespace:
                problems.append(f"{key}/{INDEX_FILE}: the namespace '{indexed}' is not the environment's")
    if not any(o["kind"] == "Namespace" and o["metadata"]["name"] == namespace for o in objects):
        problems.append(f"{key}/{ENVIRONMENT_FILE}: no Namespace '{namespace}'; a folder creates its own")
    return namespace


def _secrets(key: str, files: dict[str, str], problems: list[str]) -> dict[str, Any] | None:
    if SECRETS_FILE not in files:
        return None
    try:
        doc = json.loads(files[SECRETS_FILE])
        if isinstance(doc, dict) and isinstance(doc.get("apps"), dict):
            return doc
    except ValueError:
        pass
    problems.append(f"{key}/{SECRETS_FILE}: not a valid secrets file")
    return None
