"""An image named by no version is a warning: what runs is then not said in any file, and can
differ from one instance to the next (policy checkers call it critical)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MINIMAL


@pytest.mark.parametrize(
    ("image", "named"),
    [
        ("redis", "names no version"),
        ("redis:latest", "names no version, only 'latest'"),
        ("localhost:5000/acme/web", "names no version"),  # (a registry's port is no tag)
    ],
)
def test_an_app_or_job_image_of_no_version_is_warned_about_with_the_fix(cli, write_spec, image, named):
    text = MINIMAL.replace("ghcr.io/acme/web:1.0", image).replace(
        "port: 8080", "port: 8080\n    release: {command: [x]}"
    )
    text += f"jobs:\n  nightly: {{image: '{image}', schedule: '@daily', command: [x]}}\n"
    data = json.loads(cli("plan", str(write_spec(text)), "--output", "json").out)
    base = image.removesuffix(":latest")
    fix = f"give it a version ({base}:1.2.3), or pin what it names now with --pin-digests"
    assert [(w["app"], w["message"]) for w in data["warnings"]] == [
        ("web", f"image '{image}' {named}: instances started at different times can run different "
         f"images, and its release step does not run again when it changes; {fix}"),
        ("nightly", f"image '{image}' {named}: each run starts whatever it is then; {fix}"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "image",
    [
        "redis:7.2",
        "localhost:5000/acme/web:1.0",
        "redis@sha256:" + "a" * 64,
        "redis:latest@sha256:" + "b" * 64,
    ],
)
def test_an_image_named_by_version_or_digest_is_not(cli, write_spec, image):
    result = cli("validate", str(write_spec(MINIMAL.replace("ghcr.io/acme/web:1.0", image))))
    assert result.code == 0 and "warning" not in result.out + result.err, result.err
