"""A path the file system refuses (a name longer than it allows, a path longer than it
allows, a path through a file) is bad input wherever a command takes a path, and so is the home
folder of a user this machine does not have where a repository's path may start with ~: exit
code 2, one line naming it, nothing written, never an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import MINIMAL

HOSTILE = {
    "name too long": "/tmp/" + "n" * 300,
    "path too long": "/tmp/" + "d/" * 2100 + "x",
    "through a file": "{spec}/x",
}
NO_SUCH_USER = "~nosuchuser-of-unhazzle/x"
# Every command that takes a path, with {p} where the hostile one goes.
COMMANDS = {
    "validate": ["validate", "{p}"],
    "plan": ["plan", "{p}"],
    "render's spec": ["render", "{p}", "--out", "{tmp}/out"],
    "render's --out": ["render", "{spec}", "--out", "{p}"],
    "status's --spec": ["status", "--spec", "{p}"],
    "events' --spec": ["events", "--spec", "{p}"],
    "metrics' --spec": ["metrics", "--spec", "{p}"],
    "init's spec": [
        "init",
        "{p}",
        "--yes",
        "--project",
        "p",
        "--app",
        "a",
        "--image",
        "nginx:1",
        "--no-inspect",
    ],
    "secrets keygen's --out": ["secrets", "keygen", "--spec", "{spec}", "--out", "{p}"],
    "publish's --to": ["publish", "{spec}", "--to", "{p}"],
    "history's --repo": ["history", "--spec", "{spec}", "--repo", "{p}"],
    "rollback's --repo": ["rollback", "--spec", "{spec}", "--repo", "{p}"],
    "preview-env list's --to": ["preview-env", "list", "--spec", "{spec}", "--to", "{p}"],
    "preview-env prune's --to": ["preview-env", "prune", "--spec", "{spec}", "--to", "{p}"],
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_path_the_file_system_refuses_is_bad_input(cli, tmp_path, monkeypatch, command, kind):
    _refused(cli, tmp_path, monkeypatch, command, HOSTILE[kind])


@pytest.mark.parametrize("command", [c for c in COMMANDS if "--to" in c or "--repo" in c])
def test_a_repository_in_the_home_of_no_such_user_is_bad_input(cli, tmp_path, monkeypatch, command):
    _refused(cli, tmp_path, monkeypatch, command, NO_SUCH_USER)


def _refused(cli, tmp_path, monkeypatch, command, path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(MINIMAL, encoding="utf-8")
    hostile = path.format(spec=spec)
    argv = [a.format(p=hostile, spec=spec, tmp=tmp_path) for a in COMMANDS[command]]
    before = _tree(tmp_path)
    result = cli(*argv)
    assert result.code == 2, result.err
    assert "internal error" not in result.err
    assert result.err.count("\n") <= 2 and result.err.strip()
    assert spec.read_text(encoding="utf-8") == MINIMAL
    assert _tree(tmp_path) - before <= {"cache"}  # the publish cache at most


def test_dev_cannot_watch_a_spec_whose_folder_is_missing(cli, tmp_path):
    result = cli("dev", str(tmp_path / "missing" / "unhazzle.yaml"))
    assert result.code == 2
    assert f"{tmp_path / 'missing'} is not a folder" in result.err


def _tree(root: Path) -> set[str]:
    return {str(Path(d).relative_to(root) / f).split(os.sep)[0] for d, _, fs in os.walk(root) for f in fs} | {
        str(Path(d).relative_to(root)).split(os.sep)[0] for d, _, _ in os.walk(root) if Path(d) != root
    }
