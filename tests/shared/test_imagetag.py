"""The tag an image reference is written with, read one way everywhere."""

from __future__ import annotations

import pytest

from unhazzle.shared.imagetag import written_tag


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("redis", ""),
        ("redis:7.2", "7.2"),
        ("ghcr.io/acme/web:latest", "latest"),
        ("localhost:5000/acme/web", ""),  # a registry's port is no tag
        ("localhost:5000/acme/web:1.0@sha256:" + "a" * 64, "1.0"),
        ("ghcr.io/acme/web@sha256:" + "b" * 64, ""),
    ],
)
def test_the_tag_is_the_last_parts_after_its_colon_before_any_digest(image: str, tag: str) -> None:
    assert written_tag(image) == tag
