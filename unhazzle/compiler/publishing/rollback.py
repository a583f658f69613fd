"""Rollback through Git: an environment (or one app of it) made to run what an earlier deploy ran,
by a commit of that deploy's files, so the reconciler applies it and nothing undoes it. The commit
says so (its subject and a trailer, deploys.ROLLBACK_TRAILER) and leaves `_rollback.json` in the
folder, by which publish refuses to deploy the rolled-back version again until it is fixed or the
user insists (`refusal`); the next publish that goes through removes it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from unhazzle.compiler.publishing.deploys import ROLLBACK_TRAILER, Deploy
from unhazzle.compiler.publishing.index import Source
from unhazzle.errors import UsageError
from unhazzle.shared import sealed
from unhazzle.shared.names import INDEX_FILE, ROLLBACK_FILE, SECRETS_FILE

REPLACE_FLAG = "--replace-rollback"
MARKER_FILE = ROLLBACK_FILE  # in PROJECT/ENV/ while a rollback is in force


def choose(history: list[Deploy], *, to: str | None, app: str | None, where: str) -> tuple[Deploy, Deploy]:
    """(the deploy running now, the one to go back to): `to` names a revision (a prefix of it);
    by default, the newest earlier deploy that ran something else (for `app`: another version of
    that app) and was not itself rolled back (going back to it would undo that rollback)."""
    if not history:
        raise UsageError(f"{where}: the environment repo has no deploy of it yet; nothing to roll back")
    current, earlier = history[0], history[1:]
    if to is not None:
        found = [d for d in earlier if d.revision.startswith(to)]
        if len(found) != 1:
            listed = ", ".join(d.revision[:12] for d in earlier[:10]) or "none"
            what = "matches several" if found else "is not an earlier deploy of it"
            raise UsageError(f"--to: '{to}' {what}; its earlier deploys: {listed}")
        return current, found[0]
    key = app
    for deploy in earlier:
        if deploy.outcome == "rolled back":
            continue
        ran = deploy.apps if key is None else deploy.apps.get(key)
        if ran != (current.apps if key is None else current.apps.get(key)):
            return current, deploy
    raise UsageError(f"{where}: no earlier deploy ran anything else; nothing to roll back to")


def files_after(
    project_files: Mapping[str, bytes],
    target: Mapping[str, bytes],
    *,
    project: str,
    environment: str,
    app: str | None,
) -> dict[str, bytes]:
    """The project's files with the environment's folder (or only `app`'s file, its entry in
    the index and its sealed secret values) as `target` holds them."""
    folder = f"{project}/{environment}/"
    if app is None:
        kept = {path: data for path, data in project_files.items() if not path.startswith(folder)}
        return {**kept, **target}
    name = f"{folder}{app}.yaml"
    out = {path: data for path, data in project_files.items() if path != name}
    if name in target:
        out[name] = target[name]
    index_path = f"{folder}{INDEX_FILE}"
    if index_path in out and index_path in target:
        out[index_path] = _index_with(out[index_path], target[index_path], app)
    secrets_path = f"{folder}{SECRETS_FILE}"
    if secrets_path in out or secrets_path in target:
        secrets = _secrets_with(out.get(secrets_path), target.get(secrets_path), app)
        out.pop(secrets_path, None)
        out.update({secrets_path: secrets} if secrets is not None else {})
    return out


def _secrets_with(current: bytes | None, earlier: bytes | None, app: str) -> bytes | None:
    """The current sealed secrets, with `app`'s values as the earlier file had them (its file
    carries their checksum, so the two go back together); None for a file with no app left.
    Values sealed to other keys than the file's now cannot join it: refused, with the way on."""
    where = SECRETS_FILE
    now_keys, now = sealed.read(current.decode("utf-8", "replace"), where=where) if current else ([], {})
    then_keys, then = sealed.read(earlier.decode("utf-8", "replace"), where=where) if earlier else ([], {})
    if app not in now and app not in then:
        return current
    values = then.get(app)
    if values and now and sorted(then_keys) != sorted(now_keys):
        raise UsageError(
            f"{app}: its secret values then were sealed to other keys than the environment's now; "
            "roll back the whole environment, or set them again (`unhazzle secrets set`)"
        )
    apps = {name: found for name, found in now.items() if name != app}
    apps |= {app: values} if values else {}
    if not apps:
        return None
    return sealed.encode(now_keys or then_keys, dict(sorted(apps.items()))).encode()


def _index_with(current: bytes, earlier: bytes, app: str) -> bytes:
    """The current index, with `app`'s entry (and objects) as the earlier one had them."""
    now, then = json.loads(current), json.loads(earlier)
    apps = dict(now.get("apps") or {})
    if app in (then.get("apps") or {}):
        apps[app] = then["apps"][app]
    else:
        apps.pop(app, None)
    now["apps"] = dict(sorted(apps.items()))
    objects = [o for o in now.get("objects") or [] if o.get("file") != f"{app}.yaml"]
    objects += [o for o in then.get("objects") or [] if o.get("file") == f"{app}.yaml"]
    now["objects"] = sorted(
        objects, key=lambda o: (str(o.get("file")), str(o.get("kind")), str(o.get("name")))
    )
    return (json.dumps(now, indent=2, sort_keys=True) + "\n").encode()


def trailer(what: str, current: Deploy, target: Deploy) -> dict[str, str]:
    return {ROLLBACK_TRAILER: f"{what} {current.revision[:12]} -> {target.revision[:12]}"}


def source_of(target: Deploy) -> Source:
    """What the rollback deploys was built from: the target deploy's own source."""
    return Source(
        repo=target.trailers.get("Source-Repo", ""), commit=target.trailers.get("Source-Commit", "")
    )


def marker(what: str, current: Deploy, target: Deploy, undone: Mapping[str, bytes], *, when: str) -> bytes:
    """`_rollback.json`, left in the environment's folder while the rollback is in force: what
    went back, from and to which deploy, and a fingerprint of what it undid, by which publish
    tells a fix from the same version again without reading the repo's history."""
    doc = {
        "format": 1,
        "what": what,
        "from": current.revision,
        "to": target.revision,
        "at": when,
        "undone_sha256": fingerprint(undone, what),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def fingerprint(files: Mapping[str, bytes], what: str) -> str:
    """sha256 over the files `what` (PROJECT/ENV or PROJECT/ENV/APP) covers: its manifests and
    sealed secrets; not the index, which names the source commit and differs every publish."""
    digest = hashlib.sha256()
    for path in sorted(_covered(files, what)):
        # (a name that is not UTF-8 is kept as Git wrote it, as publish writes names back)
        digest.update(f"{path}\0{len(files[path])}\0".encode("utf-8", "surrogateescape"))
        digest.update(files[path])
    return digest.hexdigest()


def _covered(files: Mapping[str, bytes], what: str) -> list[str]:
    project, env, *app = what.split("/")
    folder = f"{project}/{env}/"
    if app:
        return [p for p in files if p == f"{folder}{app[0]}.yaml"]
    return [p for p in files if p.startswith(folder) and p.rsplit("/", 1)[1] not in (INDEX_FILE, MARKER_FILE)]


def in_force(markers: Mapping[str, bytes], files: Mapping[str, bytes]) -> list[dict[str, object]]:
    """The rollbacks in force (`markers`: the environment repo's `_rollback.json` files), each
    with whether `files` would deploy again what it undid (then publish refuses them)."""
    found: list[dict[str, object]] = []
    for path, data in sorted(markers.items()):
        try:
            doc = json.loads(data)
            what, undone = str(doc["what"]), str(doc["undone_sha256"])
        except (ValueError, KeyError, TypeError):
            continue  # a marker edited by hand into something else guards nothing
        if what.startswith(path.rsplit("/", 1)[0]):
            again = fingerprint(files, what) == undone
            found.append({"what": what, "from": str(doc.get("from", "")), "to": str(doc.get("to", "")),
                          "at": str(doc.get("at", "")), "would_redeploy": again})  # fmt: skip
    return found


def refusal(markers: Mapping[str, bytes], files: Mapping[str, bytes]) -> list[str]:
    """Why publishing `files` would deploy again what a rollback in force undid (`markers`: the
    environment repo's `_rollback.json` files), one line per environment."""
    return [
        f"{back['what']}: rolled back from {str(back['from'])[:12]} ({_minute(back['at'])}); this publish "
        f"would deploy that version again. Publish a fix, or pass {REPLACE_FLAG} to deploy it anyway"
        for back in in_force(markers, files)
        if back["would_redeploy"]
    ]


def _minute(when: object) -> str:
    return str(when)[:16].replace("T", " ")
