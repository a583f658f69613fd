"""What the manifests derive from an app's image besides the image itself: the pull policy, the
version label and the release step's name. One place for them, because publishing replays them
(publishing/replay.py) without importing the renderer."""

from __future__ import annotations

import hashlib
import re

from unhazzle.shared.imagetag import written_tag

_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]+")
RELEASE_DIGEST = 10  # hex digits of a release step's name digest


def pull_policy(image: str) -> str:
    """A tag can be pushed again, so it is pulled on every start and what runs after a restart is
    what the tag names now; a digest names one image for ever, so a local copy will do."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def image_version(image: str) -> str:
    """The image's tag, or the first 12 hex digits of its digest, as a label value (no ':')."""
    if "@sha256:" in image:
        return image.split("@sha256:", 1)[1][:12]
    tag = written_tag(image) or "latest"
    return _LABEL_VALUE.sub("-", tag)[:63].strip("-._") or "latest"


def release_digest(preimage: str) -> str:
    """The digest in a release step's name, of everything the step runs with (the text
    rendering._release_fields writes, which holds the image)."""
    return hashlib.sha256(preimage.encode()).hexdigest()[:RELEASE_DIGEST]
