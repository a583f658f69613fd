"""`unhazzle history` and `unhazzle rollback`, against real bare repositories: a rollback is a
commit of an earlier deploy's files that says so, and publish will not deploy the rolled-back
version again until it changes or is told to."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import MINIMAL, Result
from tests.support.gitrepos import (
    bare_repo,
    commit_count,
    commit_message,
    exact_tree_files,
    seed_commit,
    tree_files,
)
from unhazzle.compiler.publishing import rollback
from unhazzle.errors import OperationError, UsageError
from unhazzle.shared import sealed

RunCli = Callable[..., Result]
WriteSpec = Callable[[str], Path]

SPEC = MINIMAL + "  api:\n    image: ghcr.io/acme/api:1.0\n    instances: {min: 1, max: 2}\n"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def remote(tmp_path: Path) -> str:
    return f"file://{bare_repo(tmp_path / 'env.git')}"


def deploy(cli: RunCli, write_spec: WriteSpec, remote: str, text: str, *extra: str) -> Result:
    return cli("publish", str(write_spec(text)), "--to", remote, *extra)


def folder(remote: str, env: str = "production") -> dict[str, bytes]:
    files = tree_files(Path(remote.removeprefix("file://")))
    skip = ("_index.json", "_rollback.json")
    return {p: d for p, d in files.items() if p.startswith(f"shop/{env}/") and not p.endswith(skip)}


def marker(remote: str) -> dict | None:
    files = tree_files(Path(remote.removeprefix("file://")))
    data = files.get("shop/production/_rollback.json")
    return json.loads(data) if data else None


def test_history_lists_each_deploy_newest_first_in_words(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    v2 = SPEC.replace("api:1.0", "api:1.1").replace("{min: 1, max: 2}", "{min: 2, max: 4}")
    assert deploy(cli, write_spec, remote, v2).code == 0
    spec = str(write_spec(v2))
    result = cli("history", "--spec", spec, "--repo", remote, "--output", "json")
    assert result.code == 0, result.err
    [env] = json.loads(result.out)["environments"]
    newest, first = env["deploys"]
    assert newest["changes"] == ["api: image 1.0 -> 1.1", "api: 1-2 -> 2-4 instances"]
    assert newest["outcome"] == "running now" and first["outcome"] == "replaced"
    assert first["changes"] == ["added api", "added web"]
    text = cli("history", "--spec", spec, "--repo", remote, "api").out
    assert "api: image 1.0 -> 1.1; api: 1-2 -> 2-4 instances" in text


def test_history_of_an_environment_the_spec_no_longer_has_is_its_folders_history(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    both = SPEC.replace("  production: {}\n", "  production: {}\n  uat: {}\n")
    assert deploy(cli, write_spec, remote, both).code == 0
    assert deploy(cli, write_spec, remote, SPEC, "--allow-delete-environment").code == 0
    spec = str(write_spec(SPEC))
    result = cli("history", "--spec", spec, "--repo", remote, "--env", "uat", "--output", "json")
    assert result.code == 0, result.err
    [env] = json.loads(result.out)["environments"]
    assert env["environment"] == "uat" and len(env["deploys"]) == 2
    # a name that is in neither is still the spec's error, said where it names its environments
    unknown = cli("history", "--spec", spec, "--repo", remote, "--env", "nope")
    assert unknown.code == 2 and ": error: no environment named 'nope'" in unknown.err


def test_history_says_which_files_a_hand_edit_changed_that_the_index_does_not_record(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    repo = Path(remote.removeprefix("file://"))
    web = tree_files(repo)["shop/production/web.yaml"].decode() + "# edited by hand\n"
    seed_commit(repo, {"shop/production/web.yaml": web}, "tune web by hand")
    spec = str(write_spec(SPEC))
    text = cli("history", "--spec", spec, "--repo", remote).out
    assert "web.yaml changed by hand (nothing its index records)" in text
    data = json.loads(cli("history", "--spec", spec, "--repo", remote, "--output", "json").out)
    newest = data["environments"][0]["deploys"][0]
    assert newest["changes"] == [] and newest["files"] == ["web.yaml"]


def test_rollback_commits_the_earlier_files_and_publish_will_not_undo_it(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    good = folder(remote)
    broken = SPEC.replace("api:1.0", "api:1.1")
    assert deploy(cli, write_spec, remote, broken).code == 0
    bad = folder(remote)

    rolled = cli("rollback", "--spec", str(write_spec(broken)), "--env", "production", "--repo", remote)
    assert rolled.code == 0, rolled.err
    assert folder(remote) == good  # what ran before, byte for byte
    message = commit_message(Path(remote.removeprefix("file://")))
    assert message.startswith("Roll back shop/production to ")
    assert "Unhazzle-Rollback: shop/production " in message
    assert marker(remote)["what"] == "shop/production"  # in force

    history = json.loads(
        cli("history", "--spec", str(write_spec(broken)), "--repo", remote, "--output", "json").out
    )
    newest, undone, _ = history["environments"][0]["deploys"]
    assert newest["rollback_of"]["what"] == "shop/production" and undone["outcome"] == "rolled back"

    # Publishing the same broken spec again is refused, nothing written...
    again = deploy(cli, write_spec, remote, broken)
    assert (
        again.code == 2
        and "shop/production: error: rolled back from" in again.err
        and "--replace-rollback" in again.err
    )
    assert folder(remote) == good
    # ... a fix goes out ...
    fixed = SPEC.replace("api:1.0", "api:1.2")
    assert deploy(cli, write_spec, remote, fixed).code == 0
    assert folder(remote) != good and marker(remote) is None  # no longer in force
    # ... and after a second rollback, the flag deploys the rolled-back version anyway.
    assert (
        cli("rollback", "--spec", str(write_spec(fixed)), "--env", "production", "--repo", remote).code == 0
    )
    assert deploy(cli, write_spec, remote, fixed).code == 2
    assert deploy(cli, write_spec, remote, fixed, "--replace-rollback").code == 0
    assert folder(remote) != bad


def test_one_app_goes_back_alone(cli: RunCli, write_spec: WriteSpec, remote: str) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    first = folder(remote)
    both = SPEC.replace("api:1.0", "api:1.1").replace("ghcr.io/acme/web:1.0", "ghcr.io/acme/web:2.0")
    assert deploy(cli, write_spec, remote, both).code == 0
    second = folder(remote)
    result = cli("rollback", "api", "--spec", str(write_spec(both)), "--env", "production", "--repo", remote)
    assert result.code == 0, result.err
    now = folder(remote)
    assert now["shop/production/api.yaml"] == first["shop/production/api.yaml"]
    assert now["shop/production/web.yaml"] == second["shop/production/web.yaml"]


def test_one_app_takes_its_secret_values_back_with_it_and_leaves_the_others() -> None:
    # The app's file carries its secret values' checksum: file and values go back together.
    def secrets(apps: dict[str, dict[str, str]]) -> bytes:
        return sealed.encode(["age1me"], apps).encode()

    now = {
        "shop/production/web.yaml": b"web v2",
        "shop/production/api.yaml": b"api v2",
        "shop/production/_secrets.json": secrets({"web": {"KEY": "new"}, "api": {"TOKEN": "api-new"}}),
    }
    then = {
        "shop/production/web.yaml": b"web v1",
        "shop/production/api.yaml": b"api v1",
        "shop/production/_secrets.json": secrets({"web": {"KEY": "old"}, "api": {"TOKEN": "api-old"}}),
    }
    files = rollback.files_after(now, then, project="shop", environment="production", app="web")
    assert files["shop/production/web.yaml"] == b"web v1" and files["shop/production/api.yaml"] == b"api v2"
    assert sealed.parse(files["shop/production/_secrets.json"].decode()) == {
        "api": {"TOKEN": "api-new"},
        "web": {"KEY": "old"},
    }
    # an app that had no secret values then has none after going back; a file left empty goes
    then["shop/production/_secrets.json"] = secrets({"api": {"TOKEN": "api-old"}})
    files = rollback.files_after(now, then, project="shop", environment="production", app="web")
    assert sealed.parse(files["shop/production/_secrets.json"].decode()) == {"api": {"TOKEN": "api-new"}}
    del then["shop/production/_secrets.json"]
    now["shop/production/_secrets.json"] = secrets({"web": {"KEY": "new"}})
    files = rollback.files_after(now, then, project="shop", environment="production", app="web")
    assert "shop/production/_secrets.json" not in files


def test_one_app_never_goes_back_to_values_sealed_to_other_keys_nor_past_an_unreadable_file() -> None:
    now = {
        "shop/production/_secrets.json": sealed.encode(
            ["age1new"], {"web": {"K": "n"}, "api": {"T": "a"}}
        ).encode()
    }
    then = {"shop/production/_secrets.json": sealed.encode(["age1old"], {"web": {"K": "o"}}).encode()}
    with pytest.raises(UsageError, match="web: its secret values then were sealed to other keys"):
        rollback.files_after(now, then, project="shop", environment="production", app="web")
    now["shop/production/_secrets.json"] = b'{"format": 1, "recipients": "age1new", "apps": {}}'
    with pytest.raises(OperationError, match="recipients must be a list of keys"):
        rollback.files_after(now, then, project="shop", environment="production", app="web")


def test_a_fingerprint_reads_a_name_that_is_not_utf8_as_git_wrote_it() -> None:
    odd = "shop/production/caf\udce9.yaml"  # (a Latin-1 name, as the repo's reading keeps it)
    files = {odd: b"x", "shop/production/web.yaml": b"w"}
    assert rollback.fingerprint(files, "shop/production") != rollback.fingerprint(
        {**files, odd: b"y"}, "shop/production"
    )


def test_a_rollback_to_what_runs_now_is_refused_and_commits_nothing(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    first = json.loads(
        cli("history", "--spec", str(write_spec(SPEC)), "--repo", remote, "--output", "json").out
    )
    first_revision = first["environments"][0]["deploys"][0]["revision"]
    v2 = SPEC.replace("ghcr.io/acme/web:1.0", "ghcr.io/acme/web:2.0")
    assert deploy(cli, write_spec, remote, v2).code == 0
    repo = Path(remote.removeprefix("file://"))
    before = commit_count(repo)
    spec = str(write_spec(v2))
    # api is as it was in the first deploy: nothing to go back to
    result = cli(
        "rollback", "api", "--spec", spec, "--env", "production", "--repo", remote, "--to", first_revision
    )
    assert result.code == 2
    assert f"--to: error: shop/production/api runs now what {first_revision[:12]} ran" in result.err
    assert commit_count(repo) == before and marker(remote) is None
    assert deploy(cli, write_spec, remote, v2.replace("web:2.0", "web:2.1")).code == 0  # nothing blocks


def test_rolling_back_again_never_goes_to_the_version_a_rollback_undid(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    good = folder(remote)
    bad = SPEC.replace("api:1.0", "api:1.1").replace("ghcr.io/acme/web:1.0", "ghcr.io/acme/web:2.0")
    assert deploy(cli, write_spec, remote, bad).code == 0
    spec = str(write_spec(bad))
    assert cli("rollback", "api", "--spec", spec, "--env", "production", "--repo", remote).code == 0
    # the environment goes back past the deploy a rollback undid (api 1.1), to the one before it
    result = cli("rollback", "--spec", spec, "--env", "production", "--repo", remote)
    assert result.code == 0, result.err
    assert folder(remote) == good


def test_a_second_rollback_goes_back_past_what_the_first_restored(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    for version in ("1.0", "1.1", "1.2"):
        assert deploy(cli, write_spec, remote, SPEC.replace("api:1.0", f"api:{version}")).code == 0
        if version == "1.0":
            first = folder(remote)
    spec = str(write_spec(SPEC.replace("api:1.0", "api:1.2")))
    assert cli("rollback", "--spec", spec, "--env", "production", "--repo", remote).code == 0  # to 1.1
    again = cli("rollback", "--spec", spec, "--env", "production", "--repo", remote)
    assert again.code == 0, again.err
    assert folder(remote) == first  # 1.0: the newest deploy that ran something else


def test_nothing_to_roll_back_to_is_said_plainly(cli: RunCli, write_spec: WriteSpec, remote: str) -> None:
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    spec = str(write_spec(SPEC))
    result = cli("rollback", "--spec", spec, "--env", "production", "--repo", remote)
    assert result.code == 2 and "nothing to roll back to" in result.err
    result = cli("rollback", "--spec", spec, "--env", "production", "--repo", remote, "--to", "deadbeef")
    assert result.code == 2 and "--to: error: 'deadbeef' is not an earlier deploy of it" in result.err


def test_the_preview_says_a_rollback_is_in_force_and_what_the_change_does_to_it(
    cli: RunCli, write_spec: WriteSpec, remote: str, tmp_path: Path
) -> None:
    import git

    assert deploy(cli, write_spec, remote, SPEC).code == 0
    broken = SPEC.replace("api:1.0", "api:1.1")
    assert deploy(cli, write_spec, remote, broken).code == 0
    assert (
        cli("rollback", "--spec", str(write_spec(broken)), "--env", "production", "--repo", remote).code == 0
    )

    source = git.Repo.init(tmp_path / "src", initial_branch="main")
    with source.config_writer() as cfg:
        cfg.set_value("user", "name", "T").set_value("user", "email", "t@example.com")
    spec = tmp_path / "src" / "unhazzle.yaml"
    spec.write_text(broken)
    source.index.add(["unhazzle.yaml"])
    source.index.commit("base")
    spec.write_text(broken.replace("instances: {min: 1, max: 2}", "instances: {min: 1, max: 3}"))

    def preview(*extra: str) -> Result:
        return cli("preview", str(spec), "--base", "main", "--env-repo", remote, *extra)

    data = json.loads(preview("--output", "json").out)
    [back] = data["rollbacks"]
    assert back["what"] == "shop/production" and back["would_redeploy"] is False
    assert "this change deploys another version, so publishing it ends the rollback" in preview().out

    spec.write_text(broken + "# only a comment: the rolled-back version again\n")
    assert json.loads(preview("--output", "json").out)["rollbacks"][0]["would_redeploy"] is True
    assert "`unhazzle publish` refuses it without `--replace-rollback`" in preview().out


def test_a_rollback_touches_its_own_folder_only_and_leaves_previews_alone(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    with_previews = SPEC.replace("  production: {}\n", "  production: {}\n  staging: {}\n")
    with_previews += "previews: {from: staging}\n"
    assert deploy(cli, write_spec, remote, with_previews).code == 0
    spec = str(write_spec(with_previews))
    assert cli("preview-env", "up", "--name", "pr-1", "--to", remote, "--spec", spec).code == 0
    assert deploy(cli, write_spec, remote, with_previews.replace("api:1.0", "api:1.1")).code == 0
    before = tree_files(Path(remote.removeprefix("file://")))
    back = cli("rollback", "--spec", spec, "--env", "production", "--repo", remote)
    assert back.code == 0, back.err
    after = tree_files(Path(remote.removeprefix("file://")))
    changed = sorted(p for p in {*before, *after} if before.get(p) != after.get(p))
    assert changed and all(p.startswith("shop/production/") for p in changed), changed
    assert b"api:1.0" in after["shop/production/api.yaml"]


def test_a_rollback_brings_back_a_hand_added_file_whatever_its_name(
    cli: RunCli, write_spec: WriteSpec, remote: str
) -> None:
    """A name that is not UTF-8 comes back byte for byte, not as U+FFFD or not at all."""
    repo = Path(remote.removeprefix("file://"))
    assert deploy(cli, write_spec, remote, SPEC).code == 0
    odd = "shop/production/not\udcffutf8.yaml"  # the byte 0xFF, as the file system hands it over
    seed_commit(repo, {odd: "hand-made\n"})
    kept = exact_tree_files(repo)
    assert kept[odd] == b"hand-made\n"
    broken = SPEC.replace("api:1.0", "api:1.1")
    assert deploy(cli, write_spec, remote, broken).code == 0
    assert odd not in exact_tree_files(repo)  # publish removes what it did not write

    rolled = cli("rollback", "--spec", str(write_spec(broken)), "--env", "production", "--repo", remote)
    assert rolled.code == 0, rolled.err
    back = exact_tree_files(repo)
    assert back[odd] == b"hand-made\n"
    assert {p: d for p, d in back.items() if not p.endswith("_rollback.json")} == kept


@pytest.mark.parametrize("command", [["history"], ["rollback", "--env", "production"]])
def test_an_empty_repo_is_named_by_its_own_flag(
    cli: RunCli, write_spec: WriteSpec, command: list[str]
) -> None:
    result = cli(*command, "--spec", str(write_spec(SPEC)), "--repo", "")
    assert result.code == 2
    assert "--repo: error: '' is not a repository path or URL" in result.err
