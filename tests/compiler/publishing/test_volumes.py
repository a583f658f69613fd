"""Nobody loses data by accident: what preview and publish say and do when a change would delete
an app's volume, take it from the app, or ask a disk to shrink (compiler/publishing/volumes.py). Real Git
repositories for the spec and for the environment repo; the cluster side is in
test_volumes_cluster.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import git
import pytest

from tests.conftest import EXAMPLES
from tests.support.gitrepos import bare_repo, commit_count, commit_message, seed_commit, show, tip, tree_files
from tests.support.specs import SMALL, renamed, without_app, without_volume
from unhazzle.compiler.publishing.volumes import (
    Disk,
    VolumeChange,
    disks_in_manifests,
    refusal,
    volume_changes,
)
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.sync.volumes import refusal_in_words, waits_for_room

SHOP = (EXAMPLES / "shop" / "unhazzle.yaml").read_text(encoding="utf-8")
KUBE_WORDS = re.compile(r"persistent ?volume ?claim|\bpvc\b|namespace|\bpod\b|deployment", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "CI_COMMIT_SHA", "CI_PROJECT_URL", "CI_COMMIT_TITLE"):
        monkeypatch.delenv(name, raising=False)


def outside_diffs(markdown: str) -> str:
    """The comment without its manifest blocks: the only place Kubernetes words may appear."""
    return re.sub(r"<details><summary>Manifest changes.*?</details>", "", markdown, flags=re.DOTALL)


# -- preview -------------------------------------------------------------------------------------


@pytest.fixture
def spec_repo(tmp_path: Path) -> Path:
    """A project repo whose main holds the shop example; the test edits the working tree."""
    root = tmp_path / "project"
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test").set_value("user", "email", "test@example.com")
    (root / "unhazzle.yaml").write_text(SHOP, encoding="utf-8")
    repo.index.add(["unhazzle.yaml"])
    repo.index.commit("base")
    return root / "unhazzle.yaml"


def preview(cli, spec: Path, text: str) -> tuple[str, dict]:
    spec.write_text(text, encoding="utf-8")
    markdown = cli("preview", str(spec), "--base", "main")
    data = cli("preview", str(spec), "--base", "main", "--output", "json")
    assert markdown.code == 0 and data.code == 0, markdown.err + data.err
    return markdown.out, json.loads(data.out)


def test_preview_renamed_app_says_its_disk_and_data_will_be_deleted(cli, spec_repo):
    markdown, data = preview(cli, spec_repo, renamed(SHOP, "cache", "redis"))
    lost = data["volumes"]["changes"]
    assert [(c["environment"], c["app"], c["change"], c["renamed_to"]) for c in lost] == [
        ("production", "cache", "deleted", "redis"),
        ("staging", "cache", "deleted", "redis"),
    ]
    assert data["volumes"]["publish_refuses"] and data["volumes"]["allow_flag"] == "--allow-delete-volume"
    words = outside_diffs(markdown)
    assert "### ⚠️ Data on volumes will be lost" in words
    assert (
        "production: app 'cache' is removed, so its 5 GB volume and all the data on it will be deleted"
        in words
    )
    assert "keep the name 'cache'" in words
    assert "`unhazzle publish` refuses this unless given `--allow-delete-volume`" in words
    assert not KUBE_WORDS.search(words)
    # the warning comes before the environments, where a reviewer reads first
    assert words.index("Data on volumes") < words.index("### production")


def test_preview_removed_app_with_a_volume_warns(cli, spec_repo):
    markdown, data = preview(cli, spec_repo, without_app(SHOP, "cache").replace("apps.cache", "apps.api"))
    assert {(c["environment"], c["change"], c["renamed_to"]) for c in data["volumes"]["changes"]} == {
        ("production", "deleted", None),
        ("staging", "deleted", None),
    }
    assert "keep the name" not in markdown  # no rename, so no false hint
    assert "5 GB volume and all the data on it will be deleted" in markdown


def test_preview_volume_taken_from_an_app_that_stays_warns(cli, spec_repo):
    markdown, data = preview(cli, spec_repo, without_volume(SHOP))
    [production, _] = data["volumes"]["changes"]
    assert production["change"] == "detached" and production["data_lost"]
    assert "app 'cache' no longer has its 5 GB volume at /data, so it will start without the data" in markdown
    assert "`--allow-delete-volume`" in markdown
    assert not KUBE_WORDS.search(outside_diffs(markdown))


def test_preview_smaller_volume_is_called_impossible(cli, spec_repo):
    markdown, data = preview(cli, spec_repo, SHOP.replace("size: 5GB, path: /data", "size: 2GB, path: /data"))
    changes = data["volumes"]["changes"]
    assert {(c["change"], c["possible"], c["data_lost"]) for c in changes} == {("shrunk", False, False)}
    assert changes[0]["size_mb"] == {"before": 5120, "after": 2048}
    assert "its volume made smaller, from 5 GB to 2 GB: a disk only grows" in markdown
    assert "`unhazzle publish` refuses a smaller volume: a disk cannot shrink (" in markdown
    assert "Data on volumes will be lost" not in markdown


def test_preview_larger_or_moved_volume_is_a_plain_note(cli, spec_repo):
    markdown, data = preview(
        cli, spec_repo, SHOP.replace("size: 5GB, path: /data", "size: 8GB, path: /var/db")
    )
    kinds = [(c["environment"], c["change"]) for c in data["volumes"]["changes"]]
    assert kinds == [
        ("production", "grown"),
        ("production", "moved"),
        ("staging", "grown"),
        ("staging", "moved"),
    ]
    assert not data["volumes"]["publish_refuses"]
    assert "### Volumes" in markdown and "refuses" not in markdown
    assert "grown from 5 GB to 8 GB; the data stays" in markdown
    assert "sees its volume at /var/db instead of /data" in markdown


def test_preview_without_volume_changes_has_no_volume_section(cli, spec_repo):
    markdown, data = preview(cli, spec_repo, SHOP.replace("shop-web:1.4.2", "shop-web:1.4.3"))
    assert data["volumes"] is None
    assert "Volumes" not in markdown


# -- publish -------------------------------------------------------------------------------------


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return bare_repo(tmp_path / "env.git")


def publish(cli, write_spec, remote: Path, text: str, *flags: str):
    spec = write_spec(text)
    return cli("publish", str(spec), "--to", f"file://{remote}", *flags)


def test_publish_says_every_refusal_at_once(cli, write_spec, remote):
    # an environment dropped and a volume's app renamed: both flags named in one go, not one a run
    assert publish(cli, write_spec, remote, SMALL).code == 0
    before = tip(remote)
    changed = renamed(SMALL, "cache", "redis").replace("  staging: {}\n", "")
    refused = publish(cli, write_spec, remote, changed)
    assert refused.code == 2
    lines = refused.err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("shop/staging: error: the spec no longer has this environment")
    assert lines[0].endswith("pass --allow-delete-environment to do that")
    assert lines[1].startswith("shop/production: error: app 'cache' is removed, so its 5 GB volume")
    assert lines[1].endswith("pass --allow-delete-volume")
    assert tip(remote) == before
    both = ("--allow-delete-environment", "--allow-delete-volume")
    assert publish(cli, write_spec, remote, changed, *both).code == 0


def test_publish_refuses_to_delete_a_renamed_apps_volume_without_the_flag(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    before = tip(remote)
    refused = publish(cli, write_spec, remote, renamed(SMALL, "cache", "redis"))
    assert refused.code == 2
    assert refused.err.splitlines() == [
        f"shop/{env}: error: app 'cache' is removed, so its 5 GB volume and all the data on it will be deleted; "
        "it looks renamed to 'redis', but the data does not follow a new name: to keep it, keep the name "
        "'cache'; to delete it all the same, pass --allow-delete-volume"
        for env in ("production", "staging")
    ]
    assert tip(remote) == before and "Traceback" not in refused.err
    allowed = publish(cli, write_spec, remote, renamed(SMALL, "cache", "redis"), "--allow-delete-volume")
    assert allowed.code == 0, allowed.err
    assert "shop/production/cache.yaml" not in tree_files(remote)
    message = commit_message(remote)
    assert (
        "production: app 'cache' is removed, so its 5 GB volume and all the data on it will be deleted"
        in message
    )
    # What the user allowed, in words the reconciler reads: it deletes no volume a commit did not name.
    assert message.rstrip().endswith(
        "\nUnhazzle-Allow-Delete-Volume: shop/production/cache, shop/staging/cache"
    )


def test_publish_refuses_to_take_a_volume_from_an_app_without_the_flag(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    refused = publish(cli, write_spec, remote, without_volume(SMALL))
    assert refused.code == 2
    assert "shop/production: error: app 'cache' no longer has its 5 GB volume" in refused.err
    assert "--allow-delete-volume" in refused.err and commit_count(remote) == 1
    assert publish(cli, write_spec, remote, without_volume(SMALL), "--allow-delete-volume").code == 0
    assert b"PersistentVolumeClaim" not in show(remote, "main:shop/production/cache.yaml")


def test_publish_refuses_a_smaller_volume_even_with_the_delete_flag(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    smaller = SMALL.replace("size: 5GB", "size: 1GB")
    for flags in ((), ("--allow-delete-volume",), ("--dry-run",)):
        refused = publish(cli, write_spec, remote, smaller, *flags)
        assert refused.code == 2
        assert (
            "shop/production: error: app 'cache' has its volume made smaller, from 5 GB to 1 GB"
            in refused.err
        )
        assert "keep it at 5 GB or more" in refused.err
        assert "--allow-smaller-volume" in refused.err  # the way back for a disk that never grew
    assert commit_count(remote) == 1


def test_publish_sets_a_volume_back_after_the_cluster_refused_to_grow_it(cli, write_spec, remote):
    """A grown volume the cluster could not grow is refused by the reconciler, which keeps the
    old disk: setting the size back is the way forward, with the flag that says so."""
    assert publish(cli, write_spec, remote, SMALL).code == 0
    assert publish(cli, write_spec, remote, SMALL.replace("size: 5GB", "size: 10GB")).code == 0
    back = publish(cli, write_spec, remote, SMALL, "--allow-smaller-volume")
    assert back.code == 0, back.err
    assert b'storage: "5Gi"' in show(remote, "main:shop/production/cache.yaml")
    assert commit_count(remote) == 3


def test_publish_larger_volume_and_new_path_go_through_and_are_named(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    result = publish(
        cli, write_spec, remote, SMALL.replace("size: 5GB, path: /data", "size: 20GB, path: /db")
    )
    assert result.code == 0, result.err
    assert (
        "production: app 'cache' has its volume grown from 5 GB to 20 GB; the data stays"
        in commit_message(remote)
    )
    assert b'storage: "20Gi"' in show(remote, "main:shop/production/cache.yaml")


def test_publish_compares_with_the_repo_not_the_old_spec(cli, write_spec, remote):
    """A size raised by hand in the environment repo is what the disk has: the spec's smaller
    size would shrink it, so publish refuses though the spec itself did not change."""
    assert publish(cli, write_spec, remote, SMALL).code == 0
    manifest = show(remote, "main:shop/production/cache.yaml").decode()
    seed_commit(remote, {"shop/production/cache.yaml": manifest.replace('storage: "5Gi"', "storage: 40Gi")})
    refused = publish(cli, write_spec, remote, SMALL)
    assert refused.code == 2
    assert (
        "shop/production: error: app 'cache' has its volume made smaller, from 40 GB to 5 GB" in refused.err
    )


def test_publish_finds_volumes_behind_an_unreadable_index_and_hostile_labels(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    manifest = show(remote, "main:shop/production/cache.yaml").decode()
    hostile = manifest.replace('unhazzle.io/app: "cache"', 'unhazzle.io/app: "ca\\u001b[2Jche"')
    assert hostile != manifest
    seed_commit(remote, {"shop/production/_index.json": "{not json", "shop/production/cache.yaml": hostile})
    refused = publish(cli, write_spec, remote, without_app(SMALL, "cache"))
    assert refused.code == 2
    assert "shop/production: error: app 'ca\\x1b[2Jche' is removed, so its 5 GB volume" in refused.err
    assert "\x1b" not in refused.err


def test_publish_removed_environment_keeps_its_volumes_so_needs_only_its_own_flag(cli, write_spec, remote):
    assert publish(cli, write_spec, remote, SMALL).code == 0
    only_production = SMALL.replace("  staging: {}\n", "")
    result = publish(cli, write_spec, remote, only_production, "--allow-delete-environment")
    assert result.code == 0, result.err
    message = commit_message(remote)
    assert message.rstrip().endswith("\nUnhazzle-Allow-Delete-Environment: shop/staging")
    assert "Unhazzle-Allow-Delete-Volume" not in message  # its volumes stay: nothing to allow


def test_publish_help_names_the_volume_flag(cli):
    result = cli("publish", "--help")
    assert "--allow-delete-volume" in result.out and "data on it" in result.out


# -- the pure rules ------------------------------------------------------------------------------

FIVE = Disk(5120, "/data")


@pytest.mark.parametrize(
    ("after", "apps_after", "expected"),
    [
        ({}, {"production": ["web"]}, ["deleted"]),
        ({}, {"production": ["web", "cache"]}, ["detached"]),
        ({}, {}, []),  # the environment is removed: its volumes are kept
        ({"cache": Disk(2048, "/data")}, {"production": ["cache"]}, ["shrunk"]),
        ({"cache": Disk(10240, "/srv")}, {"production": ["cache"]}, ["grown", "moved"]),
        ({"cache": Disk(5120, "/data")}, {"production": ["cache"]}, []),
        ({"cache": Disk(None)}, {"production": ["cache"]}, []),  # unreadable: no guess
    ],
)
def test_volume_changes_follow_what_the_reconciler_does(after, apps_after, expected):
    found = volume_changes({"production": {"cache": FIVE}}, {"production": after}, apps_after=apps_after)
    assert [c.kind for c in found] == expected


def test_volume_refusal_lists_each_loss_and_every_impossible_change():
    lost = VolumeChange("production", "cache", "deleted", FIVE)
    shrunk = VolumeChange("staging", "db", "shrunk", FIVE, Disk(1024))
    grown = VolumeChange("staging", "db", "grown", FIVE, Disk(10240))
    assert refusal([grown], allow_delete=False) == []
    assert refusal([lost, grown], allow_delete=True) == []
    lines = refusal([lost, shrunk], allow_delete=False, project="shop")
    assert [line.split(":")[0] for line in lines] == ["shop/staging", "shop/production"]
    assert refusal([lost, shrunk], allow_delete=True)[0].startswith(
        shrunk.message() + "; if the disk never grew"
    )
    assert refusal([lost, shrunk], allow_delete=True, allow_smaller=True) == []


@pytest.mark.parametrize(
    "text",
    ["{{{", "- a\n- b\n", "kind: PersistentVolumeClaim\nspec: 3\n", "\x00", "kind: PersistentVolumeClaim\n"],
)
def test_disks_in_manifests_survives_hostile_text(text):
    found = disks_in_manifests({"shop/production/cache.yaml": text})
    assert found in ({}, {"production": {"cache": Disk(None)}})


def test_disks_in_manifests_reads_what_render_writes(cli, write_spec, tmp_path):
    out = tmp_path / "out"
    assert cli("render", str(write_spec(SMALL)), "--out", str(out)).code == 0
    files = {f"shop/{p.relative_to(out)}": p.read_text() for p in out.rglob("*.yaml")}
    assert disks_in_manifests(files) == {
        "production": {"cache": Disk(5120)},
        "staging": {"cache": Disk(5120)},
    }


# -- the cluster's refusals, in words (reconciler/sync/volumes.py) ------------------------------------

CLAIM_REF = Ref("v1", "PersistentVolumeClaim", "shop-production", "cache-data")
ASKED = {
    "metadata": {"labels": {"unhazzle.io/app": "cache"}},
    "spec": {"resources": {"requests": {"storage": "2Gi"}}},
}
LIVE = {"status": {"capacity": {"storage": "5Gi"}}}


@pytest.mark.parametrize(
    ("message", "words"),
    [  # the API server's messages, as kube-apiserver 1.35 sent them to tests/cluster
        (
            'The PersistentVolumeClaim "cache-data" is invalid: spec.resources.requests.storage: '
            "Forbidden: field can not be less than status.capacity (HTTP 422)",
            "shop-production: app 'cache': its volume cannot be made smaller, from 5 GB to 2 GB",
        ),
        (
            'persistentvolumeclaims "cache-data" is forbidden: only dynamically provisioned pvc can be '
            "resized and the storageclass that provisions the pvc must support resize (HTTP 403)",
            "shop-production: app 'cache': its volume cannot grow from 5 GB to 2 GB: this cluster's disks",
        ),
        (
            'The PersistentVolumeClaim "cache-data" is invalid: spec: Forbidden: spec is immutable after '
            "creation except resources.requests and volumeAttributesClassName for bound claims (HTTP 422)",
            "its volume cannot change (to 2 GB) before its disk has been created",
        ),
        (
            'persistentvolumeclaims "cache-data" is forbidden: exceeded quota: unhazzle-quota, requested: '
            "persistentvolumeclaims=1,requests.storage=2Gi (HTTP 403)",
            "its new 2 GB volume cannot be created yet",
        ),
        (
            'persistentvolumeclaims "cache-data" is forbidden: exceeded quota: unhazzle-quota (HTTP 403)',
            "its volume cannot grow from 5 GB to 2 GB yet: the environment's room for disks is used up",
        ),
    ],
)
def test_volume_refusals_are_said_in_plain_words(message, words):
    live = None if "new" in words else LIVE  # a quota refusal of a volume not made yet
    said = refusal_in_words(CLAIM_REF, f"{CLAIM_REF}: {message}", desired=ASKED, live=live)
    assert said is not None and words in said
    assert not KUBE_WORDS.search(said) and "Forbidden" not in said and "storageclass" not in said


def test_volume_refusals_leave_other_messages_alone():
    other = Ref("apps/v1", "Deployment", "shop-production", "cache")
    assert refusal_in_words(other, "exceeded quota", desired=ASKED, live=LIVE) is None
    assert refusal_in_words(CLAIM_REF, "connection refused", desired=ASKED, live=None) is None
    assert waits_for_room(CLAIM_REF, "is forbidden: exceeded quota: unhazzle-quota")
    assert not waits_for_room(other, "is forbidden: exceeded quota: unhazzle-quota")


@pytest.mark.parametrize(
    ("trailer", "flag"),
    [("Unhazzle-Allow-Delete-Volume: shop/production/cache", "--allow-delete-volume"),
     ("unhazzle-allow-delete-environment: shop/staging", "--allow-delete-environment")],
)  # fmt: skip
def test_publish_writes_the_deletion_opt_ins_itself_never_from_a_message_trailer(
    cli, write_spec, remote, trailer, flag
):
    result = publish(cli, write_spec, remote, SMALL, "--message-trailer", trailer)
    assert result.code == 2 and not tip(remote)  # nothing published
    assert f"is written by publish itself; pass {flag}" in result.err
