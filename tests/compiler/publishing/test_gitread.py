"""Reading the spec and its secrets folder as they were at a Git revision (the preview's base),
with plain `git`, never touching the working tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.gitrepos import git
from unhazzle.compiler.publishing.gitread import read_at_ref
from unhazzle.errors import UsageError


def _repo(root: Path, files: dict[str, bytes], *, object_format: str = "sha1") -> Path:
    git("init", "--quiet", f"--object-format={object_format}", "--initial-branch=main", str(root))
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    git("add", "-A", cwd=root)
    git("commit", "--quiet", "-m", "base", cwd=root)
    return root


FILES = {
    "deploy/unhazzle.yaml": b"version: 1\n",
    "deploy/unhazzle.secrets/production.yaml": b"apps: {}\n",
    "deploy/unhazzle.secrets/odd name é.yaml": b"\x00binary\nbytes",
    "deploy/unhazzle.secrets/nested/deeper.yaml": b"not beside\n",
}


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_gitread_spec_and_folder_at_ref(tmp_path: Path, object_format: str):
    root = _repo(tmp_path / "r", FILES, object_format=object_format)
    os.symlink("production.yaml", root / "deploy/unhazzle.secrets/link.yaml")
    git("add", "-A", cwd=root)
    git("commit", "--quiet", "-m", "link", cwd=root)
    (root / "deploy/unhazzle.yaml").write_bytes(b"version: 2\n")  # the working tree differs
    at = read_at_ref(root / "deploy/unhazzle.yaml", "main", folder="unhazzle.secrets")
    assert (at.ref, at.path, at.data) == ("main", "deploy/unhazzle.yaml", b"version: 1\n")
    assert at.beside == {
        "production.yaml": b"apps: {}\n",
        "odd name é.yaml": b"\x00binary\nbytes",
        "link.yaml": b"production.yaml",  # a link's target, as Git stores it
    }
    earlier = read_at_ref(root / "deploy/unhazzle.yaml", "HEAD~1", folder="unhazzle.secrets")
    assert "link.yaml" not in earlier.beside


def test_gitread_spec_absent_or_a_folder_at_ref_is_none(tmp_path: Path):
    root = _repo(tmp_path / "r", {"unhazzle.yaml/inside": b"x", "other": b"y"})
    (root / "b").mkdir()
    assert read_at_ref(root / "unhazzle.yaml", "main").data is None
    assert read_at_ref(root / "b" / "unhazzle.yaml", "main", folder="s").data is None


def test_gitread_tag_and_commit_id_work_as_base(tmp_path: Path):
    root = _repo(tmp_path / "r", {"unhazzle.yaml": b"a\n"})
    git("tag", "-a", "-m", "v1", "v1", cwd=root)
    commit = git("rev-parse", "HEAD", cwd=root).strip()
    for ref in ("v1", commit, commit[:10], "HEAD"):
        assert read_at_ref(root / "unhazzle.yaml", ref).data == b"a\n"


@pytest.mark.parametrize(
    "ref", ["no-such", "main:unhazzle.yaml", "main\nHEAD", "", "--output=x", "main^{tree}", "HEAD~5"]
)
def test_gitread_bad_base_is_a_usage_error(tmp_path: Path, ref: str):
    root = _repo(tmp_path / "r", {"unhazzle.yaml": b"a\n"})
    with pytest.raises(UsageError, match="no commit, branch or tag by that name"):
        read_at_ref(root / "unhazzle.yaml", ref)


def test_gitread_outside_a_repository_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="is not inside a Git repository"):
        read_at_ref(tmp_path / "unhazzle.yaml", "main")
