"""The render path stays light: it never imports the Kubernetes client, GitPython or the
encryption library, which would cost more start-up time than the whole render of a small project
(issue 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

PROBE = """
import json, sys
from unhazzle.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("command", ["render", "validate", "plan"])
def test_render_path_imports_neither_kubernetes_nor_git_nor_age(command: str, tmp_path: Path):
    args = [str(EXAMPLES / "shop" / "unhazzle.yaml")]
    if command == "render":
        args += ["--out", str(tmp_path / "out")]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, command, *args], capture_output=True, text=True, cwd=ROOT, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    heavy = [
        m
        for m in report["modules"]
        if m.split(".")[0] in ("kubernetes", "git", "urllib3", "jsonschema", "pyrage", "httpx")
    ]
    assert heavy == []
