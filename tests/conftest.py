"""Shared test helpers: write specs, run the CLI in-process, build git repos in temp dirs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from unhazzle.cli import main

pytest_plugins = [
    "tests.support.registries",
    "tests.cluster.plugin",
    "tests.cluster.realnode",
]  # registry fixtures; the real control plane; the real machine's images and projects

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


def pytest_configure(config: pytest.Config) -> None:
    """The suite's caches (kept renders, compiled templates, copies of environment repos) in a
    folder of its own, set before collection imports anything: never the developer's, whose
    entries would let a test pass on what an earlier version left there. The control plane's
    binaries stay where they are (UNHAZZLE_K8S_CACHE, else the user's cache).

    Ctrl-C reaches the commands the tests start: a suite started in the background by a shell
    without job control (`cmd &` in a script, nohup) inherits SIGINT ignored, and every process
    it starts would too, so each test that stops a command with Ctrl-C would time out."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # children start with the default
    folder = tempfile.mkdtemp(prefix="unhazzle-test-cache-")
    before = os.environ.get("UNHAZZLE_CACHE_DIR")  # a developer's own setting: not for the suite
    os.environ["UNHAZZLE_CACHE_DIR"] = folder

    def restore() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        if before is None:
            os.environ.pop("UNHAZZLE_CACHE_DIR", None)
        else:
            os.environ["UNHAZZLE_CACHE_DIR"] = before

    config.add_cleanup(restore)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `unhazzle ARGS...` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse exits for --help and usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


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


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write a (dedented) unhazzle.yaml into a temp dir and return its path."""

    def write(text: str, name: str = "unhazzle.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


MINIMAL = """\
version: 1
project: shop
region: fsn1
environments:
  production: {}
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
"""
