"""`unhazzle preview-env up|down|list|prune` against a real Git repo: a preview is its own folder,
which publish leaves alone; the limits refuse in located words; down and prune remove only
previews, with the commit that allows the reconciler to remove them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import MINIMAL, Result
from unhazzle.shared import previewmark

RunCli = Callable[..., Result]

SPEC = (
    MINIMAL.replace("  production: {}\n", "  production: {}\n  staging: {}\n")
    + """\
    public: true
  api:
    image: ghcr.io/acme/api:1.0
    port: 9000
previews:
  from: staging
  apps: [web]
  ttl: 2d
  budget: {max_monthly_eur: 5}
  limits: {count: 2, max_monthly_eur: 4}
"""
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    bare = tmp_path / "env.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    return bare


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "unhazzle.yaml"
    path.parent.mkdir()
    path.write_text(SPEC, encoding="utf-8")
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def folders(repo: Path) -> list[str]:
    return sorted(set(git(repo, "ls-tree", "--name-only", "main", "shop/").split()))


def test_up_publishes_a_preview_of_its_own_and_prints_its_urls_and_cost(
    cli: RunCli, spec: Path, repo: Path
) -> None:
    assert cli("publish", str(spec), "--to", str(repo)).code == 0
    result = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["urls"] == ["https://web.shop-pr-7.unhazzle.app"]
    assert data["internal"] == {"web": "http://web.shop-pr-7.svc.cluster.local:8080"}
    assert data["reached_in_copied_environment"] == {"api": "http://api.shop-staging.svc.cluster.local:9000"}
    assert data["not_admitted_yet"] == []  # staging was published with `previews:`, which lets them in
    assert data["created"] is True  # (false, with the errors, when a limit refuses it)
    assert 0 < data["monthly_eur"]["max"] <= 5 and data["namespace"] == "shop-pr-7"
    assert folders(repo) == ["shop/pr-7", "shop/production", "shop/staging"]
    mark = previewmark.parse(git(repo, "show", "main:shop/pr-7/_preview.json"))
    assert mark.source == "staging" and mark.name == "pr-7"
    assert previewmark.when(mark.expires_at) - previewmark.when(mark.created_at) == timedelta(days=2)
    namespace = git(repo, "show", "main:shop/pr-7/_environment.yaml").replace('"', "")
    assert "unhazzle.io/badge: preview" in namespace and "unhazzle.io/preview-environment: true" in namespace
    assert git(repo, "log", "-1", "--format=%s", "main").startswith("Preview shop/pr-7: a copy of staging")

    # A publish of the spec leaves the preview alone (it is no environment of the spec).
    changed = SPEC.replace("web:1.0", "web:1.1")
    spec.write_text(changed, encoding="utf-8")
    assert cli("publish", str(spec), "--to", str(repo)).code == 0
    assert "shop/pr-7" in folders(repo) and "web:1.0" in git(repo, "show", "main:shop/pr-7/web.yaml")

    # A second push updates it, keeping the day it was made.
    again = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "json"
    )
    assert again.code == 0, again.err
    assert "web:1.1" in git(repo, "show", "main:shop/pr-7/web.yaml")
    assert previewmark.parse(git(repo, "show", "main:shop/pr-7/_preview.json")).created_at == mark.created_at


def test_up_before_the_copied_environment_lets_previews_in_says_so(
    cli: RunCli, spec: Path, repo: Path
) -> None:
    # staging published before the spec had `previews:`: its folder admits no preview yet
    spec.write_text(SPEC.split("previews:")[0], encoding="utf-8")
    assert cli("publish", str(spec), "--to", str(repo)).code == 0
    spec.write_text(SPEC, encoding="utf-8")
    result = cli("preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec))
    assert result.code == 0, result.err
    assert (
        "api: reached in staging at http://api.shop-staging.svc.cluster.local:9000, once staging lets "
        "previews in: publish the spec to it (`unhazzle publish`)" in result.out
    )
    assert cli("publish", str(spec), "--to", str(repo)).code == 0
    again = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "json"
    )
    assert json.loads(again.out)["not_admitted_yet"] == []


def test_the_pull_request_comment_gets_the_urls_and_cost(cli: RunCli, spec: Path, repo: Path) -> None:
    result = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "markdown"
    )
    assert result.code == 0, result.err
    assert result.out.startswith("#### Preview environment `pr-7`")
    assert "- https://web.shop-pr-7.unhazzle.app" in result.out and "EUR a month at its size" in result.out


def test_a_preview_over_its_budget_is_not_created_and_the_comment_says_so(
    cli: RunCli, spec: Path, repo: Path
) -> None:
    spec.write_text(
        SPEC.replace("budget: {max_monthly_eur: 5}", "budget: {max_monthly_eur: 0.01}"), encoding="utf-8"
    )
    result = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "markdown"
    )
    assert result.code == 2
    assert "Not created or updated: it would exceed its limits." in result.out
    assert f"{spec}:19:29: error: previews.budget: preview shop/pr-7 would cost up to" in result.err, (
        result.err
    )
    assert "it is not created" in result.err
    assert git(repo, "branch", "--list") == ""  # nothing was pushed
    # a script reading JSON is told so too
    result = cli(
        "preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec), "--output", "json"
    )
    assert result.code == 2
    said = json.loads(result.out)
    assert (said["project"], said["name"], said["created"]) == ("shop", "pr-7", False)
    [error] = said["errors"]
    assert (error["file"], error["line"], error["column"]) == (str(spec), 19, 29)
    assert error["message"].startswith("previews.budget: preview shop/pr-7 would cost up to")


def test_the_project_limits_refuse_a_new_preview_and_remove_none(cli: RunCli, spec: Path, repo: Path) -> None:
    for name in ("pr-1", "pr-2"):
        assert cli("preview-env", "up", "--name", name, "--to", str(repo), "--spec", str(spec)).code == 0
    third = cli("preview-env", "up", "--name", "pr-3", "--to", str(repo), "--spec", str(spec))
    assert third.code == 2
    assert f"{spec}:20:19: error: previews.limits.count: project shop has 2 previews already" in third.err
    assert "pr-1 (until" in third.err and "pr-2 (until" in third.err
    assert folders(repo) == ["shop/pr-1", "shop/pr-2"]  # the oldest is not removed to make room
    # An update of one that exists is not a new one.
    assert cli("preview-env", "up", "--name", "pr-2", "--to", str(repo), "--spec", str(spec)).code == 0
    # Their cost together: each costs up to about 1.5 EUR a month, so a cap of 2 refuses the second.
    spec.write_text(SPEC.replace("max_monthly_eur: 4}", "max_monthly_eur: 2}").replace("count: 2", "count: 5"),
                    encoding="utf-8")  # fmt: skip
    over = cli("preview-env", "up", "--name", "pr-3", "--to", str(repo), "--spec", str(spec))
    assert over.code == 2 and "previews.limits.max_monthly_eur: with preview pr-3" in over.err, over.err


def test_list_shows_each_preview_with_its_age_expiry_and_cost(cli: RunCli, spec: Path, repo: Path) -> None:
    assert cli("preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec)).code == 0
    listed = cli("preview-env", "list", "--repo", str(repo), "--spec", str(spec))
    assert listed.code == 0, listed.err
    assert listed.out.startswith("pr-7  copy of staging, 0m old, expires in 1d23h, up to ")
    assert "    https://web.shop-pr-7.unhazzle.app" in listed.out and "1 preview: up to" in listed.out
    data = json.loads(
        cli("preview-env", "list", "--repo", str(repo), "--spec", str(spec), "--output", "json").out
    )
    assert [(p["name"], p["expired"]) for p in data["previews"]] == [("pr-7", False)]


def test_down_removes_a_preview_with_the_commit_that_lets_the_reconciler_remove_it(
    cli: RunCli, spec: Path, repo: Path
) -> None:
    assert cli("publish", str(spec), "--to", str(repo)).code == 0
    assert cli("preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec)).code == 0
    down = cli("preview-env", "down", "--name", "pr-7", "--to", str(repo), "--spec", str(spec))
    assert down.code == 0, down.err
    assert folders(repo) == ["shop/production", "shop/staging"]
    assert "Unhazzle-Allow-Delete-Environment: shop/pr-7" in git(repo, "log", "-1", "--format=%B", "main")
    again = cli("preview-env", "down", "--name", "pr-7", "--to", str(repo), "--spec", str(spec))
    assert again.code == 0 and "no such preview; nothing to remove" in again.out  # closing twice is fine
    # Never an environment that is not a preview, even one the spec no longer has.
    refused = cli("preview-env", "down", "--name", "staging", "--to", str(repo), "--spec", str(spec))
    assert refused.code == 2 and "shop/staging: error: this environment is not a preview" in refused.err
    spec.write_text(
        SPEC.replace("  staging: {}\n", "").replace("from: staging", "from: production"), encoding="utf-8"
    )
    refused = cli("preview-env", "down", "--name", "staging", "--to", str(repo), "--spec", str(spec))
    assert refused.code == 2 and "shop/staging: error: this environment is not a preview" in refused.err
    assert folders(repo) == ["shop/production", "shop/staging"]


def test_a_spec_environment_may_not_take_a_previews_name(cli: RunCli, spec: Path, repo: Path) -> None:
    for name in ("qa", "demo"):
        assert cli("preview-env", "up", "--name", name, "--to", str(repo), "--spec", str(spec)).code == 0
    spec.write_text(
        SPEC.replace("  staging: {}\n", "  staging: {}\n  qa: {}\n  demo: {}\n"), encoding="utf-8"
    )
    result = cli("publish", str(spec), "--to", str(repo))
    assert result.code == 2
    # each clash on a line of its own, as every refusal is
    for name in ("qa", "demo"):
        assert f"\nshop/{name}: error: a preview environment has this name" in f"\n{result.err}"


def test_prune_removes_the_expired_previews_only(cli: RunCli, spec: Path, repo: Path, tmp_path: Path) -> None:
    for name in ("pr-1", "pr-2"):
        assert cli("preview-env", "up", "--name", name, "--to", str(repo), "--spec", str(spec)).code == 0
    # pr-1's expiry in the past, by a commit (as if two days went by)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    marker = work / "shop" / "pr-1" / "_preview.json"
    mark = previewmark.parse(marker.read_bytes())
    past = previewmark.stamp(datetime.now(UTC) - timedelta(minutes=1))
    marker.write_bytes(previewmark.PreviewMark(**{**mark.__dict__, "expires_at": past}).to_bytes())
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "time passes")
    git(work, "push", "-q", "origin", "main")
    listed = cli("preview-env", "list", "--repo", str(repo), "--spec", str(spec))
    assert "pr-1  copy of staging, 0m old, expired" in listed.out
    pruned = cli("preview-env", "prune", "--to", str(repo), "--spec", str(spec))
    assert pruned.code == 0 and "shop: pr-1 expired; removed in" in pruned.out, pruned.err
    assert folders(repo) == ["shop/pr-2"]
    assert (
        cli("preview-env", "prune", "--to", str(repo), "--spec", str(spec)).out
        == "shop: no expired preview\n"
    )


def test_down_needs_only_the_project_name(cli: RunCli, spec: Path, repo: Path, tmp_path: Path) -> None:
    """A closed pull request's spec may be broken, or have lost its previews: section."""
    assert cli("preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec)).code == 0
    spec.write_text(SPEC.split("previews:")[0].replace("port: 9000", "port: nine"), encoding="utf-8")
    assert cli("validate", str(spec)).code == 2
    down = cli("preview-env", "down", "--name", "pr-7", "--to", str(repo), "--spec", str(spec))
    assert down.code == 0, down.err
    spec.write_text("oops: [", encoding="utf-8")  # not even YAML: --project says it
    again = cli(
        "preview-env", "down", "--name", "pr-7", "--to", str(repo), "--project", "shop", "--spec", str(spec)
    )
    assert again.code == 0 and "no such preview" in again.out, again.err
    assert (
        cli(
            "preview-env", "up", "--name", "pr-8", "--to", str(repo), "--spec", str(tmp_path / "nowhere.yaml")
        ).code
        == 2
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = cli(
        "preview-env",
        "list",
        "--repo",
        str(repo),
        "--project",
        "shop",
        "--spec",
        str(elsewhere / "none.yaml"),
    )
    assert listed.code == 0 and listed.out == "shop: no preview environments\n", listed.err


def test_a_spec_without_previews_and_a_bad_name_are_told(cli: RunCli, spec: Path, repo: Path) -> None:
    spec.write_text(SPEC.split("previews:")[0], encoding="utf-8")
    result = cli("preview-env", "up", "--name", "pr-7", "--to", str(repo), "--spec", str(spec))
    assert result.code == 2 and "has no previews: section" in result.err
    spec.write_text(SPEC, encoding="utf-8")
    for bad in ("PR-7", "pr_7", "-x", "a" * 31):
        result = cli("preview-env", "up", f"--name={bad}", "--to", str(repo), "--spec", str(spec))
        assert result.code == 2 and "is not a preview name" in result.err, (bad, result.err)
