"""The render path stays light: it never imports the Kubernetes client, GitPython or the
encryption library, which would cost more start-up time than the whole render of a small project
(issue 2), and runs no pydantic plugin that happens to be installed."""

from __future__ import annotations

import json
import os
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


def _plant_pydantic_plugin(folder: Path) -> Path:
    """An installed package registering a pydantic plugin that leaves a mark when loaded."""
    marker = folder / "plugin-loaded"
    (folder / "spy_plugin.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "class Spy:\n"
        "    def new_schema_validator(self, *args, **kwargs):\n"
        "        return None, None, None\n"
        "plugin = Spy()\n"
    )
    dist = folder / "spy_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")
    return marker


def test_cli_runs_no_pydantic_plugin_installed_next_to_it(tmp_path: Path):
    marker = _plant_pydantic_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    model = "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int\n"
    subprocess.run([sys.executable, "-c", model], env=env, cwd=ROOT, check=True)
    assert marker.exists()  # the plant works: any pydantic program loads it
    marker.unlink()
    spec = str(EXAMPLES / "shop" / "unhazzle.yaml")
    subprocess.run([sys.executable, "-m", "unhazzle", "validate", spec], env=env, cwd=ROOT, check=True)
    assert not marker.exists()
