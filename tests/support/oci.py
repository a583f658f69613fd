"""Test images built by hand as OCI image layouts: tiny gzipped layers, a config and a manifest per
platform, written into blobs/sha256/ the way the OCI image-layout spec describes, ready for
`skopeo copy oci:DIR:NAME docker://...`."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Image:
    """One platform's image config: the fields `unhazzle inspect` reads."""

    ports: list[str] = field(default_factory=list)
    user: str = ""
    env: dict[str, str] = field(default_factory=lambda: {"PATH": "/usr/local/bin:/usr/bin:/bin"})
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None
    volumes: list[str] = field(default_factory=list)  # VOLUME: folders it writes to
    workdir: str = ""
    architecture: str = "amd64"
    content: bytes = b"hello\n"  # the one file in the one layer; differs per image so digests do

    def config(self, diff_id: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "Env": [f"{k}={v}" for k, v in self.env.items()],
            "ExposedPorts": {port: {} for port in self.ports},
            "User": self.user,
            "Labels": self.labels,
        }
        if self.volumes:
            config["Volumes"] = {path: {} for path in self.volumes}
        if self.workdir:
            config["WorkingDir"] = self.workdir
        for key, value in (
            ("Entrypoint", self.entrypoint),
            ("Cmd", self.cmd),
            ("Healthcheck", self.healthcheck),
        ):
            if value is not None:
                config[key] = value
        return {
            "architecture": self.architecture,
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }


class Layout:
    """An OCI image layout in a folder; add images and indexes by name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.refs: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def manifest(self, image: Image) -> dict[str, Any]:
        tar = _tar(image.content)
        layer = self.blob(gzip.compress(tar, mtime=0), OCI_LAYER)
        config = self.blob(_json(image.config("sha256:" + hashlib.sha256(tar).hexdigest())), OCI_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        desc = self.blob(_json(manifest), OCI_MANIFEST)
        desc["platform"] = {"architecture": image.architecture, "os": "linux"}
        return desc

    def add(self, name: str, *images: Image) -> str:
        """One image, or an index of several when given more than one; returns its digest."""
        descriptors = [self.manifest(image) for image in images]
        if len(descriptors) == 1:
            desc = {k: v for k, v in descriptors[0].items() if k != "platform"}
        else:
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
            desc = self.blob(_json(index), OCI_INDEX)
        self.refs.append({**desc, "annotations": {"org.opencontainers.image.ref.name": name}})
        top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}
        (self.root / "index.json").write_bytes(_json(top))
        return str(desc["digest"])


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _tar(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
