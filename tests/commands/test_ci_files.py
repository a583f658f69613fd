"""The CI examples and the pre-commit hook: valid YAML, one sticky comment, the real commands."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT
from unhazzle.compiler.presentation.preview import MARKER


def _load(name: str):
    return YAML(typ="safe").load((ROOT / name).read_text(encoding="utf-8"))


def test_ci_github_workflow_updates_one_sticky_comment():
    flow = _load("examples/ci/github-actions-preview.yml")
    steps = flow["jobs"]["preview"]["steps"]
    run = next(s["run"] for s in steps if "unhazzle preview" in s.get("run", ""))
    assert "--base" in run
    script = next(s["with"]["script"] for s in steps if "github-script" in s.get("uses", ""))
    assert MARKER in script and "updateComment" in script and "createComment" in script
    assert flow["permissions"]["pull-requests"] == "write"


def test_ci_gitlab_job_updates_one_sticky_note():
    job = _load("examples/ci/gitlab-ci-preview.yml")["unhazzle-preview"]
    script = "\n".join(job["script"])
    assert "unhazzle preview" in script and MARKER in script
    assert "--request PUT" in script and "--request POST" in script


def test_ci_pre_commit_hook_runs_validate():
    [hook] = _load(".pre-commit-hooks.yaml")
    assert hook["id"] == "unhazzle-validate" and hook["entry"] == "unhazzle validate"
    assert hook["files"] == r"(^|/)unhazzle\.ya?ml$"


CI_FILES = sorted((ROOT / "examples" / "ci").glob("*.yml"))


@pytest.mark.parametrize("path", CI_FILES, ids=lambda p: p.name)
def test_ci_examples_are_valid_for_their_ci_system(path: Path) -> None:
    """Against GitHub's and GitLab's own schemas (vendored by check-jsonschema: no network)."""
    schema = "vendor.gitlab-ci" if "gitlab" in path.name else "vendor.github-workflows"
    checked = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _commands(text: str) -> list[list[str]]:
    """Each `unhazzle ...` command line of a CI file, its shell variables as placeholders."""
    found = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.strip().removeprefix("- ").removeprefix("run: ").strip()
        if not line.startswith("unhazzle "):
            continue
        line = re.split(r"\s(?:>|\|\|)\s", line)[0]
        line = re.sub(r"\$\{\{[^}]*\}\}|\$\{?\w+\}?", "x", line)
        found.append(shlex.split(line)[1:])
    return found


@pytest.mark.parametrize("path", [p for p in CI_FILES if "preview-env" in p.name], ids=lambda p: p.name)
def test_preview_environment_examples_run_up_down_and_prune_as_the_cli_takes_them(path: Path) -> None:
    from unhazzle.cli import build_parser
    from unhazzle.commands.flags import parse_all

    commands = _commands(path.read_text(encoding="utf-8"))
    verbs = [c[1] for c in commands if c[0] == "preview-env"]
    assert verbs == ["up", "down", "prune"], commands
    for command in commands:
        parse_all(build_parser(command[0]), command)  # exits 2 on an option the CLI does not have
    assert MARKER in path.read_text(encoding="utf-8")  # one sticky comment with the preview's


def test_github_preview_environment_triggers_on_open_push_close_and_a_schedule() -> None:
    flow = _load("examples/ci/github-actions-preview-env.yml")
    on = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as true
    assert set(on["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "closed"}
    assert on["schedule"] and set(flow["jobs"]) == {"up", "down", "prune"}
    assert "closed" in flow["jobs"]["down"]["if"] and "schedule" in flow["jobs"]["prune"]["if"]
