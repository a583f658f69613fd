"""The CI examples and the pre-commit hook: valid YAML, one sticky comment, the real commands."""

from __future__ import annotations

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
