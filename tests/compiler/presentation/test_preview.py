"""`unhazzle preview --base REF`: real Git repositories with commits on two branches."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
from markdown_it import MarkdownIt

from tests.conftest import EXAMPLES, MINIMAL
from unhazzle.compiler.presentation.preview import MARKER

SHOP = (EXAMPLES / "shop" / "unhazzle.yaml").read_text(encoding="utf-8")


class Repo:
    """A Git repository in a temp dir: commit on main, then change the working tree on a branch."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = git.Repo.init(root, initial_branch="main")
        with self.git.config_writer() as cfg:
            cfg.set_value("user", "name", "Test").set_value("user", "email", "test@example.com")
        self.spec = root / "unhazzle.yaml"

    def commit(self, files: dict[str, str], message: str) -> None:
        for name, text in files.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_text(text, encoding="utf-8")
        self.git.index.add(list(files))
        self.git.index.commit(message)

    def branch(self, name: str) -> None:
        self.git.git.checkout("-b", name)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "project")


def _preview(cli, repo: Repo, *extra: str):
    return cli("preview", str(repo.spec), "--base", "main", *extra)


def _json(cli, repo: Repo):
    result = _preview(cli, repo, "--output", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_preview_renamed_app_shows_removed_and_added(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.branch("rename")
    renamed = SHOP.replace("\n  worker:\n", "\n  jobs:\n")
    repo.commit({"unhazzle.yaml": renamed}, "rename worker to jobs")
    data = _json(cli, repo)
    prod = data["environments"][0]
    status = {a["name"]: a["status"] for a in prod["apps"]}
    assert status["jobs"] == "added" and status["worker"] == "removed"
    assert prod["summary"] == {"added": 1, "removed": 1, "changed": 0}
    files = {d["file"]: d["status"] for d in prod["manifest_diffs"]}
    assert files["production/jobs.yaml"] == "added" and files["production/worker.yaml"] == "removed"
    markdown = _preview(cli, repo).out
    assert "| jobs | added (renamed from worker?) |" in markdown and "| worker | removed |" in markdown
    jobs = next(a for a in prod["apps"] if a["name"] == "jobs")
    assert jobs["renamed_from"] == "worker"
    worker = next(a for a in prod["apps"] if a["name"] == "worker")
    assert worker["cost_eur_month"] == {"min": 0.0, "max": 0.0}
    assert worker["cost_change"]["max"] == -worker["before"]["cost_eur_month"]["max"]


def test_preview_removed_environment(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.branch("drop-staging")
    without = SHOP.split("  staging:\n")[0] + "\napps:" + SHOP.split("\napps:", 1)[1]
    repo.spec.write_text(without, encoding="utf-8")  # uncommitted: the working tree is the head
    data = _json(cli, repo)
    staging = next(e for e in data["environments"] if e["name"] == "staging")
    assert staging["status"] == "removed"
    assert {a["status"] for a in staging["apps"]} == {"removed"}
    assert all(d["status"] == "removed" for d in staging["manifest_diffs"])
    assert staging["cost_eur_month"]["head"] == {"min": 0.0, "max": 0.0}
    assert data["cost_eur_month"]["change"]["max"] == -staging["cost_eur_month"]["base"]["max"]
    assert data["headline"].startswith("Cost at maximum scale down by")


def test_preview_spec_absent_at_base_shows_everything_new(cli, repo):
    repo.commit({"README.md": "hello\n"}, "base without a spec")
    repo.branch("add-spec")
    repo.spec.write_text(SHOP, encoding="utf-8")
    data = _json(cli, repo)
    assert data["status"] == "new"
    assert "did not exist at main" in data["base_note"]
    assert {a["status"] for e in data["environments"] for a in e["apps"]} == {"added"}
    assert {e["status"] for e in data["environments"]} == {"added"}
    assert data["headline"].startswith("New: costs up to")


def test_preview_invalid_spec_at_head_exits_2_without_comment(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.branch("broken")
    repo.spec.write_text(SHOP.replace("region: fsn1", "region: fsn9").replace("port: 9000", "prot: 9000"))
    result = _preview(cli, repo)
    assert result.code == 2
    assert result.out == ""  # no comment at all
    lines = result.err.strip().splitlines()
    assert lines[0].startswith(f"{repo.spec}:6:9: error: region:")
    prot_line = SHOP.splitlines().index("    port: 9000") + 1
    assert any(f":{prot_line}:5: error: apps.api: unknown key 'prot'" in line for line in lines)


def test_preview_identical_specs_say_so_in_one_line(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    result = _preview(cli, repo)
    assert result.code == 0
    body = [line for line in result.out.splitlines() if line and not line.startswith(("<!--", "#"))]
    assert body == ["No changes to unhazzle.yaml since main."]


@pytest.mark.parametrize(
    "base", ["no-such-branch", "HEAD:../../etc", "HEAD:unhazzle.yaml", "--upload-pack=x"]
)
def test_preview_unknown_base_is_bad_input(cli, repo, base):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    result = cli("preview", str(repo.spec), f"--base={base}")
    assert result.code == 2
    assert f"--base {base}: error: no commit, branch or tag by that name" in result.err


@pytest.mark.parametrize(
    ("base", "said"), [("@{upstream}", "no upstream configured"), ("main@{99}", "only has 1 entries")]
)
def test_preview_base_git_cannot_resolve_at_all_is_bad_input_in_gits_words(cli, repo, base, said):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    result = cli("preview", str(repo.spec), f"--base={base}")
    assert result.code == 2
    assert result.err.startswith(f"--base {base}: error: ") and said in result.err


def test_preview_outside_git_is_bad_input(cli, write_spec):
    spec = write_spec(MINIMAL)
    result = cli("preview", str(spec), "--base", "main")
    assert result.code == 2 and result.err.startswith(f"{spec}:1:1: error: is not inside a Git repository")


def test_preview_base_over_budget_still_compares(cli, repo):
    over = SHOP.replace("budget: {max_monthly_eur: 400}", "budget: {max_monthly_eur: 1}")
    repo.commit({"unhazzle.yaml": over}, "base over budget")
    repo.spec.write_text(SHOP, encoding="utf-8")
    data = _json(cli, repo)
    assert data["status"] == "changed" and data["budget"]["within"] is True


def test_preview_head_over_budget_exits_2(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.spec.write_text(SHOP.replace("max_monthly_eur: 300", "max_monthly_eur: 2"), encoding="utf-8")
    result = _preview(cli, repo)
    assert result.code == 2 and result.out == ""
    line = SHOP.splitlines().index("    budget: {max_monthly_eur: 300}") + 1
    assert f":{line}:31: error: environments.production.budget.max_monthly_eur:" in result.err


def test_preview_markdown_parses_with_tables_and_details(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.branch("scale")
    changed = SHOP.replace("instances: {max: 2}", "instances: {max: 4}")
    changed = changed.replace("memory: 512MB", "memory: 1GB")
    repo.commit({"unhazzle.yaml": changed}, "scale up")
    markdown = _preview(cli, repo).out
    assert markdown.startswith(MARKER + "\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) == 2  # one per changed environment
    header = [t.content for t in tokens if t.type == "inline"]
    assert "EUR/month at max" in header
    html = "".join(t.content for t in tokens if t.type == "html_block")
    assert html.count("<details>") == html.count("</details>") >= 2
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and all(t.info == "diff" for t in fences)
    assert '-              memory: "512Mi"' in fences[0].content + fences[-1].content or any(
        '+              memory: "1Gi"' in f.content for f in fences
    )
    assert "Cost at maximum scale up by" in markdown


def test_preview_markdown_shows_secret_names_only(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.spec.write_text(SHOP.replace("secrets: [SESSION_KEY]", "secrets: [SESSION_KEY, CSRF_KEY]"))
    markdown = _preview(cli, repo).out
    assert "`CSRF_KEY`" in markdown and "`SESSION_KEY`" in markdown


def test_preview_hostile_names_cannot_break_the_table(cli, repo):
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    hostile = SHOP.replace("LOG_LEVEL: info\n      API_URL", "LOG_LEVEL: 'a|b</details>```'\n      API_URL")
    repo.spec.write_text(hostile, encoding="utf-8")
    markdown = _preview(cli, repo).out
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    html = "".join(t.content for t in tokens if t.type == "html_block")
    assert html.count("<details>") == html.count("</details>")
    fences = [t.content for t in tokens if t.type == "fence"]
    assert any("a|b</details>```" in f for f in fences)  # inside the diff, intact


def test_preview_renders_every_file_that_differs():
    """Skipping apps whose plan is unchanged never hides a difference in the rendered files."""
    from unhazzle.compiler.pipeline import compile_text
    from unhazzle.compiler.presentation.preview import changed_files
    from unhazzle.compiler.rendering.render import render_plan

    base = compile_text(SHOP)
    edits = [
        SHOP.replace("LOG_LEVEL: debug", "LOG_LEVEL: trace"),
        SHOP.replace("project: shop", "project: shop2"),
        SHOP.replace("memory: 512MB", "memory: 1GB"),
        SHOP.replace("  staging:\n", "  staging:\n    badge: preview\n"),
        SHOP.replace("\n  worker:\n", "\n  jobs:\n"),
    ]
    for text in edits:
        head = compile_text(text)
        old, new = render_plan(base.plan), render_plan(head.plan)
        full = {n for n in {*old, *new} if old.get(n) != new.get(n)}
        fast = {n for env in ("production", "staging") for n in changed_files(base, head, env)}
        assert fast == full


def test_preview_markdown_stays_under_the_comment_limit(cli, repo):
    from bench.preview import spec_text

    repo.commit({"unhazzle.yaml": spec_text(100)}, "base")
    repo.spec.write_text(spec_text(100, changed=95).replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    markdown = _preview(cli, repo).out
    assert len(markdown) <= 60_000
    assert "too long to show here" in markdown and "`production/app-7.yaml` (changed)" in markdown
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert [t for t in tokens if t.type == "table_open"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (("LOG_LEVEL: info\n      API_URL", "LOG_LEVEL: warn\n      API_URL"), "settings"),
        (("shop-web:1.4.2", "shop-web:1.4.3"), "image 1.4.2 → 1.4.3"),
        (("    health: {path: /healthz}", "    health: {path: /ready}"), "health check"),
    ],
)
def test_preview_an_app_whose_manifest_changes_is_changed_and_says_what(cli, repo, change, said):
    """What restarts an app is a change of it, said in the spec's words: never "Unchanged"."""
    assert change[0] in SHOP
    repo.commit({"unhazzle.yaml": SHOP}, "base")
    repo.spec.write_text(SHOP.replace(*change, 1))
    prod = _json(cli, repo)["environments"][0]
    web = next(a for a in prod["apps"] if a["name"] == "web")
    assert web["status"] == "changed" and prod["summary"]["changed"] == 1
    assert [d["file"] for d in prod["manifest_diffs"]] == ["production/web.yaml"]
    markdown = _preview(cli, repo).out
    assert f"| web | changed ({said}) |" in markdown
    assert (
        "Unchanged: api, worker, cache." in markdown and "Manifest changes in production: 1 file<" in markdown
    )


def test_preview_an_app_whose_address_another_uses_changes_changes_that_other_too(cli, repo):
    base = (
        MINIMAL + "    env: {API: '${apps.api.url}'}\n  api:\n    image: ghcr.io/acme/api:1\n    port: 8080\n"
    )
    repo.commit({"unhazzle.yaml": base}, "base")
    repo.spec.write_text(base.replace("api:1\n    port: 8080", "api:1\n    port: 9090"))
    apps = {a["name"]: a for a in _json(cli, repo)["environments"][0]["apps"]}
    assert apps["api"]["changes"] == ["port", "health_check"]  # (the check is of the port)
    assert apps["web"]["status"] == "changed" and apps["web"]["changes"] == ["settings"]


def test_preview_of_hundreds_of_new_public_apps_fits_a_comment(cli, repo):
    apps = "".join(
        f"  app-{i}:\n    image: ghcr.io/acme/app:1\n    port: 8080\n    public: true\n" for i in range(400)
    )
    spec = "version: 1\nproject: shop\nregion: fsn1\nenvironments:\n  production: {}\n  staging: {}\napps:\n"
    repo.commit({"README": "x"}, "base")
    repo.spec.write_text(spec + apps)
    markdown = _preview(cli, repo).out
    assert len(markdown) <= 60_000
    assert "… and 375 more apps changed." in markdown and "Manifest changes (too long" in markdown
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert len([t for t in tokens if t.type == "table_open"]) == 2


def test_preview_names_changed_secrets_never_their_values(cli, repo):
    from unhazzle.shared.age import encrypt

    secrets_dir = EXAMPLES / "shop" / "unhazzle.secrets"
    files = {"unhazzle.yaml": SHOP}
    files |= {f"unhazzle.secrets/{p.name}": p.read_text() for p in secrets_dir.glob("*.yaml")}
    repo.commit(files, "base")
    assert "No changes" in _preview(cli, repo).out  # same values at the base: nothing to say
    store = repo.spec.parent / "unhazzle.secrets" / "production.yaml"
    text = store.read_text()
    first = text.index("-----BEGIN AGE ENCRYPTED FILE-----")
    last = text.index("-----END AGE ENCRYPTED FILE-----", first) + len("-----END AGE ENCRYPTED FILE-----")
    indent = text[text.rindex("\n", 0, first) + 1 : first]
    canary = "canary-value-7f3a"
    recipient = SHOP.split("recipients: [", 1)[1].split("]", 1)[0]
    fresh = encrypt(canary, [recipient]).strip().replace("\n", "\n" + indent)
    store.write_text(text[:first] + fresh + text[last:])
    result = _preview(cli, repo)
    assert result.code == 0, result.err
    assert "### Secrets" in result.out and " changed" in result.out
    assert canary not in result.out
    # the app whose value changed restarts: a change, said so, never "unchanged"
    assert "| api | changed (new secret values: restarts) |" in result.out
    assert "Unchanged: " not in result.out or "api" not in result.out.split("Unchanged: ")[1].split("\n")[0]
    data = _preview(cli, repo, "--output", "json").out
    production = next(e for e in json.loads(data)["environments"] if e["name"] == "production")
    [api] = [a for a in production["apps"] if a["name"] == "api"]
    assert (api["status"], api["secret_values_changed"]) == ("changed", True)
    staging = next(e for e in json.loads(data)["environments"] if e["name"] == "staging")
    assert all(a["status"] == "unchanged" for a in staging["apps"])


def test_preview_a_new_secret_name_without_a_value_is_no_new_secret_value(cli, repo):
    repo.commit({"unhazzle.yaml": MINIMAL}, "base")
    repo.branch("token")
    repo.commit({"unhazzle.yaml": MINIMAL + "    secrets: [TOKEN]\n"}, "a secret to set")
    [web] = _json(cli, repo)["environments"][0]["apps"]
    assert (web["status"], web["secret_values_changed"]) == ("changed", False)
    assert "new secret values" not in _preview(cli, repo).out


def test_plan_markdown_warnings_show_commands_as_code(cli, tmp_path):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text((EXAMPLES / "shop" / "unhazzle.yaml").read_text())  # no secrets file: values missing
    markdown = cli("plan", str(spec), "--output", "markdown").out
    tokens = MarkdownIt("commonmark").parse(markdown)
    spans = [
        c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"
    ]
    assert "unhazzle secrets set web SESSION_KEY --env production" in spans
    assert "\\`" not in markdown


JOB = """\
jobs:
  nightly:
    image: ghcr.io/acme/shop-worker:1.4.2
    command: ["python", "-m", "shop.nightly"]
    schedule: "0 2 * * *"
"""


def test_preview_shows_jobs_added_changed_and_removed_with_their_cost(cli, repo):
    repo.commit({"unhazzle.yaml": MINIMAL}, "base")
    repo.branch("jobs")
    repo.commit({"unhazzle.yaml": MINIMAL + JOB}, "a nightly job")
    prod = _json(cli, repo)["environments"][0]
    [job] = prod["jobs"]
    assert job["status"] == "added" and job["schedule"] == "0 2 * * *"
    assert job["cost_eur_month"] > 0 and job["cost_change"] == job["cost_eur_month"]
    assert {d["file"]: d["status"] for d in prod["manifest_diffs"]}["production/nightly.yaml"] == "added"
    markdown = _preview(cli, repo).out
    assert "| nightly | added | 0 2 \\* \\* \\* (UTC), about 30.4 runs a month |" in markdown
    assert "1 added, 0 changed, 0 removed" in markdown

    repo.git.git.checkout("main")
    repo.commit({"unhazzle.yaml": MINIMAL + JOB}, "the job on main")
    repo.git.git.checkout("jobs")
    repo.commit({"unhazzle.yaml": MINIMAL + JOB.replace("0 2 * * *", "*/30 * * * *")}, "twice an hour")
    [job] = _json(cli, repo)["environments"][0]["jobs"]
    assert job["status"] == "changed" and job["before"]["schedule"] == "0 2 * * *"
    assert job["cost_change"] > 0 and job["changes"] == ["schedule"]
    assert "(was 0 2 \\* \\* \\* (UTC))" in _preview(cli, repo).out
    # what else changed is said as for an app: the image by its tag, the rest by name
    changed = JOB.replace("0 2 * * *", "*/30 * * * *").replace("1.4.2", "1.4.3")
    repo.commit({"unhazzle.yaml": MINIMAL + changed + "    secrets: [REPORT_TOKEN]\n"}, "new image")
    [job] = _json(cli, repo)["environments"][0]["jobs"]
    assert job["changes"] == ["image", "schedule", "secrets"] and job["secret_values_changed"] is False
    markdown = _preview(cli, repo).out
    assert "| nightly | changed (image 1.4.2 → 1.4.3, secrets) |" in markdown
    assert "Secrets (names only): `nightly`: `REPORT_TOKEN`" in markdown
    # a new time zone alone is a new schedule, said in its column
    repo.git.git.checkout("main")
    repo.commit({"unhazzle.yaml": MINIMAL + changed}, "the new image on main")
    repo.git.git.checkout("jobs")
    repo.commit({"unhazzle.yaml": MINIMAL + changed + "    timezone: Europe/Berlin\n"}, "in Berlin time")
    markdown = _preview(cli, repo).out
    assert "| nightly | changed | \\*/30 \\* \\* \\* \\* (Europe/Berlin), about" in markdown
    assert "(was \\*/30 \\* \\* \\* \\* (UTC))" in markdown

    repo.commit({"unhazzle.yaml": MINIMAL}, "no more job")
    [job] = _json(cli, repo)["environments"][0]["jobs"]
    assert job["status"] == "removed" and job["cost_change"] < 0


def test_preview_cut_to_fit_ends_with_a_paragraph_of_its_own(cli, repo, monkeypatch):
    from unhazzle.compiler.presentation import markdown as comment

    repo.commit({"README": "x"}, "base")
    repo.spec.write_text(SHOP)
    monkeypatch.setattr(comment, "COMMENT_LIMIT", 1500)
    markdown = _preview(cli, repo).out
    assert len(markdown) <= 1500 and markdown.endswith(comment.CUT)
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<p>… the rest is cut to fit a pull-request comment" in html


def test_preview_a_project_setting_that_changes_every_manifest_changes_every_app(cli, repo):
    """Datadog changes no app's plan, only what is rendered of it: still a change of each."""
    repo.commit({"unhazzle.yaml": MINIMAL}, "base")
    repo.spec.write_text(MINIMAL + "observability:\n  datadog: {enabled: true}\n")
    data = _json(cli, repo)
    [web] = data["environments"][0]["apps"]
    assert data["status"] == "changed" and web["status"] == "changed" and web["changes"] == ["other"]
    assert [d["file"] for d in data["environments"][0]["manifest_diffs"]] == ["production/web.yaml"]
