"""`unhazzle reconcile` as a user runs it: what it does with a wrong repo, branch, flag or file.

None of these needs a cluster: bad input is found before the first request, so the kubeconfig
points at a port where nothing listens (a request would fail with exit code 1, not 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.envrepo import EnvRepo, shop_files

RunCli = Callable[..., Any]
pytestmark = pytest.mark.timeout(60)  # a regression would wait for a repo forever


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """A kubeconfig for a cluster that does not answer."""
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        "users": [{"name": "x", "user": {}}],
    }))  # fmt: skip
    return path


def reconcile(cli: RunCli, tmp_path: Path, nowhere: Path, *args: str) -> Any:
    return cli("reconcile", "--kubeconfig", str(nowhere), "--cache-dir", str(tmp_path / "cache"), *args)


def bad_input(result: Any, *words: str) -> None:
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    for word in words:
        assert word in result.err, result.err


def test_reconcile_missing_repo_path_is_bad_input(cli: RunCli, tmp_path: Path, nowhere: Path) -> None:
    missing = tmp_path / "no-such-repo"
    for mode in (["--once"], ["--dry-run"], []):  # the loop too: a path does not appear by waiting
        result = reconcile(cli, tmp_path, nowhere, "--repo", str(missing), *mode)
        bad_input(result, f"{missing}: no such environment repo")


def test_reconcile_folder_that_is_not_a_git_repo_is_bad_input(
    cli: RunCli, tmp_path: Path, nowhere: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    result = reconcile(cli, tmp_path, nowhere, "--repo", str(folder), "--once")
    bad_input(result, f"{folder}: not a Git repo")
    assert "and the repository exists" not in result.err  # git's advice, cut mid-sentence


def test_reconcile_empty_repo_argument_is_bad_input(cli: RunCli, tmp_path: Path, nowhere: Path) -> None:
    bad_input(reconcile(cli, tmp_path, nowhere, "--repo", "", "--once"), "--repo: empty")


def test_reconcile_once_with_an_unknown_branch_is_bad_input(
    cli: RunCli, tmp_path: Path, nowhere: Path
) -> None:
    repo = EnvRepo(tmp_path / "env")
    repo.publish(shop_files(environments=["production"]))
    result = reconcile(cli, tmp_path, nowhere, "--repo", repo.url, "--branch", "mian", "--once")
    bad_input(result, "branch 'mian' does not exist", "main")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--interval", "nan"), ("--interval", "inf"), ("--interval", "0"), ("--timeout", "-1"),
     ("--timeout", "nan"), ("--lease-duration", "0"), ("--workers", "0")],
)  # fmt: skip
def test_reconcile_bad_numbers_name_their_flag(
    cli: RunCli, tmp_path: Path, nowhere: Path, flag: str, value: str
) -> None:
    result = reconcile(cli, tmp_path, nowhere, "--repo", str(tmp_path), flag, value)
    bad_input(result, f"{flag}: ")
    assert len(result.err.strip().splitlines()) == 1


def test_reconcile_missing_secrets_key_file_is_bad_input(cli: RunCli, tmp_path: Path, nowhere: Path) -> None:
    repo = EnvRepo(tmp_path / "env")
    repo.publish(shop_files(environments=["production"]))
    key = tmp_path / "missing.agekey"
    result = reconcile(cli, tmp_path, nowhere, "--repo", repo.url, "--once", "--secrets-key-file", str(key))
    bad_input(result, f"{key}: cannot read the secrets key")


def test_reconcile_bad_input_from_a_real_process_has_no_traceback(tmp_path: Path, nowhere: Path) -> None:
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", str(tmp_path / "nope"), "--once",
            "--kubeconfig", str(nowhere), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr

