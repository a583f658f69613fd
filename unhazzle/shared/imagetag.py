"""The tag an image reference is written with: what the warnings, the version label and the
summaries of a deploy read of it, parsed one way."""

from __future__ import annotations


def written_tag(image: str) -> str:
    """The tag of *image* before any digest, as written; "" when it names none (a registry's
    port, as in `localhost:5000/web`, is no tag)."""
    return image.partition("@")[0].rpartition("/")[2].partition(":")[2]
