"""Where a published spec came from, read from the checkout it sits in (plain `git`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gitrepos import git
from unhazzle.compiler.publishing.publish import source_of


def _checkout(root: Path, *, commit: bool = True) -> Path:
    (root / "deploy").mkdir(parents=True)
    spec = root / "deploy" / "unhazzle.yaml"
    spec.write_text("version: 1\n")
    git("init", "--quiet", "--initial-branch=main", str(root))
    if commit:
        git("add", "-A", cwd=root)
        git("commit", "--quiet", "-m", "  First line\nsecond line\n\nbody", cwd=root)
    return spec


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "CI_COMMIT_SHA", "CI_PROJECT_URL", "CI_COMMIT_TITLE"):
        monkeypatch.delenv(name, raising=False)


def test_publish_source_prefers_origin_then_the_first_remote(tmp_path: Path):
    spec = _checkout(tmp_path / "c")
    git("remote", "add", "fork", "https://git.example.com/me/shop.git", cwd=tmp_path / "c")
    found = source_of(spec, spec_bytes=b"")
    assert found.repo == "https://git.example.com/me/shop.git"
    assert found.commit == git("rev-parse", "HEAD", cwd=tmp_path / "c").strip()
    assert found.message == "First line"
    git("remote", "add", "origin", "https://u:secret@git.example.com/acme/shop.git", cwd=tmp_path / "c")
    assert source_of(spec, spec_bytes=b"").repo == "https://git.example.com/acme/shop.git"


def test_publish_source_without_remotes_is_the_checkout_folder(tmp_path: Path):
    spec = _checkout(tmp_path / "c")
    assert source_of(spec, spec_bytes=b"").repo == str((tmp_path / "c").resolve())


def test_publish_source_before_the_first_commit_or_outside_git_is_unknown(tmp_path: Path):
    spec = _checkout(tmp_path / "c", commit=False)
    found = source_of(spec, spec_bytes=b"x")
    assert (found.repo, found.commit, found.message) == ("", "", "")
    outside = tmp_path / "plain" / "unhazzle.yaml"
    outside.parent.mkdir()
    assert source_of(outside, spec_bytes=b"x").commit == ""


def test_publish_source_with_bytes_that_are_not_utf8_says_them_as_u_fffd(tmp_path: Path):
    """An argument or CI variable as the system hands it over (surrogates) is not a crash."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text("x")
    source = source_of(spec, spec_bytes=b"x", overrides={"message": "bad \udcff title", "repo": "r\udce9"})
    assert (source.message, source.repo) == ("bad \ufffd title", "r\ufffd")
