"""`unhazzle publish` over real network transports on loopback: the git daemon (git://) and
Git's smart HTTP with Basic auth; unreachable remotes, bad credentials and a remote that goes
away in the middle of a push all fail with exit 1, one clear line, and leave the remote as it was."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest

from tests.support.gitrepos import bare_repo, commit_count, git, publish_process, spec_text, tip, tree_files
from tests.support.gitservers import dropping_proxy, free_port, git_daemon, smart_http

SECRET = "pa55-w0rd-xyz"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")


@pytest.fixture
def served(tmp_path: Path) -> Path:
    base = tmp_path / "srv"
    base.mkdir()
    bare_repo(base / "env.git")
    return base


def test_publish_over_git_daemon(cli, served, write_spec):
    spec = write_spec(spec_text())
    with git_daemon(served) as (port, _):
        remote = f"git://127.0.0.1:{port}/env.git"
        first = cli("publish", str(spec), "--to", remote, "--output", "json")
        assert first.code == 0, first.err
        assert json.loads(first.out)["commit"] == tip(served / "env.git")
        write_spec(spec_text(instances=(3, 8)))
        second = cli("publish", str(spec), "--to", remote)
        assert second.code == 0, second.err
        assert "web 2-6 -> 3-8 instances" in second.out
        assert cli("publish", str(spec), "--to", remote).out.endswith(
            "nothing committed to 'main' of " + remote + "\n"
        )
    assert commit_count(served / "env.git") == 2


def test_publish_parallel_over_git_daemon(served, tmp_path):
    with git_daemon(served) as (port, _):
        procs = []
        for number, project in enumerate(["shop", "shop", "blog", "docs"]):
            spec = tmp_path / f"s{number}" / "unhazzle.yaml"
            spec.parent.mkdir()
            spec.write_text(spec_text(project=project, image=f"ghcr.io/acme/{project}:{number}"))
            procs.append(publish_process(spec, f"git://127.0.0.1:{port}/env.git", tmp_path / f"m{number}"))
        commits = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            commits.append(json.loads(out)["commit"])
    history = git("--git-dir", str(served / "env.git"), "rev-list", "main").split()
    assert sorted(commits) == sorted(history)
    assert {p.split("/")[0] for p in tree_files(served / "env.git")} == {"shop", "blog", "docs"}


def test_publish_remote_gone_mid_push_leaves_it_unchanged(cli, served, write_spec):
    spec = write_spec(spec_text())
    with git_daemon(served) as (port, daemon):
        assert cli("publish", str(spec), "--to", f"git://127.0.0.1:{port}/env.git").code == 0
        before = tip(served / "env.git")
        write_spec(spec_text(instances=(3, 8)))
        # the whole daemon (the `git` wrapper and the git-daemon it started) goes away
        with dropping_proxy(port, on_push=lambda: os.killpg(daemon.pid, signal.SIGKILL)) as proxy:
            result = cli("publish", str(spec), "--to", f"git://127.0.0.1:{proxy}/env.git")
        assert daemon.wait(timeout=10) is not None  # the daemon really went away during the push
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"git://127.0.0.1:{proxy}/env.git: push failed")
    assert tip(served / "env.git") == before


def test_publish_unreachable_remote_exits_1(cli, write_spec):
    result = cli("publish", str(write_spec(spec_text())), "--to", f"git://127.0.0.1:{free_port()}/env.git")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert "cannot fetch the environment repo" in result.err and "Traceback" not in result.err


def test_publish_over_smart_http_with_credentials(cli, served, write_spec, tmp_path):
    spec = write_spec(spec_text())
    with smart_http(served, f"ci:{SECRET}") as port:
        remote = f"http://ci:{SECRET}@127.0.0.1:{port}/env.git"
        result = cli("publish", str(spec), "--to", remote)
        assert result.code == 0, result.err
        assert SECRET not in result.out + result.err
        assert f"of http://127.0.0.1:{port}/env.git" in result.out, result.out
        dry = cli("publish", str(spec), "--to", remote, "--dry-run", "--output", "json")
        assert dry.code == 0, dry.err
        assert json.loads(dry.out)["repo"] == f"http://127.0.0.1:{port}/env.git"
    assert tree_files(served / "env.git")["shop/production/web.yaml"]
    for path in (tmp_path / "cache").rglob("*"):  # the password is never written to disk
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_publish_bad_credentials_fail_without_printing_them(cli, served, write_spec):
    spec = write_spec(spec_text())
    with smart_http(served, f"ci:{SECRET}") as port:
        result = cli("publish", str(spec), "--to", f"http://ci:wrong-{SECRET}@127.0.0.1:{port}/env.git")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert SECRET not in result.err + result.out
    assert "Authentication failed" in result.err
    assert tip(served / "env.git") is None


def test_publish_over_the_ssh_transport(cli, served, write_spec, tmp_path, monkeypatch):
    """Git's SSH transport end to end, with one stand-in: no sshd runs here, so GIT_SSH_COMMAND
    names a script that runs the command Git asks the far side to run, on this machine."""
    stand_in = tmp_path / "fake-ssh"
    stand_in.write_text('#!/bin/sh\nfor last; do :; done\nexec sh -c "$last"\n')
    stand_in.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(stand_in))
    spec = write_spec(spec_text())
    for remote in (f"git@envhost:{served}/env.git", f"ssh://git@envhost{served}/env.git"):
        write_spec(spec_text(image=f"ghcr.io/acme/web:{len(remote)}"))
        result = cli("publish", str(spec), "--to", remote)
        assert result.code == 0, result.err
        assert result.out.startswith("published ")
    assert commit_count(served / "env.git") == 2


def test_publish_silent_remote_times_out(cli, write_spec):
    """A server that accepts the connection and never answers: --timeout ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        result = cli(
            "publish",
            str(write_spec(spec_text())),
            "--to",
            f"git://127.0.0.1:{port}/env.git",
            "--timeout",
            "2",
        )
    assert result.code == 1
    where = f"git://127.0.0.1:{port}/env.git"
    assert (
        result.err.strip() == f"{where}: cannot fetch the environment repo: no answer within 2 s (--timeout)"
    )


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9"])
def test_publish_bad_timeout_exits_2(cli, write_spec, value):
    result = cli("publish", str(write_spec(spec_text())), "--to", "x.git", f"--timeout={value}")
    assert result.code == 2 and result.err.startswith("--timeout: ")
