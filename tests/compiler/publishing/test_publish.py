"""`unhazzle publish`: rendered manifests land in the environment repo as one readable commit,
against real bare repositories over file:// (network transports: test_publish_network.py)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, ROOT
from tests.support.agekeys import generate_identity
from tests.support.gitrepos import (
    bare_repo,
    commit_count,
    commit_message,
    exact_tree_files,
    git,
    index_of,
    publish_process,
    seed_commit,
    spec_text,
    tip,
    tree_files,
)
from unhazzle import __version__
from unhazzle.compiler.editing.secrets import set_secrets
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.publishing.changes import blob_id, plan_changes, summarize
from unhazzle.compiler.publishing.index import (
    BadIndexError,
    Source,
    index_text,
    list_objects,
    parse_index,
    project_files,
)
from unhazzle.compiler.publishing.publish import PublishOptions, publish, publishing, remote_url, scrub
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.errors import OperationError

SHOP = EXAMPLES / "shop" / "unhazzle.yaml"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A private cache, and no CI variables leaking in from the machine running the tests."""
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "CI_COMMIT_SHA", "CI_PROJECT_URL", "CI_COMMIT_TITLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return bare_repo(tmp_path / "env.git")


def url(repo: Path) -> str:
    return f"file://{repo}"


def test_publish_writes_the_layout_byte_for_byte(cli, remote):
    result = cli("publish", str(SHOP), "--to", url(remote))
    assert result.code == 0, result.err
    rendered = render_plan(compile_file(SHOP).plan)
    files = tree_files(remote)
    expected = {f"shop/{name}" for name in rendered} | {
        f"shop/{env}/{name}" for env in ("production", "staging") for name in ("_index.json", "_secrets.json")
    }
    assert set(files) == expected
    for name, text in rendered.items():
        assert files[f"shop/{name}"] == text.encode()
    assert result.out.startswith(f"published {tip(remote)} to 'main' of {url(remote)}")


def test_publish_index_lists_every_object_and_the_source(cli, remote):
    assert cli("publish", str(SHOP), "--to", url(remote), "--source-commit", "abc123").code == 0
    index = index_of(remote, "shop", "production")
    rendered = render_plan(compile_file(SHOP).plan)
    own = {name.split("/", 1)[1]: text for name, text in rendered.items() if name.startswith("production/")}
    assert index["objects"] == list_objects(own)
    assert {"kind": "Namespace", "namespace": "", "name": "shop-production"}.items() <= next(
        o for o in index["objects"] if o["kind"] == "Namespace"
    ).items()
    assert index["format"] == 1 and index["namespace"] == "shop-production" and index["badge"] == "production"
    assert index["source"]["commit"] == "abc123"
    assert index["source"]["spec_sha256"] == __import__("hashlib").sha256(SHOP.read_bytes()).hexdigest()
    assert index["compiler"] == {"version": __version__}
    assert index["apps"]["web"]["instances"] == {"min": 2, "max": 9}
    assert 0 < index["cost_eur_month"]["min"] <= index["cost_eur_month"]["max"]
    text = tree_files(remote)["shop/production/_index.json"].decode()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_publish_same_output_makes_no_commit(cli, remote):
    assert cli("publish", str(SHOP), "--to", url(remote)).code == 0
    before = tip(remote)
    again = cli("publish", str(SHOP), "--to", url(remote), "--source-commit", "a-newer-source-commit")
    assert again.code == 0
    assert "no change" in again.out
    assert tip(remote) == before


def test_publish_message_names_what_changed(cli, remote, write_spec):
    spec = write_spec(spec_text(instances=(2, 6)))
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    _, recipient = generate_identity()
    write_spec(spec_text(instances=(3, 8), secrets=("SESSION_KEY",), recipient=recipient))
    values = {"SESSION_KEY": "a-session-key"}
    set_secrets(
        compile_file(spec), spec, app="web", environment="production", values=values, today="2026-11-26"
    )
    result = cli("publish", str(spec), "--to", url(remote), "--message-trailer", "Deployed-By: ci #42")
    assert result.code == 0, result.err
    message = commit_message(remote)
    assert message.splitlines()[0].startswith("shop/production: web 2-6 -> 3-8 instances, +1 secret, cost ")
    assert "M shop/production/web.yaml" in message
    assert f"Unhazzle-Version: {__version__}" in message
    assert "Deployed-By: ci #42" in message
    assert commit_count(remote) == 2


def test_publish_message_tells_a_secret_rotation_from_a_settings_change(cli, remote, write_spec):
    _, recipient = generate_identity()
    spec = write_spec(spec_text(secrets=("SESSION_KEY",), recipient=recipient))
    for value in ("first", "rotated"):
        values = {"SESSION_KEY": value}
        set_secrets(
            compile_file(spec), spec, app="web", environment="production", values=values, today="2026-12-05"
        )
        assert cli("publish", str(spec), "--to", url(remote)).code == 0
    assert commit_message(remote).splitlines()[0] == "shop/production: web secret values changed"
    write_spec(
        spec_text(secrets=("SESSION_KEY",), recipient=recipient).replace(
            "    port: 8080\n", "    port: 8080\n    env: {MODE: fast}\n"
        )
    )
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    assert commit_message(remote).splitlines()[0] == "shop/production: web settings changed"


def test_publish_message_names_image_and_app_changes(cli, remote, write_spec):
    spec = write_spec(spec_text())
    cli("publish", str(spec), "--to", url(remote))
    text = spec_text(image="ghcr.io/acme/web:1.1") + "  worker:\n    image: ghcr.io/acme/worker:2\n"
    write_spec(text)
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    subject = commit_message(remote).splitlines()[0]
    assert subject.startswith("shop/production: +worker, web image 1.0 -> 1.1, cost ")


def test_publish_subject_names_environments_that_changed_alike_together(cli, remote, write_spec):
    envs = ("dev", "production", "staging")
    spec = write_spec(spec_text(envs=envs))
    cli("publish", str(spec), "--to", url(remote))
    write_spec(spec_text(envs=envs, image="ghcr.io/acme/web:1.1"))
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    message = commit_message(remote).splitlines()
    assert message[0] == "shop: dev, production, staging: web image 1.0 -> 1.1"
    assert "shop/staging: web image 1.0 -> 1.1" in message  # and each in the body


def test_publish_removed_environment_needs_the_flag(cli, remote, write_spec):
    spec = write_spec(spec_text(envs=("production", "staging")))
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    before = tip(remote)
    write_spec(spec_text(envs=("production",)))
    refused = cli("publish", str(spec), "--to", url(remote))
    assert refused.code == 2
    assert "shop/staging" in refused.err and "--allow-delete-environment" in refused.err
    assert "its volumes and their data stay on the cluster" in refused.err  # prune.py keeps them
    assert len(refused.err.strip().splitlines()) == 1
    assert tip(remote) == before
    allowed = cli("publish", str(spec), "--to", url(remote), "--allow-delete-environment")
    assert allowed.code == 0, allowed.err
    files = tree_files(remote)
    assert not any(path.startswith("shop/staging/") for path in files)
    assert tree_files(remote, before, "shop/production") == tree_files(remote, "main", "shop/production")
    assert commit_message(remote).splitlines()[0] == "shop/staging: environment removed"


def test_publish_never_touches_other_projects(cli, remote, write_spec, tmp_path):
    blog = write_spec(spec_text(project="blog", envs=("production", "staging")), name="blog.yaml")
    assert cli("publish", str(blog), "--to", url(remote)).code == 0
    seed_commit(remote, {"README.md": "hand-written\n", "blog/notes.txt": "kept\n"})
    theirs = {p: c for p, c in tree_files(remote).items() if not p.startswith("shop/")}
    shop = write_spec(spec_text(project="shop"))
    assert cli("publish", str(shop), "--to", url(remote)).code == 0
    write_spec(spec_text(project="shop", instances=(1, 1)))
    assert cli("publish", str(shop), "--to", url(remote)).code == 0
    after = {p: c for p, c in tree_files(remote).items() if not p.startswith("shop/")}
    assert after == theirs


def test_publish_writes_secrets_as_ciphertext_only(cli, remote, tmp_path):
    from unhazzle.shared.sealed import decrypt as decrypt_secrets_json

    shop = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", shop)
    assert cli("publish", str(shop / "unhazzle.yaml"), "--to", url(remote)).code == 0
    files = tree_files(remote)
    sealed = files["shop/production/_secrets.json"].decode()
    assert "-----BEGIN AGE ENCRYPTED FILE-----" in sealed
    key = (ROOT / "tests" / "fixtures" / "shop-cluster.agekey").read_text()
    values = [v for app in decrypt_secrets_json(sealed, key).values() for v in app.values()]
    assert values and all(len(v) >= 8 for v in values)
    for content in files.values():
        assert not any(value.encode() in content for value in values)


def test_publish_refuses_secrets_without_values(cli, remote, write_spec):
    spec = write_spec(spec_text(secrets=("SESSION_KEY",), recipient=generate_identity()[1]))
    result = cli("publish", str(spec), "--to", url(remote))
    assert result.code == 2
    assert "SESSION_KEY has no value" in result.err
    assert git("ls-remote", str(remote)) == ""  # nothing was pushed


def test_publish_failed_render_makes_no_commit(cli, remote, write_spec, tmp_path):
    spec = write_spec(spec_text())
    cli("publish", str(spec), "--to", url(remote))
    before = tip(remote)
    write_spec(spec_text().replace("region: fsn1", "region: mars"))
    result = cli("publish", str(spec), "--to", url(remote))
    assert result.code == 2
    assert result.err.startswith(f"{spec}:3:9: error: region")
    assert tip(remote) == before


def test_publish_dry_run_shows_the_commit_and_pushes_nothing(cli, remote, write_spec):
    spec = write_spec(spec_text())
    text = cli("publish", str(spec), "--to", url(remote), "--dry-run")
    assert text.code == 0
    assert "would commit" in text.out and "A shop/production/web.yaml" in text.out
    assert tip(remote) is None
    data = json.loads(cli("publish", str(spec), "--to", url(remote), "--dry-run", "--output", "json").out)
    assert data["commit"] is None and data["changed"] is True and data["dry_run"] is True
    assert {"path": "shop/production/web.yaml", "status": "added"} in data["files"]
    assert data["message"].startswith("shop/production: new environment, 1 app (web)")
    assert tip(remote) is None


def test_publish_json_reports_the_pushed_commit(cli, remote, write_spec):
    spec = write_spec(spec_text())
    data = json.loads(cli("publish", str(spec), "--to", url(remote), "--output", "json").out)
    assert data["commit"] == tip(remote) and data["changed"] is True
    again = json.loads(cli("publish", str(spec), "--to", url(remote), "--output", "json").out)
    assert again == {**again, "commit": None, "changed": False, "files": [], "message": ""}


def test_publish_creates_a_missing_branch(cli, remote, write_spec):
    seed_commit(remote, {"README.md": "env repo\n"})
    spec = write_spec(spec_text())
    result = cli("publish", str(spec), "--to", str(remote), "--branch", "clusters/eu")
    assert result.code == 0, result.err
    assert tip(remote, "clusters/eu") and "shop/production/web.yaml" in tree_files(remote, "clusters/eu")
    assert set(tree_files(remote)) == {"README.md"}  # main untouched


def test_publish_records_the_spec_repo_without_credentials(cli, remote, tmp_path):
    source = tmp_path / "app"
    source.mkdir()
    (source / "unhazzle.yaml").write_text(spec_text())
    git("init", "--quiet", "--initial-branch=main", cwd=source)
    git("remote", "add", "origin", "https://bot:s3cr3t-token@git.example.com/acme/shop.git", cwd=source)
    git("add", "-A", cwd=source)
    git("commit", "--quiet", "-m", "Bump web\n\nlonger body", cwd=source)
    head = git("rev-parse", "HEAD", cwd=source).strip()
    assert cli("publish", str(source / "unhazzle.yaml"), "--to", url(remote)).code == 0
    index = index_of(remote, "shop", "production")
    assert index["source"] | {"spec_sha256": ""} == {
        "repo": "https://git.example.com/acme/shop.git",
        "commit": head,
        "message": "Bump web",
        "spec_sha256": "",
    }
    message = commit_message(remote)
    assert f"Source-Commit: {head}" in message
    assert "Source-Repo: https://git.example.com/acme/shop.git" in message
    assert "s3cr3t" not in message


def test_publish_takes_the_source_from_ci_variables(cli, remote, write_spec, monkeypatch):
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    assert cli("publish", str(write_spec(spec_text())), "--to", url(remote)).code == 0
    source = index_of(remote, "shop", "production")["source"]
    assert source["commit"] == "f" * 40 and source["repo"] == "https://github.com/acme/shop"


def test_publish_missing_remote_path_is_bad_input_in_one_line(cli, write_spec, tmp_path):
    result = cli("publish", str(write_spec(spec_text())), "--to", str(tmp_path / "nowhere.git"))
    assert result.code == 2  # a path that is not there is a typo (or a repo not made yet), not an outage
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith(f"{tmp_path / 'nowhere.git'}: error: no such environment repo")
    assert "git init --bare" in result.err
    assert "Traceback" not in result.err


def test_publish_to_a_file_is_bad_input_in_one_line(cli, write_spec, tmp_path):
    (tmp_path / "notes.txt").write_text("not a repo\n")
    result = cli("publish", str(write_spec(spec_text())), "--to", str(tmp_path / "notes.txt"))
    assert result.code == 2
    assert (
        result.err.strip()
        == f"{tmp_path / 'notes.txt'}: error: a file, not an environment repo; give the repo's folder or its URL"
    )


def test_publish_removes_hand_added_files_whatever_their_names(cli, remote, write_spec):
    """Files someone added by hand to the project's environment folder go with its next publish,
    names with quotes, backslashes, tabs, newlines, non-ASCII letters and bytes that are not
    UTF-8 included (said with U+FFFD), and files in folders of their own; another project's
    file with such a name stays."""
    spec = write_spec(spec_text())
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    odd = [
        'shop/production/we"ird\\name.yaml',
        "shop/production/tab\tand\nnewline.yaml",
        "shop/production/größe ü.yaml",
        "shop/production/not\udcffutf8.yaml",  # the byte 0xFF, as the file system hands it over
        "shop/production/a/folder/deeper.yaml",
    ]
    seed_commit(remote, {**dict.fromkeys(odd, "hand-made\n"), "blog/production/keep\nme.yaml": "theirs\n"})
    write_spec(spec_text(instances=(3, 8)))
    result = cli("publish", str(spec), "--to", url(remote), "--output", "json")
    assert result.code == 0, result.err
    said = json.loads(result.out)
    assert {"path": "shop/production/not\ufffdutf8.yaml", "status": "removed"} in said["files"]
    assert "D shop/production/not\ufffdutf8.yaml" in said["message"]
    names = set(exact_tree_files(remote))
    assert not names & set(odd)
    assert "blog/production/keep\nme.yaml" in names
    assert index_of(remote, "shop", "production")["apps"]["web"]["instances"] == {"min": 3, "max": 8}


@pytest.mark.parametrize("where", ["nowhere.git", "file:///nowhere/env.git"])
def test_publish_reports_the_spec_before_the_environment_repo(cli, write_spec, tmp_path, where):
    """The environment repo is fetched while the spec compiles (a path that is not there is
    known at once; a file:// URL to nowhere is fetched, and fails), yet a spec with errors is
    what the user hears of (exit 2, file:line:col); the repo only once the spec is right."""
    to = str(tmp_path / where) if "://" not in where else where
    spec = write_spec(spec_text().replace("port: 8080", "port: eighty"))
    result = cli("publish", str(spec), "--to", to)
    assert result.code == 2
    assert result.err.startswith(f"{spec}:") and "port" in result.err
    assert "environment repo" not in result.err
    write_spec(spec_text())
    result = cli("publish", str(spec), "--to", to)
    assert result.code in (1, 2) and "environment repo" in result.err


def test_publish_waits_for_a_busy_cache_copy_only_when_it_pushes(remote, tmp_path):
    """Two publishes on one machine take turns in the cache copy, but the second does not wait
    for the first to compile: it finds the copy busy, fetches nothing early, and waits only when
    it publishes. Both commits land."""
    options = PublishOptions(cache_dir=tmp_path / "cache")
    shop, blog = _rendered("shop", tmp_path), _rendered("blog", tmp_path)
    outcome: list[str | None] = []
    failed: list[BaseException] = []
    entered = threading.Event()

    def second() -> None:
        try:
            with publishing(url(remote), options) as publisher:
                entered.set()
                outcome.append(publisher.publish("blog", blog, source=Source()).commit)
        except BaseException as exc:  # said by the test, not lost in the thread
            failed.append(exc)

    behind = threading.Thread(target=second)
    try:
        with publishing(url(remote), options) as first:
            behind.start()
            assert entered.wait(timeout=30), "the second publish waited for the first one's lock"
            time.sleep(0.3)
            assert not outcome, "the second publish pushed while the first held the cache copy"
            assert first.publish("shop", shop, source=Source()).commit
    finally:
        behind.join(timeout=60)
    assert not failed, failed
    assert outcome and outcome[0] == tip(remote)
    assert {path.split("/")[0] for path in tree_files(remote)} == {"shop", "blog"}


def _rendered(project: str, folder: Path) -> dict[str, bytes]:
    spec = folder / f"{project}.yaml"
    spec.write_text(spec_text(project=project))
    compiled = compile_file(spec)
    return project_files(compiled.plan, render_plan(compiled.plan), source=Source(), version="test")


def test_publish_stops_the_fetch_it_started_when_the_spec_fails(tmp_path, monkeypatch):
    """A fetch still running when the caller gives up (a spec with errors, Ctrl-C) is stopped:
    nothing of it keeps running once publishing() is left."""
    started = tmp_path / "ssh.pid"
    stand_in = tmp_path / "slow-ssh"  # an SSH transport whose server never answers
    # one that ignores SIGTERM, too, and holds git's messages pipe: killed with the rest
    stand_in.write_text(
        f"#!/bin/sh\ntrap '' TERM\necho $$ > {started}.tmp && mv {started}.tmp {started}\nexec sleep 60\n"
    )
    stand_in.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(stand_in))
    monkeypatch.setenv("GIT_SSH_VARIANT", "ssh")  # the transport itself, not git's probe of it
    options = PublishOptions(cache_dir=tmp_path / "cache")
    with pytest.raises(RuntimeError, match="the spec failed"), publishing("git@envhost:env.git", options):
        for _ in range(200):  # wait until the fetch has reached its transport
            if started.exists():
                break
            time.sleep(0.05)
        raise RuntimeError("the spec failed")
    transport = Path(f"/proc/{int(started.read_text())}/stat")  # stopped with the git that started it
    for _ in range(100):
        if not _running(transport):
            break
        time.sleep(0.05)
    assert not _running(transport)


def _running(stat: Path) -> bool:
    """A live process (one that ended but whose parent is gone may stay a zombie, state Z, for
    want of a reaping init in a container)."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        (["--branch", "../main"], "--branch"),
        (["--branch", "a b"], "--branch"),
        (["--message-trailer", "no colon"], "--message-trailer"),
        (["--message-trailer", "Bad Key: x"], "--message-trailer"),
        (["--attempts", "0"], "--attempts"),
        (
            ["--timeout", "0"],
            "--timeout: error: 0 is out of range; give more than 0 and at most 86400 seconds",
        ),
    ],
)
def test_publish_bad_flags_exit_2(cli, remote, write_spec, flags, complaint):
    result = cli("publish", str(write_spec(spec_text())), "--to", url(remote), *flags)
    assert result.code == 2
    assert complaint in result.err
    assert tip(remote) is None


def test_publish_cache_is_outside_the_checkout(cli, remote, write_spec, tmp_path):
    spec = write_spec(spec_text())
    cli("publish", str(spec), "--to", url(remote))
    assert sorted(p.name for p in spec.parent.iterdir() if p.name not in {"cache", "env.git"}) == [
        "unhazzle.yaml"
    ]
    copies = list((tmp_path / "cache" / "envrepos").iterdir())
    assert any((c / "HEAD").exists() for c in copies)


def test_publish_parallel_publishers_lose_no_commit(remote, tmp_path):
    """Six pipelines at once: three projects, one of them published three times with different
    images; some share a machine (a cache), most do not."""
    jobs = [
        ("shop", "1.1"),
        ("shop", "1.2"),
        ("shop", "1.3"),
        ("blog", "1.0"),
        ("docs", "1.0"),
        ("api", "1.0"),
    ]
    procs = []
    for number, (project, tag) in enumerate(jobs):
        spec = tmp_path / f"spec-{number}" / "unhazzle.yaml"
        spec.parent.mkdir()
        spec.write_text(spec_text(project=project, image=f"ghcr.io/acme/{project}:{tag}"))
        cache = tmp_path / f"machine-{number % 4}"
        procs.append(publish_process(spec, url(remote), cache))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    history = git("--git-dir", str(remote), "rev-list", "--first-parent", "main").split()
    assert sorted(r["commit"] for r in results) == sorted(history)
    assert all(
        len(git("--git-dir", str(remote), "rev-list", "--parents", "-1", c).split()) <= 2 for c in history
    )
    for commit in history:  # every commit holds whole environments: each index's files are there
        files = tree_files(remote, commit)
        for path in (p for p in files if p.endswith("_index.json")):
            folder = path.rsplit("/", 1)[0]
            listed = {f"{folder}/{o['file']}" for o in json.loads(files[path])["objects"]}
            assert listed <= set(files)
    tags = {r["commit"]: tag for r, (project, tag) in zip(results, jobs, strict=True) if project == "shop"}
    last_shop = next(commit for commit in history if commit in tags)  # newest first
    image = index_of(remote, "shop", "production")["apps"]["web"]["image"]
    assert image == f"ghcr.io/acme/shop:{tags[last_shop]}"
    assert {p.split("/")[0] for p in tree_files(remote)} == {"shop", "blog", "docs", "api"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(st.integers(), inner, max_size=3)  # not the index's: json's own text
    ),
    max_leaves=30,
)


@given(JSON)
def test_index_text_is_exactly_what_json_writes(value):
    """The index is written without json's slow indenting encoder, and to the same bytes."""
    assert index_text(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_index_parse_rejects_what_we_did_not_write():
    for text in ("", "[]", '{"format": 2}', '{"format": 1, "apps": []}', "\xff"):
        with pytest.raises(BadIndexError, match=r"^x/_index\.json: "):
            parse_index(text, where="x/_index.json")


def test_index_list_objects_rejects_non_objects():
    with pytest.raises(BadIndexError, match=r"^web\.yaml: "):
        list_objects({"web.yaml": "just: a mapping\n"})


def test_scrub_removes_userinfo_from_any_url():
    text = "fatal: unable to access 'https://bot:tok@host/x.git/' and ssh://git:pw@h:22/y"
    assert scrub(text) == "fatal: unable to access 'https://host/x.git/' and ssh://h:22/y"


def test_remote_url_keeps_urls_and_ssh_and_resolves_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert remote_url("git@github.com:acme/env.git") == "git@github.com:acme/env.git"
    assert remote_url("https://h/x.git") == "https://h/x.git"
    assert remote_url("env.git") == str(tmp_path / "env.git")


@pytest.mark.parametrize("remote", ["--upload-pack=touch /tmp/pwned", "-x", "  "])
def test_publish_rejects_remotes_that_look_like_options(cli, write_spec, remote):
    result = cli("publish", str(write_spec(spec_text())), f"--to={remote}")
    assert result.code == 2
    assert result.err.startswith("--to: ")


def _index(apps: dict, cost: dict | None = None, jobs: dict | None = None) -> dict:
    return {
        "format": 1,
        "apps": apps,
        **({"cost_eur_month": cost} if cost else {}),
        **({"jobs": jobs} if jobs else {}),
    }


WEB = {"image": "ghcr.io/acme/web:1.0", "instances": {"min": 2, "max": 6}, "secrets": []}
REP = {"image": "ghcr.io/acme/rep:1.0", "schedule": "@daily", "timezone": "UTC", "secrets": ["T"],
       "secrets_checksum": "a", "settings_sha256": "s"}  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "touched", "summary"),
    [
        (None, _index({"web": WEB}), ["web"], "new environment, 1 app (web)"),
        (_index({"web": WEB}), None, [], "environment removed"),
        (
            _index({"web": WEB}),
            _index({"web": {**WEB, "instances": {"min": 3, "max": 8}, "secrets": ["A"]}}),
            ["web"],
            "web 2-6 -> 3-8 instances, +1 secret",
        ),
        (
            _index({"web": WEB}),
            _index({"web": {**WEB, "instances": {"min": 1, "max": 1}}}),
            [],
            "web 2-6 -> 1 instance",
        ),
        (_index({"web": {**WEB, "secrets": ["A", "B"]}}), _index({"web": WEB}), [], "-2 secrets"),
        (_index({"web": WEB}), _index({"api": WEB}), [], "+api, -web"),
        (
            _index({"web": WEB}),
            _index({"web": {**WEB, "image": "r/web@sha256:0123456789abcdef0000"}}),
            [],
            "web image 1.0 -> @0123456789ab",
        ),
        (
            _index({"web": WEB}),
            _index({"web": WEB}),
            ["web", "_environment"],
            "web settings, shared settings changed",
        ),
        (
            _index({"web": WEB}, {"min": 10.0, "max": 20.0}),
            _index({"web": WEB}, {"min": 10.0, "max": 30.0}),
            ["web"],
            "cost 10.0-20.0 -> 10.0-30.0 EUR/month",
        ),
        # jobs are said as apps are, by the word job
        (
            None,
            _index({"web": WEB}, jobs={"rep": REP}),
            ["web", "rep"],
            "new environment, 1 app (web), 1 job (rep)",
        ),
        (_index({"web": WEB}), _index({"web": WEB}, jobs={"rep": REP}), ["rep"], "+job rep, +1 secret"),
        (_index({"web": WEB}, jobs={"rep": REP}), _index({"web": WEB}), ["rep"], "-job rep, -1 secret"),
        (
            _index({"web": WEB}, jobs={"rep": REP}),
            _index(
                {"web": WEB}, jobs={"rep": {**REP, "image": "ghcr.io/acme/rep:1.1", "schedule": "@hourly"}}
            ),
            ["rep"],
            "job rep schedule @daily -> @hourly, job rep image 1.0 -> 1.1",
        ),
        (
            _index({"web": WEB}, jobs={"rep": REP}),
            _index({"web": WEB}, jobs={"rep": {**REP, "secrets_checksum": "b"}}),
            ["rep"],
            "job rep secret values changed",
        ),
        (
            _index({"web": WEB}, jobs={"rep": REP}),
            _index({"web": WEB}, jobs={"rep": REP}),
            ["rep"],
            "job rep settings changed",
        ),
    ],
)
def test_changes_summary_in_words(old, new, touched, summary):
    assert summarize(old, new, touched) == summary


def test_changes_only_this_project():
    old = {
        "shop/production/web.yaml": "1" * 40,
        "shop/production/_secrets.json": "2" * 40,
        "shop/production/old.yaml": "3" * 40,
        "shop/README.md": "4" * 40,
    }
    new = {"shop/production/web.yaml": b"kind: X\n"}
    changes = plan_changes("shop", new, old, old_indexes={}, allow_delete=False)
    assert changes.removals == ["shop/production/_secrets.json", "shop/production/old.yaml"]
    assert set(changes.writes) == {"shop/production/web.yaml"}


def test_changes_blob_id_matches_git(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    assert blob_id(b"hello\n") == git("hash-object", str(path)).strip()


@pytest.mark.parametrize("name", ["github-actions-publish.yml", "gitlab-ci-publish.yml"])
def test_publish_example_pipelines_run_publish_on_main(name):
    from ruamel.yaml import YAML

    text = (EXAMPLES / "ci" / name).read_text()
    assert YAML(typ="safe").load(text)
    assert "unhazzle publish unhazzle.yaml" in text and "--output json" in text and "main" in text


def test_publish_retries_on_the_new_tip_when_another_push_wins(cli, remote, write_spec):
    """A hook on the remote lets a competing commit land while our push is being received, so
    the first push is rejected for certain; publish must fetch, re-apply and push again."""
    spec = write_spec(spec_text())
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    rival = seed_commit(remote, {"blog/production/web.yaml": "kind: Rival\n"}, branch="rival")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        'if [ ! -e "$GIT_DIR/raced" ]; then touch "$GIT_DIR/raced"; '
        f"unset GIT_QUARANTINE_PATH; git update-ref refs/heads/main {rival}; fi\n"
    )
    hook.chmod(0o755)
    write_spec(spec_text(instances=(3, 8)))
    result = cli("publish", str(spec), "--to", url(remote), "--output", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["attempts"] == 2
    assert git("--git-dir", str(remote), "rev-parse", "main^").strip() == rival
    assert tree_files(remote)["blog/production/web.yaml"] == b"kind: Rival\n"
    assert index_of(remote, "shop", "production")["apps"]["web"]["instances"] == {"min": 3, "max": 8}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(
    old=st.dictionaries(st.sampled_from(["apps", "cost_eur_month", "format"]), JSON, max_size=3),
    apps=st.dictionaries(st.text(max_size=4), JSON, max_size=3),
)
def test_changes_summary_survives_hand_edited_indexes(old, apps):
    """An index in the repo may have been edited by hand: the summary still comes out as text."""
    for candidate in (old, {**old, "apps": apps}):
        assert isinstance(summarize(candidate, _index({"web": WEB}), ["web"]), str)


def test_publish_recovers_from_a_killed_earlier_run(cli, remote, write_spec, tmp_path):
    spec = write_spec(spec_text())
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    [copy] = [c for c in (tmp_path / "cache" / "envrepos").iterdir() if c.is_dir()]
    (copy / "shallow.lock").write_text("left by a killed fetch\n")
    (copy / "refs" / "unhazzle").mkdir(parents=True, exist_ok=True)
    (copy / "refs" / "unhazzle" / "tip.lock").write_text("")
    write_spec(spec_text(instances=(3, 8)))
    result = cli("publish", str(spec), "--to", url(remote))
    assert result.code == 0, result.err


def test_publish_gives_up_after_bounded_attempts(remote, write_spec, tmp_path):
    """A remote where someone always pushes first: publish stops after its attempts, exit 1."""
    spec = write_spec(spec_text())
    seed_commit(remote, {"README.md": "env repo\n"})
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nunset GIT_QUARANTINE_PATH\n"
        "new=$(git commit-tree refs/heads/main^{tree} -p refs/heads/main -m rival)\n"
        "git update-ref refs/heads/main $new\n"
    )
    hook.chmod(0o755)
    compiled = compile_file(spec)
    files = project_files(compiled.plan, render_plan(compiled.plan), source=Source(), version="test")
    options = PublishOptions(attempts=3, backoff_s=0.01, cache_dir=tmp_path / "cache")
    with pytest.raises(OperationError, match="gave up after 3 attempts") as raised:
        publish("shop", files, url(remote), source=Source(), options=options)
    assert raised.value.exit_code == 1
    assert commit_count(remote) == 4  # the seed and three rivals; none of ours
    assert not any(path.startswith("shop/") for path in tree_files(remote))


def test_publish_ignores_the_callers_git_dir(cli, remote, write_spec, tmp_path, monkeypatch):
    """Run from a Git hook (GIT_DIR set to the user's repo): the user's repo is not touched."""
    users = bare_repo(tmp_path / "users.git")
    monkeypatch.setenv("GIT_DIR", str(users))
    spec = write_spec(spec_text())
    assert cli("publish", str(spec), "--to", url(remote)).code == 0
    write_spec(spec_text(instances=(3, 8)))
    result = cli("publish", str(spec), "--to", url(remote))
    assert result.code == 0, result.err
    assert "web 2-6 -> 3-8 instances" in result.out  # the old index was read from the right repo
    assert tip(remote) and tip(users) is None
    assert git("--git-dir", str(users), "for-each-ref").strip() == ""


def test_publish_unusable_cache_folder_fails_in_one_line(cli, remote, write_spec, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should go\n")
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(blocker))
    result = cli("publish", str(write_spec(spec_text())), "--to", url(remote))
    assert result.code == 1
    assert result.err.startswith(f"{blocker / 'envrepos'}: cannot use the cache folder")
    assert tip(remote) is None


@pytest.mark.parametrize("held", [False, True], ids=["free", "held by another publish"])
def test_publish_on_a_file_system_without_locks_fails_in_one_line(cli, remote, write_spec, monkeypatch, held):
    """Some network mounts refuse flock(2) (ENOLCK): said so, nothing pushed. A stand-in for
    that file system, which cannot be mounted here; the lock is taken both ways publish takes it."""
    real = fcntl.flock

    def refused(fd: Any, operation: int) -> None:
        if held and operation & fcntl.LOCK_NB:
            raise BlockingIOError(errno.EWOULDBLOCK, "busy")
        if operation & fcntl.LOCK_EX:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", refused)
    result = cli("publish", str(write_spec(spec_text())), "--to", url(remote))
    assert result.code == 1, result.err
    assert result.err.count("\n") == 1 and "cannot lock the cache copy: No locks available" in result.err
    assert tip(remote) is None


def test_publish_source_flags_cannot_forge_trailers(cli, remote, write_spec):
    spec = write_spec(spec_text())
    forged = "https://git.example.com/acme/shop\nUnhazzle-Version: 99"
    assert cli("publish", str(spec), "--to", url(remote), "--source-repo", forged).code == 0
    message = commit_message(remote)
    assert "Source-Repo: https://git.example.com/acme/shop\n" in message
    assert "Unhazzle-Version: 99" not in message


def test_publish_sign_makes_a_commit_the_reconciler_trusts(cli, remote, tmp_path, monkeypatch):
    from tests.support.signing import ssh_key
    from unhazzle.reconciler.source.git import GitSource
    from unhazzle.reconciler.source.signatures import load

    key = ssh_key(tmp_path / "keys", "ci")
    for name, value in key.env.items():  # the user's Git signing settings
        monkeypatch.setenv(name, value)
    result = cli("publish", str(SHOP), "--to", url(remote), "--sign")
    assert result.code == 0, result.err
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(key.trusted_line, encoding="utf-8")
    source = GitSource(
        str(remote), "main", tmp_path / "rc", trust=load(allowed, None, tmp_path / "rc" / "trust")
    )
    commit = tip(remote)
    assert commit is not None
    source.fetch(commit)
    assert sorted(source.read(commit).environments) == ["shop/production", "shop/staging"]


def test_publish_sign_without_a_signing_key_fails_and_pushes_nothing(cli, remote, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "gpg.format")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "ssh")
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "user.signingkey")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", "/nonexistent/key")
    result = cli("publish", str(SHOP), "--to", url(remote), "--sign")
    assert result.code == 1 and "commit-tree failed" in result.err, result.err
    assert tip(remote) is None
