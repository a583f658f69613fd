"""What an image says about itself: manifests and config JSON in, an ImageInfo out, and back out as
text or JSON. Pure: the registry client (registry.py) fetches the bytes, this module reads them.

Docker (v2 schema 2) and OCI media types are read alike: both carry the same config fields
(ExposedPorts, User, Env, Entrypoint, Cmd, Healthcheck, Labels).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from unhazzle.compiler.rules.cluster import cluster_settings
from unhazzle.shared.numbers import whole_number

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
DEFAULT_PLATFORM = "linux/amd64"
NANOSECONDS = 1_000_000_000


class ManifestProblem(ValueError):
    """The registry sent something we cannot read as an image; the message says what."""


@dataclass(frozen=True)
class Healthcheck:
    test: list[str]
    interval_s: float | None
    timeout_s: float | None
    retries: int | None
    start_period_s: float | None


@dataclass(frozen=True)
class ImageInfo:
    """One image for one platform, as `unhazzle inspect` shows it."""

    reference: str
    digest: str  # what the reference points at: the index for a multi-platform image
    platform: str
    manifest_digest: str  # the manifest of the chosen platform
    media_type: str
    platforms: list[str]
    ports: list[str]
    user: str
    root: bool
    env: dict[str, str]
    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str | None
    volumes: list[str]  # the folders the image declares (VOLUME): where it expects to write
    healthcheck: Healthcheck | None
    labels: dict[str, str]
    compressed_size: int
    layers: int

    @property
    def port_numbers(self) -> list[int]:
        """TCP ports only; an app's port is where it accepts connections."""
        numbers = set()
        for port in self.ports:
            text, _, proto = port.partition("/")
            number = whole_number(text, most_digits=5)
            if number is not None and 0 < number < 65536 and proto in ("", "tcp"):
                numbers.add(number)
        return sorted(numbers)


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise ManifestProblem(f"the {what} is not JSON") from None
    if not isinstance(doc, dict):
        raise ManifestProblem(f"the {what} is not a JSON object")
    return doc


def media_type(doc: dict[str, Any], content_type: str) -> str:
    """The manifest's kind: its own mediaType field, else the Content-Type the registry sent."""
    declared = doc.get("mediaType")
    kind = declared if isinstance(declared, str) and declared else content_type.split(";")[0].strip()
    if not kind:
        kind = OCI_INDEX if isinstance(doc.get("manifests"), list) else OCI_MANIFEST
    if kind in DOCKER_SCHEMA1:
        raise ManifestProblem("uses the old Docker schema 1 format; push it again with a current tool")
    if kind not in (*INDEX_TYPES, *MANIFEST_TYPES):
        raise ManifestProblem(f"is not an image (its manifest is '{kind}')")
    return kind


def platform_of(descriptor: dict[str, Any]) -> str:
    platform = descriptor.get("platform")
    if not isinstance(platform, dict):
        return "unknown/unknown"
    parts = [str(platform.get("os", "unknown")), str(platform.get("architecture", "unknown"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def index_platforms(index: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(platform, descriptor) of every image in an index, skipping attestations (unknown/unknown)."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise ManifestProblem("the image index has no manifests list")
    out = []
    for descriptor in manifests:
        if isinstance(descriptor, dict) and platform_of(descriptor) != "unknown/unknown":
            out.append((platform_of(descriptor), descriptor))
    return out


def choose_platform(index: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The descriptor for *wanted* (`os/arch` matches any variant, `os/arch/variant` only that one)."""
    entries = index_platforms(index)
    for platform, descriptor in entries:
        if platform == wanted or (platform.rsplit("/", 1)[0] == wanted and platform.count("/") == 2):
            return descriptor
    available = ", ".join(sorted({p for p, _ in entries})) or "none"
    raise ManifestProblem(f"has no {wanted} image (it has: {available}); choose one with --platform")


def descriptor(doc: dict[str, Any], what: str) -> tuple[str, int]:
    """(digest, size) of a descriptor, checked: digests are what we verify content against."""
    digest, size = doc.get("digest"), doc.get("size")
    if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
        raise ManifestProblem(f"the {what} has no sha256 digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestProblem(f"the {what} has no size")
    return digest, size


def layer_sizes(manifest: dict[str, Any]) -> list[int]:
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ManifestProblem("the manifest has no layers list")
    return [descriptor(layer, "layer")[1] if isinstance(layer, dict) else 0 for layer in layers]


def image_info(
    config_doc: dict[str, Any],
    *,
    reference: str,
    digest: str,
    manifest_digest: str,
    media_type: str,
    platforms: list[str],
    sizes: list[int],
) -> ImageInfo:
    """Read the image config (the `config` object inside the config blob)."""
    config = config_doc.get("config") or {}
    if not isinstance(config, dict):
        raise ManifestProblem("the image config's 'config' is not an object")
    platform = f"{config_doc.get('os', 'unknown')}/{config_doc.get('architecture', 'unknown')}"
    if config_doc.get("variant"):
        platform += f"/{config_doc['variant']}"
    user = _text(config.get("User"))
    return ImageInfo(
        reference=reference,
        digest=digest,
        platform=platform,
        manifest_digest=manifest_digest,
        media_type=media_type,
        platforms=platforms,
        ports=sorted(_mapping(config.get("ExposedPorts")), key=_port_key),
        user=user,
        root=is_root(user),
        env=_env(config.get("Env")),
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        workdir=_text(config.get("WorkingDir")) or None,
        volumes=sorted(str(path) for path in _mapping(config.get("Volumes"))),
        healthcheck=_healthcheck(config.get("Healthcheck")),
        labels={k: _text(v) for k, v in sorted(_mapping(config.get("Labels")).items())},
        compressed_size=sum(sizes),
        layers=len(sizes),
    )


def writable_folders(info: ImageInfo) -> list[str]:
    """What `writable:` should list for this image: the folders it declares as volumes (it
    writes there; /tmp is writable already). Its working directory is not one: it usually holds
    the app itself, which an empty folder in its place would hide."""
    tidy = ("/" + "/".join(p for p in path.split("/") if p not in ("", ".")) for path in info.volumes)
    return sorted({path for path in tidy if path != "/" and path != "/tmp" and not path.startswith("/tmp/")})


def is_root(user: str) -> bool:
    """No user, `root` or uid 0 (with any group) all mean the image runs as root."""
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _mapping(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [_text(v) for v in value]


def _env(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value if isinstance(value, list) else []:
        name, _, val = _text(item).partition("=")
        if name:
            out[name] = val
    return out


def _port_key(port: str) -> tuple[int, str]:
    number, _, proto = port.partition("/")
    return (whole_number(number) or 0, proto)


def _healthcheck(value: Any) -> Healthcheck | None:
    if not isinstance(value, dict):
        return None
    test = _strings(value.get("Test")) or []
    if not test or test == ["NONE"]:
        return None

    def seconds(key: str) -> float | None:
        raw = value.get(key)
        return raw / NANOSECONDS if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None

    retries = value.get("Retries")
    return Healthcheck(
        test=test,
        interval_s=seconds("Interval"),
        timeout_s=seconds("Timeout"),
        retries=retries if isinstance(retries, int) and not isinstance(retries, bool) else None,
        start_period_s=seconds("StartPeriod"),
    )


def info_json(info: ImageInfo) -> dict[str, Any]:
    data = asdict(info)
    data["user"] = {"name": info.user or "root", "root": info.root}
    del data["root"]
    return data


def human_size(size: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def info_text(info: ImageInfo) -> str:
    rows: list[tuple[str, str]] = [("digest", info.digest)]
    if info.platforms:
        rows.append(("platform", f"{info.platform} (the image has {', '.join(info.platforms)})"))
        rows.append(("manifest", info.manifest_digest))
    else:
        rows.append(("platform", info.platform))
    rows.append(("ports", ", ".join(info.ports) or "none exposed"))
    user = info.user or "root (none set)"
    rows.append(("user", f"{user}{' (root)' if info.root and info.user else ''}"))
    rows.append(("entrypoint", json.dumps(info.entrypoint) if info.entrypoint else "none"))
    rows.append(("command", json.dumps(info.cmd) if info.cmd else "none"))
    if info.workdir:
        rows.append(("workdir", info.workdir))
    if info.volumes:
        rows.append(("volumes", ", ".join(info.volumes)))
    folders = writable_folders(info)
    rows.append(("healthcheck", _health_text(info.healthcheck)))
    rows += [("env", f"{k}={v}") for k, v in info.env.items()] or [("env", "none")]
    rows += [("label", f"{k}={v}") for k, v in info.labels.items()]
    layers = f"{info.layers} layer{'s' * (info.layers != 1)}"
    rows.append(("size", f"{human_size(info.compressed_size)} compressed ({layers})"))
    lines = [info.reference] + [f"  {key:<12} {value}" for key, value in rows]
    if folders:
        lines.append(
            f"  note: it writes to {', '.join(folders)}; give the app writable: [{', '.join(folders)}]"
        )
    if info.root:
        lines.append(f"  note: {root_note()}")
    return "\n".join(lines) + "\n"


def root_note() -> str:
    """What running a root image under Unhazzle means, with the cluster's own user id."""
    uid = cluster_settings().run_as_user
    return (
        f"the image runs as root; Unhazzle runs every app as an unprivileged user (uid {uid}) with a "
        "read-only filesystem instead, so the app must not need root (ports below 1024, changing "
        "file owners); the folders it writes to besides /tmp go under writable:"
    )


def _health_text(check: Healthcheck | None) -> str:
    if check is None:
        return "none"
    kind, *rest = check.test
    command = (
        " ".join(rest) if kind == "CMD-SHELL" else json.dumps(rest) if kind == "CMD" else " ".join(check.test)
    )
    timing = [
        f"every {check.interval_s:g} s" if check.interval_s else "",
        f"{check.retries} retries" if check.retries else "",
    ]
    extra = ", ".join(t for t in timing if t)
    return f"{command} ({extra})" if extra else command
