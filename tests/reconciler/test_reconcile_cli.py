"""`unhazzle reconcile` as a user runs it: what it does with a wrong repo, branch, flag or file.

None of these needs a cluster: bad input is found before the first request, so the kubeconfig
points at a port where nothing listens (a request would fail with exit code 1, not 2)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.envrepo import EnvRepo, files, shop_files
from unhazzle.reconciler.source.git import GitSource, SourceError

RunCli = Callable[..., Any]
pytestmark = pytest.mark.timeout(60)  # a regression would wait for a repo forever


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
    bad_input(reconcile(cli, tmp_path, nowhere, "--repo", "", "--once"), "--repo: error: empty")


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
    bad_input(result, f"{key}: error: cannot read the secrets key")


def test_reconcile_bad_input_from_a_real_process_has_no_traceback(tmp_path: Path, nowhere: Path) -> None:
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", str(tmp_path / "nope"), "--once",
            "--kubeconfig", str(nowhere), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


BROKEN_CONNECTIONS = [
    ("missing", None, "no such file"),
    ("garbage", "{{{ not yaml", "not a cluster connection file"),
    ("a list", "[]", "not a cluster connection file"),
    ("empty", "", "not a cluster connection file"),
    ("clusters not a list", "clusters: 5\n", "not a cluster connection file"),
]


@pytest.mark.parametrize(
    ("case", "text", "reason"), BROKEN_CONNECTIONS, ids=[c[0] for c in BROKEN_CONNECTIONS]
)
@pytest.mark.parametrize("command", [["reconcile", "--repo", ".", "--once"], ["status", "--project", "shop"],
                                     ["events", "--project", "shop"], ["logs", "web", "--project", "shop"]])  # fmt: skip
def test_cluster_commands_explain_a_broken_connection_file(
    cli: RunCli, tmp_path: Path, command: list[str], case: str, text: str | None, reason: str
) -> None:
    path = tmp_path / "kubeconfig"
    if text is not None:
        path.write_text(text)
    result = cli(*command, "--kubeconfig", str(path))
    assert result.code == 1, result.err
    assert result.err.startswith(f"{path}: "), result.err
    assert reason in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "object" not in result.err and "indices" not in result.err  # no Python internals


@pytest.mark.parametrize("command", [["reconcile", "--repo", ".", "--once"], ["status", "--project", "shop"]])
def test_cluster_commands_without_any_connection_say_how_to_give_one(
    cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # not inside a cluster either
    result = cli(*command)
    assert result.code == 1, result.err
    assert "give --kubeconfig FILE or set KUBECONFIG" in result.err, result.err
    assert "Service host/port" not in result.err


def test_cluster_commands_name_an_unknown_context(cli: RunCli, tmp_path: Path, nowhere: Path) -> None:
    result = cli("reconcile", "--repo", ".", "--once", "--kubeconfig", str(nowhere), "--context", "prod")
    assert result.code == 1, result.err
    assert result.err.strip() == f"{nowhere}: cannot load cluster settings: no context named 'prod'; it has x"


@pytest.mark.parametrize(
    "command",
    [["status", "--project", "shop"], ["events", "--project", "shop"], ["logs", "web", "--project", "shop"],
     ["status", "--project", "shop", "--output", "json"]],
)  # fmt: skip
def test_cluster_commands_say_plainly_that_the_cluster_does_not_answer(
    cli: RunCli, nowhere: Path, command: list[str]
) -> None:
    result = cli(*command, "--kubeconfig", str(nowhere))
    assert result.code == 1, result.err
    assert "the cluster at http://127.0.0.1:9 does not answer (connection refused)" in result.err
    assert len(result.err.strip().splitlines()) == 1
    for inner in ("/api/", "namespaces", "pods", "Pool", "Errno", "Retry"):
        assert inner not in result.err, result.err  # the request's path and urllib3's wrappers


def test_reconcile_says_plainly_that_the_cluster_does_not_answer(
    cli: RunCli, tmp_path: Path, nowhere: Path
) -> None:
    repo = EnvRepo(tmp_path / "env")
    repo.publish(shop_files(environments=["staging"], edit=("secrets: [SESSION_KEY]", "secrets: []")))
    result = reconcile(cli, tmp_path, nowhere, "--repo", repo.url, "--once", "--timeout", "1")
    assert result.code == 1, result.err
    assert "the cluster at http://127.0.0.1:9 does not answer (connection refused)" in result.err
    assert "MaxRetryError" not in result.err and "API server" not in result.err


def test_reconcile_refused_folder_is_bad_input_listed_like_a_bad_spec(
    cli: RunCli, tmp_path: Path, nowhere: Path
) -> None:
    """A repo whose only environment is refused (nothing good to fall back on) is exit 2 too,
    and every reason is a plain FILE:LINE:COLUMN: error: line, not only inside the JSON log."""
    layout = shop_files(environments=["production"])
    layout["shop/production/notes.yaml"] = "not: [yaml\n"
    layout["shop/production/web.yaml"] += "---\nhello: world\n"
    repo = EnvRepo(tmp_path / "env")
    repo.publish(layout)
    result = reconcile(cli, tmp_path, nowhere, "--repo", repo.url, "--once", "--timeout", "1")
    assert result.code == 2, result.err
    plain = [line for line in result.err.splitlines() if not line.startswith("{")]
    assert any(line.startswith("shop/production/notes.yaml:2:1: error: not valid YAML") for line in plain), (
        plain
    )
    assert any(line.startswith("shop/production/web.yaml:") and "error: not a Kubernetes object" in line
               for line in plain), plain  # fmt: skip


def test_a_sigterm_ends_a_once_run_whose_cluster_is_gone_within_its_grace_period(
    tmp_path: Path, nowhere: Path
) -> None:
    """Stopped while its API server is gone (connections refused), a run does not wait out every
    environment's status write (each gives up only after its retries): the first the server does
    not answer ends the report, and the log names the environments whose status was not written."""
    repo = EnvRepo(tmp_path / "env")
    repo.publish({path: text for i in range(8) for path, text in files(f"p{i}").items()})
    argv = [sys.executable, "-m", "unhazzle", "reconcile", "--repo", repo.url, "--once", "--no-leader-election",
            "--kubeconfig", str(nowhere), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:  # three environments tried (and failed): the pass is under way
        lines.append(line)
        if sum('"environment.reconciled"' in seen for seen in lines) == 3:
            break
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()  # (already gone, unless it outlived the wait)
    waited = time.monotonic() - asked
    events = [json.loads(line) for line in [*lines, *rest.splitlines()] if line.startswith("{")]
    # Without the stop: the environment under way, then two failed requests for each of the four
    # reported, about 25 s; Kubernetes' grace period is 30 s.
    assert waited < 20, (waited, rest)
    assert proc.returncode == 1
    assert sum(e["event"] == "status.write_failed" for e in events) == 1, rest
    given_up = [e for e in events if e["event"] == "status.not_reported"]
    tried = [e["environment"] for e in events if e["event"] == "environment.reconciled"]
    assert [e["environments"] for e in given_up] == [tried[1:]], rest


@pytest.mark.parametrize("url", ["git://127.0.0.1:1/env.git", "ssh://git@127.0.0.1:1/env.git"])
def test_git_trouble_keeps_gits_own_reason(tmp_path: Path, url: str) -> None:
    """Git puts the cause on the line after `fatal: unable to connect to HOST:`, or a transport's
    line before `fatal: Could not read from remote repository.`: both are kept."""
    with pytest.raises(SourceError) as caught:
        GitSource(url, "main", tmp_path / "cache").remote_tip()
    assert "Connection refused" in str(caught.value), str(caught.value)
