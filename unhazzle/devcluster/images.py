"""Container images written by hand as OCI image layouts, for a machine that reaches no registry:
the local node's sandbox image and the tests' images. Layers are gzipped tars of the given files,
with a config and a manifest per platform, in blobs/sha256/ as the OCI image-layout spec lays
them out, ready for `skopeo copy oci:DIR:NAME docker://...` or `ctr images import`."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"  # uncompressed: a whole root filesystem
# containerd's `ctr images import` names an image after this annotation of its index entry.
CONTAINERD_NAME = "io.containerd.image.name"


@dataclass
class Image:
    """One platform's image: its config (the fields `unhazzle inspect` reads and a runtime uses)
    and the files of its one layer, path -> (content, mode)."""

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
    files: dict[str, tuple[bytes, int]] = field(default_factory=lambda: {"hello.txt": (b"hello\n", 0o644)})
    # Instead of `files`, a tar of a whole root filesystem made elsewhere, stored as it is.
    rootfs_tar: Path | None = None

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


def text_file(content: str | bytes) -> dict[str, tuple[bytes, int]]:
    """A layer of one small file, enough for an image that is only inspected, never run."""
    data = content.encode() if isinstance(content, str) else content
    return {"hello.txt": (data, 0o644)}


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

    def blob_file(self, path: Path, media_type: str) -> dict[str, Any]:
        """A large blob, hashed and moved in without reading it into memory."""
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        size = path.stat().st_size
        shutil.move(path, self.root / "blobs" / "sha256" / digest.hexdigest())
        return {"mediaType": media_type, "digest": f"sha256:{digest.hexdigest()}", "size": size}

    def manifest(self, image: Image) -> dict[str, Any]:
        if image.rootfs_tar is not None:
            layer = self.blob_file(image.rootfs_tar, OCI_LAYER_TAR)
            diff_id = layer["digest"]
        else:
            tar = layer_tar(image.files)
            layer = self.blob(gzip.compress(tar, mtime=0), OCI_LAYER)
            diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
        config = self.blob(_json(image.config(diff_id)), OCI_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        desc = self.blob(_json(manifest), OCI_MANIFEST)
        desc["platform"] = {"architecture": image.architecture, "os": "linux"}
        return desc

    def add(self, name: str, *images: Image, full_name: str = "") -> str:
        """One image, or an index of several when given more than one; returns its digest.
        `full_name` (registry/repository:tag) is what `ctr images import` calls it."""
        descriptors = [self.manifest(image) for image in images]
        if len(descriptors) == 1:
            desc = {k: v for k, v in descriptors[0].items() if k != "platform"}
        else:
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
            desc = self.blob(_json(index), OCI_INDEX)
        annotations = {"org.opencontainers.image.ref.name": name}
        if full_name:
            annotations[CONTAINERD_NAME] = full_name
        self.refs.append({**desc, "annotations": annotations})
        top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}
        (self.root / "index.json").write_bytes(_json(top))
        return str(desc["digest"])

    def archive(self, path: Path) -> Path:
        """The layout as one tar file (what `ctr images import` reads)."""
        with tarfile.open(path, "w") as tar:
            for item in sorted(self.root.rglob("*")):
                tar.add(item, arcname=str(item.relative_to(self.root)), recursive=False)
        return path


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A reproducible layer: the files (and their parent folders) owned by root, dated 0."""
    buffer = io.BytesIO()
    folders: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
            content, mode = files[path]
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mtime, info.mode = len(content), 0, mode
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
