"""The environment index (`_index.json`): what one published environment holds, for machines.

Pure: rendered files and the plan in, a JSON-ready dict (or its exact text) out. The reconciler,
`preview` and `publish` read it back with :func:`parse_index`; its layout is in the README.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unhazzle.errors import OperationError
from unhazzle.shared.names import INDEX_FILE

if TYPE_CHECKING:
    from unhazzle.compiler.planning.plan import EnvPlan, Plan

FORMAT = 1


@dataclass(frozen=True)
class Source:
    """Where the published spec came from; every field may be unknown (empty)."""

    repo: str = ""
    commit: str = ""
    message: str = ""
    spec_sha256: str = ""


class BadIndexError(OperationError):
    """An `_index.json` (or rendered file) we cannot read; the message starts with the file."""


def build_index(
    plan: Plan,
    env: EnvPlan,
    files: Mapping[str, str],
    *,
    source: Source,
    version: str,
    cost: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The index of *env*: *files* are its rendered files, named relative to the environment
    folder (``_environment.yaml``, ``web.yaml``). *cost* is ``{"min", "max"}`` when known."""
    index: dict[str, Any] = {
        "format": FORMAT,
        "project": plan.project,
        "environment": env.name,
        "namespace": env.namespace,
        "badge": env.badge,
        "source": {
            "repo": source.repo,
            "commit": source.commit,
            "message": source.message,
            "spec_sha256": source.spec_sha256,
        },
        "compiler": {"version": version},
        "objects": list_objects(files),
        "apps": {
            app.name: {
                "image": app.app.image,
                "instances": {"min": app.sizing.min_instances, "max": app.sizing.max_instances},
                "secrets": list(app.secrets),
                # Fingerprints only, so a commit message can tell a setting from a secret value
                # changing: never a value, never ciphertext.
                "settings_sha256": _fingerprint(app.settings),
                "secrets_checksum": app.secrets_checksum or "",
            }
            for app in sorted(env.apps, key=lambda a: a.name)
        },
        "jobs": {
            job.name: {
                "image": job.job.image,
                "schedule": job.job.schedule,
                "timezone": job.job.timezone,
                "secrets": list(job.secrets),
                "settings_sha256": _fingerprint(job.settings),
                "secrets_checksum": job.secrets_checksum or "",
            }
            for job in sorted(env.jobs, key=lambda j: j.name)
        },
    }
    if cost is not None:
        index["cost_eur_month"] = {"min": cost["min"], "max": cost["max"]}
    return index


def index_text(index: Mapping[str, Any]) -> str:
    """The exact bytes of `_index.json`: sorted keys, 2-space indent, one final newline (the
    text of `json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False)`)."""
    try:
        return _pretty(index, "\n") + "\n"
    except TypeError:  # a key that is not a string, or a value that is not JSON: json's own words
        return json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _pretty(value: Any, newline: str) -> str:
    """json.dumps's indented text, written directly: with `indent`, json uses its pure-Python
    encoder, which was half of writing a 1,000-app project's files. Strings go through json's
    own (C) string encoder, so they are escaped exactly alike."""
    if isinstance(value, str):
        return _string(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return "NaN" if value != value else _FLOATS.get(value) or float.__repr__(value)
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not all(isinstance(key, str) for key in value):
            raise TypeError("a key that is not a string")
        items = [  # most values are strings: encoded here, without a call each
            _string(key) + ": " + (_string(item) if type(item) is str else _pretty(item, inner))
            for key, item in sorted(value.items())
        ]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_pretty(item, inner) for item in value) + newline + "]"
    raise TypeError(f"{type(value).__name__} is not JSON")


_string = json.encoder.encode_basestring  # what json.dumps escapes strings with when ensure_ascii=False
_FLOATS = {math.inf: "Infinity", -math.inf: "-Infinity"}


def list_objects(files: Mapping[str, str]) -> list[dict[str, str]]:
    """Every Kubernetes object in *files*, sorted by file, kind, namespace and name.
    Cluster-wide objects (the Namespace) have namespace ``""``."""
    objects: list[dict[str, str]] = []
    for name, text in files.items():
        headed = _as_rendered(name, text)
        if headed is not None:
            objects += headed
            continue
        import yaml  # only for files written otherwise than the templates write them

        # libyaml through PyYAML, as the reconciler reads these files: 4x faster than ruamel's
        # loader, and the same answers here (every value the templates print is a quoted string).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            docs = [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
        except yaml.YAMLError as exc:
            raise BadIndexError(f"{name}: not valid YAML: {exc}") from None
        objects += [_object_ref(name, doc) for doc in docs]
    return sorted(objects, key=lambda o: (o["file"], o["kind"], o["namespace"], o["name"]))


# How the templates begin every object: its comments, apiVersion, kind, then metadata with the
# name (and namespace) as double-quoted Kubernetes names, then the labels: only text a YAML
# parser reads as exactly these strings. Parsing whole files only to read
# these was two thirds of publishing a 1,000-app project.
_HEADER = re.compile(
    r"(?:#[^\n]*\n)*apiVersion: ((?:[a-z0-9.-]+/)?v[0-9]+[a-z0-9]*)\nkind: ([A-Z][A-Za-z0-9]*)\n"
    r'metadata:\n  name: "([a-z0-9][a-z0-9.-]*)"\n(?:  namespace: "([a-z0-9][a-z0-9-]*)"\n)?  labels:\n'
)


def _as_rendered(file: str, text: str) -> list[dict[str, str]] | None:
    """The objects of a file as the templates write it, read from each object's first lines;
    None for any other shape (a block scalar, a flow mapping, escapes, ...): that file is parsed.
    Every value the templates print is one double-quoted line, so `---` on a line of its own
    only ever separates objects."""
    if "\n---" in text.replace("\n---\n", "\n") or text.startswith("---"):
        return None  # a separator written otherwise (`--- # x`, `---` at the start): parse
    refs = []
    for doc in text.split("\n---\n") if text else []:
        header = _HEADER.match(doc)
        if header is None:
            return None
        api, kind, name, namespace = header.groups()
        refs.append(
            {"apiVersion": api, "kind": kind, "namespace": namespace or "", "name": name, "file": file}
        )
    return refs


def _object_ref(file: str, doc: Any) -> dict[str, str]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or not doc.get("kind") or not meta.get("name"):
        raise BadIndexError(f"{file}: holds something that is not a Kubernetes object")
    return {
        "apiVersion": str(doc.get("apiVersion", "")),
        "kind": str(doc["kind"]),
        "namespace": str(meta.get("namespace") or ""),
        "name": str(meta["name"]),
        "file": file,
    }


def parse_index(text: str | bytes, *, where: str = INDEX_FILE) -> dict[str, Any]:
    """Read an `_index.json` back; raises BadIndexError naming *where* when it is not one we wrote."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadIndexError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadIndexError(f"{where}: not an Unhazzle index (format {FORMAT} expected)")
    if not isinstance(data.get("apps", {}), dict) or not isinstance(data.get("objects", []), list):
        raise BadIndexError(f"{where}: 'apps' must be a mapping and 'objects' a list")
    return data


def project_files(
    plan: Plan,
    rendered: Mapping[str, str],
    *,
    source: Source,
    version: str,
    costs: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, bytes]:
    """Every file of the project in the environment repo: ``PROJECT/ENV/NAME`` -> bytes, from
    `render_plan` output (``ENV/NAME`` -> text) plus one `_index.json` per environment.
    *costs* maps an environment to its ``{"min", "max"}`` EUR/month, when the plan has costs."""
    files: dict[str, bytes] = {}
    for env in plan.environments:
        own = {
            name.removeprefix(f"{env.name}/"): text
            for name, text in rendered.items()
            if name.startswith(f"{env.name}/")
        }
        if not own:
            continue
        cost = (costs or {}).get(env.name)
        index = build_index(plan, env, own, source=source, version=version, cost=cost)
        own[INDEX_FILE] = index_text(index)
        files.update(
            {f"{plan.project}/{env.name}/{name}": text.encode("utf-8") for name, text in own.items()}
        )
    return dict(sorted(files.items()))


def _fingerprint(settings: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(settings), sort_keys=True).encode("utf-8")).hexdigest()
