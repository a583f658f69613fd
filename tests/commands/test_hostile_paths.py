"""A path the file system refuses (a name longer than it allows, a path longer than it
allows, a path through a file) is bad input wherever a command takes a path, and so is the home
folder of a user this machine does not have where a repository's path may start with ~: exit
code 2, one line naming it, nothing written, never an internal error."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINIMAL

HOSTILE = {
    "name too long": "/tmp/" + "n" * 300,
    "path too long": "/tmp/" + "d/" * 2100 + "x",
    "through a file": "{spec}/x",
    "a symlink loop": "{tmp}/loop",
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
    "publish's spec": ["publish", "{p}", "--to", "{tmp}/env.git"],
    "history's --repo": ["history", "--spec", "{spec}", "--repo", "{p}"],
    "rollback's --repo": ["rollback", "--spec", "{spec}", "--repo", "{p}"],
    "preview-env list's --to": ["preview-env", "list", "--spec", "{spec}", "--to", "{p}"],
    "preview-env prune's --to": ["preview-env", "prune", "--spec", "{spec}", "--to", "{p}"],
    "preview-env down's --to": ["preview-env", "down", "--project", "shop", "--name", "x", "--to", "{p}"],
    "dev's spec": ["dev", "{p}"],  # refused before it watches anything
}


@pytest.mark.timeout(60)  # dev would watch for ever if it took such a path
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
    (tmp_path / "loop").symlink_to(tmp_path / "loop-back")
    (tmp_path / "loop-back").symlink_to(tmp_path / "loop")
    hostile = path.format(spec=spec, tmp=tmp_path)
    argv = [a.format(p=hostile, spec=spec, tmp=tmp_path) for a in COMMANDS[command]]
    before = _tree(tmp_path)
    result = cli(*argv)
    assert result.code == 2, result.err
    assert "internal error" not in result.err
    assert result.err.count("\n") == 1
    assert spec.read_text(encoding="utf-8") == MINIMAL
    assert _tree(tmp_path) - before <= {"cache"}  # the publish cache at most


@pytest.mark.timeout(60)
def test_dev_cannot_watch_a_spec_whose_folder_is_missing(cli, tmp_path):
    result = cli("dev", str(tmp_path / "missing" / "unhazzle.yaml"))
    assert result.code == 2
    assert f"{tmp_path / 'missing'} is not a folder" in result.err


def _tree(root: Path) -> set[str]:
    return {str(Path(d).relative_to(root) / f).split(os.sep)[0] for d, _, fs in os.walk(root) for f in fs} | {
        str(Path(d).relative_to(root)).split(os.sep)[0] for d, _, _ in os.walk(root) if Path(d) != root
    }


ENDLESS = {
    "validate": (["validate", "{dev}"], 2),
    "publish": (["publish", "{dev}", "--to", "{tmp}/env.git"], 2),
    "env import": (["env", "import", "{dev}", "--app", "web", "--env", "production"], 2),
    "secrets rekey --identity": (["secrets", "rekey", "--env", "production", "--identity", "{dev}"], 2),
    "reconcile --webhook-secret-file": (
        ["reconcile", "--repo", "{tmp}", "--once", "--webhook", "http://x", "--webhook-secret-file", "{dev}"],
        2,
    ),
    "status --kubeconfig": (["status", "--kubeconfig", "{dev}"], 1),  # the cluster connection: exit 1
    "a kubeconfig's tokenFile": (["status", "--project", "shop", "--kubeconfig", "{tmp}/kubeconfig"], 1),
    "install-manifests --trusted-signers": (["install-manifests", "--trusted-signers", "{dev}"], 2),
    "install-manifests --trusted-gpg-keys": (["install-manifests", "--trusted-gpg-keys", "{dev}"], 2),
}
KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: x
clusters: [{{name: x, cluster: {{server: "http://127.0.0.1:9"}}}}]
contexts: [{{name: x, context: {{cluster: x, user: x}}}}]
users: [{{name: x, user: {{tokenFile: {dev}}}}}]
"""


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ENDLESS)
def test_a_file_that_never_ends_is_refused_not_read_for_ever(tmp_path, command, device):
    """/dev/zero as the spec, a settings file, a key: refused at a ceiling, in a process whose
    memory is capped (reading it whole would fail this test, not the machine)."""
    (tmp_path / "unhazzle.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "kubeconfig").write_text(KUBECONFIG.format(dev=device), encoding="utf-8")
    argv, code = ENDLESS[command]
    argv = [a.format(dev=device, tmp=tmp_path) for a in argv]

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    done = subprocess.run(
        [sys.executable, "-m", "unhazzle", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=capped,
        env={**os.environ, "UNHAZZLE_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == code, done.stderr
    assert device in done.stderr and "larger than" in done.stderr
    assert "internal error" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("action", ["down", "kubeconfig"])
def test_a_local_cluster_state_folder_in_a_symlink_loop_is_bad_input(cli, tmp_path, action):
    (tmp_path / "loop").symlink_to(tmp_path / "loop-back")
    (tmp_path / "loop-back").symlink_to(tmp_path / "loop")
    result = cli("dev-cluster", "--state-dir", str(tmp_path / "loop"), action)
    assert (
        result.code == 2
        and result.err.strip() == f"{tmp_path / 'loop'}: Symlink loop from '{tmp_path / 'loop'}'"
    )
