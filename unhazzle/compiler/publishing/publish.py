"""Publishing to the environment repo, with Git's plumbing commands run as plain processes.

Why it is built this way:
- The cache copy is a *bare* repository under ~/.cache/unhazzle/envrepos/, never the user's own
  checkout. Each attempt fetches only the branch tip (depth 1; the first while the caller
  compiles) and builds the new tree from objects with one `git fast-import`, so no working tree of
  a 1,000-app repo is ever checked out, and a commit is either a whole tree or nothing: a
  half-written tree cannot be pushed.
- The remote URL is passed on each fetch and push and never stored in the cache's config, so
  credentials in it (or in Git's own helpers) never land on disk; every message is scrubbed (and
  read from a pipe, never a file).
- A rejected push (someone else published first) means: fetch the new tip, apply the same files
  onto it, push again, with exponential backoff and jitter, a bounded number of times.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from unhazzle import __version__
from unhazzle.compiler.cachedir import user_cache_dir
from unhazzle.compiler.publishing.changes import (
    ChangeSet,
    FileChange,
    app_images,
    env_of,
    likely_renames,
    plan_changes,
    shown,
)
from unhazzle.compiler.publishing.gitread import blobs
from unhazzle.compiler.publishing.index import BadIndexError, Source, parse_index
from unhazzle.compiler.publishing.volumes import (
    CLAIM_KIND,
    VolumeChange,
    disks_in_manifests,
    refusal,
    volume_changes,
)
from unhazzle.errors import OperationError, UnhazzleError, UsageError, marked, printable, shortened
from unhazzle.shared.gitrun import GitResult, StartedGit, run_git, text
from unhazzle.shared.names import ALLOW_DELETE_VOLUME, INDEX_FILE, PREVIEW_FILE
from unhazzle.shared.readlimit import reason

USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")
SCP_LIKE = re.compile(r"^[^/:]+:")  # git's "host:path" form of SSH, as opposed to a local path
RETRYABLE = (
    "[rejected]",
    "fetch first",
    "non-fast-forward",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "failed to lock",
    "incorrect old value",
)
MISSING_BRANCH = "couldn't find remote ref"
TIP_REF = "refs/unhazzle/tip"
SCRATCH_REF = "refs/unhazzle/tree"  # fast-import's commit, which carries the new tree to commit-tree
CREDENTIALS_HINT = (
    "give credentials the way Git takes them: a credential helper, GIT_ASKPASS, an SSH key, "
    "or user:token@ in the URL"
)
DEFAULT_AUTHOR = ("Unhazzle", "publish@unhazzle.invalid")


@dataclass(frozen=True)
class PublishOptions:
    """How to publish; see default_publish_options()."""

    branch: str = "main"
    # Remove environment folders the spec no longer has (never done without it).
    allow_delete_environment: bool = False
    # Remove or rename an app with a volume, or take the volume from an app, though the app's data
    # goes with it (never done without it; compiler/publishing/volumes.py says what each change does).
    allow_delete_volume: bool = False
    # Make a volume smaller: only ever right when the cluster refused to grow it (its disk never
    # shrinks; the reconciler refuses the smaller size if it did grow).
    allow_smaller_volume: bool = False
    # Work out the commit, and report it, but neither commit nor push.
    dry_run: bool = False
    # Push attempts before giving up when other publishers keep winning the race.
    attempts: int = 8
    # Backoff before retry n is about backoff_s * 2**(n-1), at most backoff_max_s, with jitter.
    backoff_s: float = 0.2
    backoff_max_s: float = 5.0
    # Where cache copies live; None: $UNHAZZLE_CACHE_DIR, else $XDG_CACHE_HOME/unhazzle, else ~/.cache.
    cache_dir: Path | None = None
    # Extra commit trailers (after Source-Commit, Source-Repo and Unhazzle-Version).
    trailers: Mapping[str, str] = field(default_factory=dict)
    # A network operation taking longer than this (seconds) is stopped and reported.
    timeout_s: float = 300.0
    # Sign the commit (`git commit-tree -S`) with the user's Git signing settings (user.signingkey,
    # gpg.format), for a reconciler that applies only signed tips.
    sign: bool = False
    # The commit's first line, instead of the one made from the changes (a rollback's).
    subject: str = ""
    # Deploy a version that was rolled back, again (rollback.refusal says when that is asked for).
    replace_rollback: bool = False
    # The environment folders this publish writes (a preview's); None: every folder of the
    # project but the previews', which only `unhazzle preview-env` writes.
    only: frozenset[str] | None = None
    # Called with the project's preview markers at the tip (path -> bytes) and its folders
    # there, before each attempt, so a limit is checked against what the push replaces; it
    # raises to refuse.
    vet: Callable[[dict[str, bytes], set[str]], None] | None = None


class Refusal(UsageError):
    """Publishing would delete an environment or lose an app's data without the flag that says
    so, ask for what a disk cannot do, give an environment a preview's name, or deploy again what
    a rollback undid: one line each, all at once."""

    def __init__(self, problems: list[str]) -> None:
        # names come from the environment repo too, which anyone may have edited: one line each
        self.problems = [printable(shortened(problem)) for problem in problems]
        super().__init__("\n".join(problems))

    def lines(self) -> list[str]:
        return [marked(problem) for problem in self.problems]


def default_publish_options() -> PublishOptions:
    return PublishOptions()


@dataclass(frozen=True)
class PublishResult:
    repo: str  # the remote, without credentials
    branch: str
    commit: str | None  # the pushed commit; None for no change or a dry run
    changed: bool
    files: list[FileChange]
    message: str
    attempts: int
    dry_run: bool


def publish(
    project: str,
    files: Mapping[str, bytes],
    remote: str,
    *,
    source: Source,
    options: PublishOptions | None = None,
) -> PublishResult:
    """Make *files* (``PROJECT/ENV/NAME`` -> bytes, every file of the project) the content of
    PROJECT/ on the branch of *remote* (with `options.only`: of those folders alone): one commit,
    pushed, retried when others push first."""
    with publishing(remote, options) as publisher:
        return publisher.publish(project, files, source=source)


@contextmanager
def publishing(remote: str, options: PublishOptions | None = None) -> Iterator[Publisher]:
    """Ready to publish to *remote*, with its branch tip already being fetched into the cache
    copy while the caller works out the files (`unhazzle publish` compiles meanwhile): a publish
    waits for the network once, not for the network and then the compiler. When another publish
    on this machine holds the cache copy, nothing is fetched early and nothing waits here: this
    one takes its turn when it publishes. Nothing is written to *remote* unless
    `Publisher.publish` is called; a problem with *remote* or the cache is reported by that
    call, so the spec's own errors still come first."""
    options = options or default_publish_options()
    with contextlib.ExitStack() as stack:
        problem: UnhazzleError | None = None
        url, repo, fetching = "", None, None
        try:
            url = _checked_url(remote)
            repo = stack.enter_context(_cache_repo_if_free(url, options))
            if repo is not None:
                fetching = stack.enter_context(_fetch_started(repo, url, options))
        except (UsageError, OperationError) as exc:
            problem = exc
        yield Publisher(options, url=url, repo=repo, fetching=fetching, problem=problem)


@contextmanager
def _fetch_started(repo: Path, url: str, options: PublishOptions) -> Iterator[StartedGit]:
    fetching = StartedGit(
        [f"--git-dir={repo}", *_fetch_args(url, options)], env=_env(), timeout=options.timeout_s
    )
    try:
        yield fetching
    finally:
        fetching.stop()  # a caller that gave up: stopped before the cache copy is unlocked


class Publisher:
    """Publishing to one environment repo, opened by `publishing`."""

    def __init__(
        self,
        options: PublishOptions,
        *,
        url: str,
        repo: Path | None,
        fetching: StartedGit | None,
        problem: UnhazzleError | None,
    ) -> None:
        self.options, self._url, self._repo = options, url, repo
        self._fetching, self._problem = fetching, problem

    def publish(self, project: str, files: Mapping[str, bytes], *, source: Source) -> PublishResult:
        """See publish()."""
        if self._problem is not None:
            raise self._problem
        if self.options.only is not None:  # the folders it writes, and nothing of the others
            files = {path: data for path, data in files.items() if env_of(path) in self.options.only}
        if self._repo is not None:
            return self._attempts(self._repo, project, files, source=source)
        with _cache_repo(self._url, self.options) as repo:  # busy when publishing() began: our turn now
            return self._attempts(repo, project, files, source=source)

    def _attempts(
        self, repo: Path, project: str, files: Mapping[str, bytes], *, source: Source
    ) -> PublishResult:
        url, options = self._url, self.options
        for attempt in range(1, max(1, options.attempts) + 1):
            # the first attempt takes the tip fetched while the files were worked out, if any
            tip = self._first_tip(repo) if attempt == 1 and self._fetching else _fetch(repo, url, options)
            changes = _changes(repo, tip, project, files, options)
            result = _result(url, options, changes, attempt=attempt, source=source)
            if not changes.changed or options.dry_run:
                return result
            commit = _commit(repo, tip, changes, result.message, sign=options.sign)
            if _push(repo, url, commit, options):
                return _with_commit(result, commit)
            if attempt < options.attempts:
                time.sleep(backoff(attempt, options))
        raise OperationError(
            f"{scrub(url)}: gave up after {options.attempts} attempts; other publishers kept updating "
            f"'{options.branch}' first. Nothing of {project} was pushed; run publish again"
        )

    def _first_tip(self, repo: Path) -> str | None:
        assert self._fetching is not None
        status, _, err = _said(self._fetching.result(), self.options.timeout_s)
        return _fetched_tip(repo, self._url, status, err)


def _checked_url(remote: str, *, reading: bool = False, flag: str = "--to") -> str:
    url = remote_url(remote, flag=flag)
    if url.startswith("/") and not _exists(url):  # a local path (remote_url made it absolute)
        fix = (
            "check the path, or give its URL"
            if reading
            else f"make it with `git init --bare {url}` or give its URL"
        )
        raise UsageError(f"{url}: no such environment repo; {fix}")
    if url.startswith("/") and Path(url).is_file():  # a Git bundle is read-only: not a repo to use
        raise UsageError(f"{url}: a file, not an environment repo; give the repo's folder or its URL")
    return url


def _refuse_over_rollback(repo: Path, old_blobs: Mapping[str, str], files: Mapping[str, bytes]) -> None:
    from unhazzle.compiler.publishing.rollback import MARKER_FILE, refusal

    markers = {p: _blob(repo, sha).encode() for p, sha in old_blobs.items() if p.endswith(f"/{MARKER_FILE}")}
    refused = refusal(markers, files) if markers else []
    if refused:
        raise Refusal(refused)


@contextmanager
def fetched(
    remote: str, options: PublishOptions | None = None, *, history: bool = True, flag: str = "--to"
) -> Iterator[tuple[Path, str | None]]:
    """The cache copy of *remote* (given with *flag*) with the branch's whole history (without
    `history`, its tip alone, as publish fetches it), and the tip (None: no such branch yet),
    for reading the environment repo (history, rollback, the preview); locked while in use."""
    options = options or default_publish_options()
    url = _checked_url(remote, reading=True, flag=flag)
    with _cache_repo(url, options) as repo:
        tip = _fetch(repo, url, options)
        shallow = tip is not None and history
        if shallow and _must(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
            _fetch(repo, url, options, deepen=True)
        yield repo, tip


def git_out(repo: Path, *args: str) -> str:
    """What `git ARGS` prints in the cache copy *repo*; OperationError when it fails."""
    return _must(repo, *args)


def project_files_at(repo: Path, tip: str | None, project: str) -> dict[str, bytes]:
    """Every file of *project* at *tip* (`PROJECT/ENV/NAME` -> bytes), read in one process."""
    listed = project_blobs(repo, tip, project, exact=False)
    found = blobs(repo, list(listed.values()), what=f"{project}/ at {(tip or '')[:12]}")
    return {path: data for path, data in zip(listed, found, strict=True) if data is not None}


def _result(
    url: str, options: PublishOptions, changes: ChangeSet, *, attempt: int, source: Source
) -> PublishResult:
    trailers = {
        "Source-Commit": source.commit,
        "Source-Repo": source.repo,
        "Unhazzle-Version": __version__,
        **options.trailers,
        **changes.opt_ins,  # after the user's own, so no --message-trailer can forge or drop one
    }
    return PublishResult(
        repo=scrub(url),
        branch=options.branch,
        commit=None,
        changed=changes.changed,
        files=changes.files,
        message=changes.message(trailers, subject=options.subject) if changes.changed else "",
        attempts=attempt,
        dry_run=options.dry_run,
    )


def _with_commit(result: PublishResult, commit: str) -> PublishResult:
    return dataclasses.replace(result, commit=commit)


def backoff(attempt: int, options: PublishOptions) -> float:
    """Half the exponential delay for sure, half at random, so racing publishers spread out."""
    delay = min(options.backoff_max_s, options.backoff_s * 2.0 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def scrub(text: str) -> str:
    """*text* with any user:password@ taken out of URLs in it."""
    return USERINFO.sub(r"\1", text)


def remote_url(remote: str, *, flag: str = "--to") -> str:
    """A URL or SSH address as given (with *flag*); a local path made absolute (Git runs in the
    cache)."""
    if not remote.strip() or remote.startswith("-"):
        raise UsageError(f"{flag}: '{scrub(remote)}' is not a repository path or URL")
    # host:path is a local file only if it is there (os.path.exists: a name too long is not)
    if "://" in remote or (SCP_LIKE.match(remote) and not os.path.exists(remote)):
        return remote
    path = Path(remote)
    if remote.startswith("~"):
        try:
            path = path.expanduser()
        except RuntimeError:  # ~name of no user here, or ~ with no home folder known
            raise UsageError(
                f"{scrub(remote)}: no such repository path (no home folder for it here)"
            ) from None
    try:
        return str(path.resolve())
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise UsageError(f"{scrub(remote)}: not a repository path: {reason(exc)}") from None


def _exists(path: str) -> bool:
    """Whether *path* exists; a name the file system refuses (too long, say) is bad input."""
    try:
        return Path(path).exists()
    except OSError as exc:
        raise UsageError(f"{scrub(path)}: not a repository path or URL: {exc.strerror or exc}") from None


def cache_root(options: PublishOptions) -> Path:
    return options.cache_dir if options.cache_dir is not None else user_cache_dir()


# --- the cache copy --------------------------------------------------------------------------


@contextmanager
def _cache_repo(url: str, options: PublishOptions) -> Iterator[Path]:
    """The bare cache copy for *url*, locked so two publishes on one machine take turns."""
    with _lock_file(url, options) as (lock, folder):
        _lock(lock, wait=True)
        yield _open_or_init(folder)


@contextmanager
def _cache_repo_if_free(url: str, options: PublishOptions) -> Iterator[Path | None]:
    """The cache copy, locked, if no other process holds it; else None, without waiting."""
    with _lock_file(url, options) as (lock, folder):
        yield _open_or_init(folder) if _lock(lock, wait=False) else None


def _lock(lock: IO[str], *, wait: bool) -> bool:
    """Take the machine-wide lock on a cache copy; False when it is busy and not *wait*."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # a file system without locks (some network mounts)
        raise OperationError(f"{lock.name}: cannot lock the cache copy: {exc.strerror or exc}") from None
    return True


@contextmanager
def _lock_file(url: str, options: PublishOptions) -> Iterator[tuple[IO[str], Path]]:
    """The lock file of *url*'s cache copy, open, and the copy's folder."""
    root = cache_root(options) / "envrepos"
    key = hashlib.sha256(scrub(url).encode()).hexdigest()[:16]
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / f"{key}.lock", "w")  # noqa: SIM115 - held for the whole publish
    except OSError as exc:
        raise OperationError(f"{root}: cannot use the cache folder: {exc.strerror or exc}") from None
    with lock:
        yield lock, root / key


def _open_or_init(path: Path) -> Path:
    """The bare cache copy's folder (its git dir), made when missing."""
    try:
        if (path / "HEAD").exists():
            _clear_stale_locks(path)
            return path
        staging = Path(tempfile.mkdtemp(prefix=".init.", dir=path.parent))
        try:
            # --git-dir, not `git init DIR`: a GIT_DIR set by the caller would win over DIR
            done = run_git([f"--git-dir={staging}", "init", "--bare", "--quiet"], env=_env())
            if done.status != 0:
                raise OperationError(f"{path}: cannot prepare the cache copy: {_reason(text(done.err))}")
            staging.rename(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when the rename worked
        return path
    except OSError as exc:
        raise OperationError(f"{path}: cannot prepare the cache copy: {_reason(str(exc))}") from None


def _clear_stale_locks(path: Path) -> None:
    """Git's own lock files left by a publish that was killed: we hold the machine-wide lock on
    this copy, so no live Git process can own them, and leaving them would block every fetch."""
    for stale in [*path.glob("*.lock"), *(path / "refs").rglob("*.lock")]:
        stale.unlink(missing_ok=True)


# --- running git -----------------------------------------------------------------------------


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Never wait for a password prompt in a pipeline; read Git's messages in English."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C", "LANGUAGE": "C"}
    if "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return {**env, **(extra or {})}


def _run(
    repo: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    timeout: float | None = None,
) -> tuple[int, str, str]:
    """Status, output and messages of `git ARGS` in the cache copy *repo*."""
    # --git-dir: whatever GIT_DIR the caller has set
    return _said(run_git([f"--git-dir={repo}", *args], env=_env(env), stdin=stdin, timeout=timeout), timeout)


def _said(done: GitResult, timeout: float | None) -> tuple[int, str, str]:
    """Status, output and messages of a finished git; one stopped at *timeout* says so."""
    if done.timed_out:
        return 1, "", f"fatal: no answer within {timeout or 0:g} s (--timeout)"
    return done.status, text(done.out), text(done.err)


def _must(repo: Path, *args: str, **kwargs: Any) -> str:
    status, out, err = _run(repo, *args, **kwargs)
    if status != 0:
        raise OperationError(f"{repo}: git {args[0]} failed: {_reason(err)}")
    return out


def _reason(stderr: str) -> str:
    """Git's last real complaint (which may run over a few lines), as one line, scrubbed."""
    lines = [line.strip() for line in scrub(stderr).splitlines() if line.strip()] or ["no details"]
    starts = [n for n, line in enumerate(lines) if line.startswith(("fatal:", "error:"))]
    text = " ".join(lines[starts[-1] if starts else -1 :])
    for prefix in ("fatal: ", "error: "):
        text = text.removeprefix(prefix)
    if "terminal prompts disabled" in text:
        text += f"; {CREDENTIALS_HINT}"
    return text


# --- one attempt: fetch, compute, commit, push ------------------------------------------------


def _fetch(repo: Path, url: str, options: PublishOptions, *, deepen: bool = False) -> str | None:
    """The branch tip, fetched into the cache (`deepen`: with all its history); None when the
    branch (or any commit) is missing."""
    status, _, err = _run(repo, *_fetch_args(url, options, deepen=deepen), timeout=options.timeout_s)
    return _fetched_tip(repo, url, status, err)


def _fetch_args(url: str, options: PublishOptions, *, deepen: bool = False) -> list[str]:
    refspec = f"+refs/heads/{options.branch}:{TIP_REF}"
    depth = "--unshallow" if deepen else "--depth=1"
    # Git's housekeeping after a fetch runs in the foreground, under our lock: detached, it would
    # outlive the lock and race the next publish in the same copy.
    quiet = ["-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false"]
    return [*quiet, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", depth, url, refspec]


def _fetched_tip(repo: Path, url: str, status: int, err: str) -> str | None:
    """The tip a fetch brought (None: no such branch), or why it failed."""
    if status == 0:
        return _must(repo, "rev-parse", "--verify", f"{TIP_REF}^{{commit}}").strip()
    if MISSING_BRANCH in err:
        return None
    raise OperationError(f"{scrub(url)}: cannot fetch the environment repo: {_reason(err)}")


def _changes(
    repo: Path, tip: str | None, project: str, files: Mapping[str, bytes], options: PublishOptions
) -> ChangeSet:
    old_blobs = _scoped(repo, project_blobs(repo, tip, project), project, files, options)
    if not options.replace_rollback:
        _refuse_over_rollback(repo, old_blobs, files)
    indexes = {p: sha for p, sha in old_blobs.items() if p.count("/") == 2 and p.endswith(f"/{INDEX_FILE}")}
    old_indexes: dict[str, dict[str, Any]] = {}
    read = blobs(repo, list(indexes.values()), what=f"{project}/ at {(tip or '')[:12]}") if indexes else []
    for path, data in zip(indexes, read, strict=True):
        # a hand-edited index only costs the summary its detail
        with contextlib.suppress(BadIndexError):
            old_indexes[path.split("/")[1]] = parse_index(text(data or b""), where=path)
    changes = plan_changes(
        project,
        files,
        old_blobs,
        old_indexes=old_indexes,
        allow_delete=options.allow_delete_environment,
    )
    volumes = _volume_changes(repo, changes, old_blobs, files, old_indexes=old_indexes)
    refused = changes.refusals + refusal(
        volumes,
        allow_delete=options.allow_delete_volume,
        allow_smaller=options.allow_smaller_volume,
        project=project,
    )
    if refused:
        raise Refusal(refused)
    deleted = ", ".join(f"{project}/{c.environment}/{c.app}" for c in volumes if c.needs_flag)
    opt_ins = {**changes.opt_ins, **({ALLOW_DELETE_VOLUME: deleted} if deleted else {})}
    return dataclasses.replace(changes, notes=[c.message() for c in volumes], opt_ins=opt_ins)


def _scoped(
    repo: Path, old_blobs: dict[str, str], project: str, files: Mapping[str, bytes], options: PublishOptions
) -> dict[str, str]:
    """What the repo holds of the folders this publish writes: a preview's own (`only`), or every
    folder but the previews' (a spec's environment may not take a preview's name)."""
    marks = {path: sha for path, sha in old_blobs.items() if path.endswith(f"/{PREVIEW_FILE}")}
    if options.vet is not None:
        folders = {env_of(path) for path in old_blobs}
        found = blobs(repo, list(marks.values()), what="the preview markers")
        options.vet(
            {path: data for path, data in zip(marks, found, strict=True) if data is not None}, folders
        )
    previews = {env_of(path) for path in marks}
    if options.only is not None:
        return {path: sha for path, sha in old_blobs.items() if env_of(path) in options.only}
    clash = sorted(previews & {env_of(path) for path in files})
    if clash:
        raise Refusal(
            [
                f"{project}/{env}: a preview environment has this name; remove it first "
                f"(`unhazzle preview-env down --name {env}`) or name the environment otherwise"
                for env in clash
            ]
        )
    return {path: sha for path, sha in old_blobs.items() if env_of(path) not in previews}


def _volume_changes(
    repo: Path,
    changes: ChangeSet,
    old_blobs: Mapping[str, str],
    files: Mapping[str, bytes],
    *,
    old_indexes: Mapping[str, Mapping[str, Any]],
) -> list[VolumeChange]:
    """The volumes this publish deletes, detaches or resizes: only files it removes or rewrites,
    and that hold a volume by their environment's index, are read from the repo (one small
    `git cat-file` each; a change to every app of a project has few volumes among them)."""
    touched = [
        p
        for p in [*changes.removals, *changes.writes]
        if p in old_blobs and p.endswith(".yaml") and _may_hold_volume(p, old_indexes)
    ]
    before = disks_in_manifests({p: _blob(repo, old_blobs[p]) for p in touched})
    after = disks_in_manifests({p: files[p].decode("utf-8") for p in touched if p in files})
    new_indexes = {
        path.split("/")[1]: parse_index(data, where=path)
        for path, data in files.items()
        if path.endswith(f"/{INDEX_FILE}")
    }
    apps_after = {env: list(app_images(index)) for env, index in new_indexes.items()}
    renames = {
        env: likely_renames(app_images(old_indexes.get(env, {})), app_images(index))
        for env, index in new_indexes.items()
    }
    return volume_changes(before, after, apps_after=apps_after, renames=renames)


def _may_hold_volume(path: str, old_indexes: Mapping[str, Mapping[str, Any]]) -> bool:
    """False only when the environment's index lists the file's objects and no volume among them."""
    env, name = env_of(path), path.split("/", 2)[2]  # a hand-added file may sit deeper down
    objects = old_indexes.get(env, {}).get("objects")
    if not isinstance(objects, list):
        return True  # an unreadable index: read the file itself
    listed = [o for o in objects if isinstance(o, Mapping) and o.get("file") == name]
    return not listed or any(o.get("kind") == CLAIM_KIND for o in listed)


def project_blobs(repo: Path, tip: str | None, project: str, *, exact: bool = True) -> dict[str, str]:
    """Path -> blob id of every file under PROJECT/ at *tip*. *exact*: a name that is not UTF-8
    is kept byte for byte (surrogateescape, for publish to remove it; see changes.shown), else
    read with U+FFFD, for readers that print names (preview environments)."""
    if tip is None:
        return {}
    listing = run_git(
        [f"--git-dir={repo}", "ls-tree", "-r", "-z", "--full-tree", tip, "--", f"{project}/"], env=_env()
    )
    if listing.status != 0:
        raise OperationError(f"{repo}: git ls-tree failed: {_reason(text(listing.err))}")
    out = listing.out.decode("utf-8", "surrogateescape" if exact else "replace")
    blobs = {}
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs[path] = sha
    return blobs


def _blob(repo: Path, sha: str) -> str:
    return _must(repo, "cat-file", "blob", sha)


def _commit(repo: Path, tip: str | None, changes: ChangeSet, message: str, *, sign: bool = False) -> str:
    """A commit of *tip*'s tree with *changes* applied: the tree from `_tree`, the commit from
    `git commit-tree`, which keeps Git's own ways with the identity, the dates and signing."""
    tree = _tree(repo, tip, changes)
    with _stdin(message) as stdin:
        parents = ["-p", tip] if tip else []
        signing = ["-S"] if sign else []
        return _must(repo, "commit-tree", *signing, tree, *parents, env=_identity(), stdin=stdin).strip()


def _tree(repo: Path, tip: str | None, changes: ChangeSet) -> str:
    """The id of *tip*'s tree (or an empty one) with *changes* applied, from one `git fast-import`:
    the new files' blobs and the trees above them are written as one pack, nothing is checked
    out, and `ls` names the tree. Its commit, on SCRATCH_REF, only carries the tree there."""
    stream = [
        b"commit "
        + SCRATCH_REF.encode()
        + b"\ncommitter Unhazzle <publish@unhazzle.invalid> 0 +0000\ndata 0\n"
    ]
    stream.append(b"from " + tip.encode() + b"\n" if tip else b"deleteall\n")
    stream += [b"D " + _quoted(path) + b"\n" for path in changes.removals]
    for path, data in sorted(changes.writes.items()):
        stream += [b"M 100644 inline " + _quoted(path) + b"\ndata %d\n" % len(data), data, b"\n"]
    stream.append(b'ls ""\n\n')  # the commit's whole tree: `<mode> tree <id>\t`
    with tempfile.TemporaryFile() as stdin:
        stdin.writelines(stream)
        stdin.seek(0)
        out = _must(repo, "fast-import", "--quiet", "--force", "--cat-blob-fd=1", stdin=stdin)
    fields = out.split("\t", 1)[0].split()
    if len(fields) != 3 or fields[1] != "tree":
        raise OperationError(f"{repo}: git fast-import did not name the new tree: {shortened(out.strip())!r}")
    return fields[2]


def _quoted(path: str) -> bytes:
    """*path* as fast-import reads a quoted path: a name from the repo may hold any character."""
    out = bytearray(b'"')
    for byte in path.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):  # " and \
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b'"')


@contextmanager
def _stdin(text: str) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as handle:
        handle.write(text.encode("utf-8"))
        handle.seek(0)
        yield handle


def _identity() -> dict[str, str]:
    """Who commits: the pipeline's Git identity when it sets one, else Unhazzle."""
    name = os.environ.get("GIT_AUTHOR_NAME") or DEFAULT_AUTHOR[0]
    email = os.environ.get("GIT_AUTHOR_EMAIL") or DEFAULT_AUTHOR[1]
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME") or name,
        "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL") or email,
    }


def _push(repo: Path, url: str, commit: str, options: PublishOptions) -> bool:
    """True when pushed; False when someone else got there first (retry); raises otherwise."""
    target = f"{commit}:refs/heads/{options.branch}"
    status, out, err = _run(repo, "push", "--porcelain", url, target, timeout=options.timeout_s)
    if status == 0:
        return True
    if any(marker in out + err for marker in RETRYABLE):
        return False
    raise OperationError(
        f"{scrub(url)}: push failed before the environment repo accepted it, so it is unchanged: "
        f"{_reason(err or out)}"
    )


# --- where the spec came from ----------------------------------------------------------------


def source_of(spec: Path, *, spec_bytes: bytes, overrides: Mapping[str, str] | None = None) -> Source:
    """The spec's repo, commit and commit subject: *overrides* (flags) first, then the Git repo
    the spec sits in, then the CI system's variables (GitHub Actions, GitLab CI)."""
    found = {**_ci_source(), **_git_source(spec), **{k: v for k, v in (overrides or {}).items() if v}}
    # One line each: they become commit trailers, where a newline could forge another trailer;
    # bytes that are not UTF-8 (an argument or CI variable, as the system hands it over) as U+FFFD.
    line = {key: shown(value).strip().split("\n")[0].strip() for key, value in found.items()}
    return Source(
        repo=scrub(line.get("repo", "")),
        commit=line.get("commit", ""),
        message=line.get("message", ""),
        spec_sha256=hashlib.sha256(spec_bytes).hexdigest(),
    )


def _git_source(spec: Path) -> dict[str, str]:
    """The checkout's HEAD commit, its subject line and where it came from (the origin remote's
    URL, else the first remote's, else the checkout's folder); {} outside a repo or before the
    first commit: the CI variables may know."""
    folder = spec.resolve().parent
    if not folder.is_dir():
        return {}
    head = run_git(["log", "-1", "--format=%H%x00%B", "HEAD", "--"], cwd=folder)
    if head.status != 0 or b"\0" not in head.out:
        return {}
    commit, _, message = text(head.out).partition("\0")
    names = text(run_git(["remote"], cwd=folder).out).split()
    remote = "origin" if "origin" in names else next(iter(names), None)
    if remote is None:
        where = text(run_git(["rev-parse", "--show-toplevel"], cwd=folder).out).strip()
    else:
        urls = text(run_git(["remote", "get-url", "--all", remote], cwd=folder).out).splitlines()
        where = next(iter(urls), "")
    return {"repo": where, "commit": commit.strip(), "message": message.strip().split("\n")[0]}


def _ci_source() -> dict[str, str]:
    env = os.environ
    found: dict[str, str] = {}
    if env.get("GITHUB_SHA"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        found["commit"] = env["GITHUB_SHA"]
        if env.get("GITHUB_REPOSITORY"):
            found["repo"] = f"{server}/{env['GITHUB_REPOSITORY']}"
    if env.get("CI_COMMIT_SHA"):
        found["commit"] = env["CI_COMMIT_SHA"]
        found["repo"] = env.get("CI_PROJECT_URL", found.get("repo", ""))
        found["message"] = env.get("CI_COMMIT_TITLE", "")
    return {key: value for key, value in found.items() if value}
