"""Sharding (`reconcile --shard K/N`): which shard owns an environment, and the rules that keep
two shards from undoing each other while an environment changes hands. The whole behaviour on a
control plane is tests/cluster/test_shards_cluster.py."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envrepo import EnvRepo, shop_files
from unhazzle.reconciler import install as manifests
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.state import EnvOutcome, LoopOptions
from unhazzle.reconciler.run.telemetry import Log
from unhazzle.reconciler.source.git import GitSource, SourceError
from unhazzle.reconciler.sync import inventory
from unhazzle.reconciler.sync.inventory import Inventory
from unhazzle.reconciler.sync.shards import Shard, fnv1a32, owner, recorded


@pytest.mark.parametrize(
    ("text", "value"),
    [("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968),  # the published FNV-1a vectors
     ("shop/production", 0x7154AF11), ("shop/staging", 0x1807516F)],
)  # fmt: skip
def test_fnv1a32_matches_fixed_vectors(text: str, value: int) -> None:
    assert fnv1a32(text) == value


@pytest.mark.parametrize(
    ("environment", "count", "shard"),
    [("shop/production", 1, 0), ("shop/production", 3, 2), ("shop/staging", 3, 1), ("shop/staging", 2, 1),
     ("shard/e0", 3, 2), ("shard/e1", 3, 0), ("shard/e2", 3, 1)],
)  # fmt: skip
def test_owner_is_the_hash_of_project_slash_environment_mod_n(
    environment: str, count: int, shard: int
) -> None:
    assert owner(environment, count) == shard
    assert Shard(shard, count).owns(environment)
    assert not any(Shard(k, count).owns(environment) for k in range(count) if k != shard)


def test_owner_spreads_100_environments_roughly_evenly_over_3_shards() -> None:
    counts = Counter(owner(f"bench/env{i:03d}", 3) for i in range(100))
    assert sorted(counts) == [0, 1, 2]
    assert all(25 <= n <= 42 for n in counts.values()), counts


def test_a_pin_in_range_overrides_the_hash_and_one_out_of_range_is_ignored() -> None:
    assert owner("shop/production", 3, pin="0") == 0
    assert owner("shop/production", 3, pin="7") == 2  # no shard 7: every shard still agrees on 2
    assert owner("shop/production", 3, pin="one") == 2
    # only ASCII digits are a pin: not '\u00b2' (which int() refuses), '\u0661' or thousands of digits
    assert owner("shop/production", 3, pin="\u00b2") == owner("shop/production", 3, pin="\u0661") == 2
    assert owner("shop/production", 3, pin="0" * 5000) == 2


@pytest.mark.parametrize("text", ["3/3", "1", "-1/2", "0/0", "a/b", "", "\u0660/\u0663", "0/" + "9" * 5000])
def test_shard_parse_refuses_what_is_not_k_of_n(text: str) -> None:
    with pytest.raises(ValueError, match="K"):
        Shard.parse(text)


def test_each_shard_has_its_own_lease_and_one_shard_keeps_the_old_name() -> None:
    assert Shard.parse("0/1").lease_name == "unhazzle-reconciler"
    assert [Shard(k, 3).lease_name for k in range(3)] == [f"unhazzle-reconciler-{k}" for k in range(3)]


def test_inventory_records_its_shard_and_an_old_one_counts_as_the_whole_fleets() -> None:
    refs = frozenset({Ref("v1", "Service", "shop-production", "web")})
    mine = Inventory("shop/production", "shop-production", "c1", refs, shard="2/3")
    assert inventory.from_configmap(inventory.to_configmap(mine)) == mine
    old = inventory.to_configmap(mine)
    del old["data"]["shard"]  # written before sharding
    assert recorded(inventory.from_configmap(old).shard) == Shard(0, 1)
    assert not inventory.same(mine, replace_shard(mine, "0/3"))  # adopting writes it once


def replace_shard(inv: Inventory, shard: str) -> Inventory:
    return Inventory(inv.environment, inv.namespace, inv.revision, inv.refs, shard=shard)


# -- the rules, on a reconciler with a stand-in client ----------------------------------------


class _Client:
    """Namespaces (for pins), Leases and inventories, as the API server would answer."""

    def __init__(self, *, pins: dict[str, str] | None = None, leases: dict[str, Any] | None = None):
        self.pins, self.leases = pins or {}, leases or {}
        self.inventories: list[dict[str, Any]] = []

    def list_kind(self, api_version: str, kind: str, **_: Any) -> list[dict[str, Any]]:
        if kind == "Namespace":
            return [{"metadata": {"labels": {"unhazzle.io/project": key.split("/")[0],
                     "unhazzle.io/environment": key.split("/")[1], "unhazzle.io/shard": pin}}}
                    for key, pin in self.pins.items()]  # fmt: skip
        return self.inventories

    def get(self, ref: Ref) -> dict[str, Any] | None:
        return self.leases.get(ref.name)


class _Source:
    url = "https://git.example.com/acme/environments.git"

    def opt_ins(self, since: str, until: str) -> set[str]:
        return {f"environment {key}" for key in ("shard/e0", "shard/e1", "shard/e2")}


def _reconciler(shard: str, client: _Client) -> Reconciler:
    options = LoopOptions(shard=Shard.parse(shard), own_namespace="unhazzle-system")
    return Reconciler(client, _Source(), options, log=Log(io.StringIO()))  # type: ignore[arg-type]


def _lease(holder: str, renewed: datetime) -> dict[str, Any]:
    stamp = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"spec": {"holderIdentity": holder, "renewTime": stamp, "leaseDurationSeconds": 15}}


def test_a_pin_on_the_namespace_moves_an_environment_to_its_shard() -> None:
    pinned = _Client(pins={"shop/production": "0"})
    shards = [_reconciler(f"{k}/3", pinned) for k in range(3)]
    for rec in shards:
        rec.read_pins()
    assert [rec.mine("shop/production") for rec in shards] == [True, False, False]  # its hash says 2
    assert [rec.mine("shop/staging") for rec in shards] == [False, True, False]  # unpinned: its hash


def test_a_shard_prunes_only_by_an_inventory_it_recorded_itself() -> None:
    rec = _reconciler("1/3", _Client())
    ours = Inventory("shard/e2", "shard-e2", "c1", frozenset(), shard="1/3")
    assert not rec.adopting(ours)
    assert rec.adopting(replace_shard(ours, "0/3"))  # a pin moved it: adopted, pruned next pass
    assert rec.adopting(replace_shard(ours, "0/1"))  # N went 1 -> 3
    assert not rec.adopting(None)  # a new environment: nothing to prune anyway


def test_a_new_layout_waits_while_the_old_layouts_shard_still_renews_its_lease() -> None:
    now = datetime.now(UTC)
    held = _Client(leases={"unhazzle-reconciler": _lease("old-pod", now)})
    before = Inventory("shard/e2", "shard-e2", "c1", frozenset(), shard="0/1")
    assert "held by old-pod" in _reconciler("1/3", held).held_elsewhere(before)
    lapsed = _Client(leases={"unhazzle-reconciler": _lease("old-pod", now - timedelta(seconds=60))})
    assert _reconciler("1/3", lapsed).held_elsewhere(before) == ""
    released = _Client(leases={"unhazzle-reconciler": _lease("", now)})
    assert _reconciler("1/3", released).held_elsewhere(before) == ""
    # The same layout (a pin moved): every shard reads the same pins, no wait.
    same_n = _Client(leases={"unhazzle-reconciler-0": _lease("pod-0", now)})
    assert _reconciler("1/3", same_n).held_elsewhere(replace_shard(before, "0/3")) == ""


def test_a_shard_removes_only_its_own_environments_whose_folders_left() -> None:
    client = _Client()
    client.inventories = [
        inventory.to_configmap(Inventory(key, key.replace("/", "-"), "c1", frozenset({Ref(
            "v1", "Service", key.replace("/", "-"), "web")}), shard="0/1"))
        for key in ("shard/e0", "shard/e1", "shard/e2")
    ]  # fmt: skip
    for cm in client.inventories:
        cm["data"]["source"] = _Source.url
    removed: dict[str, list[str]] = {}
    for k in range(3):
        rec = _reconciler(f"{k}/3", client)
        rec.tip = "c2"
        seen: list[str] = []
        rec._remove = lambda inv, outcome, seen=seen: seen.append(inv.environment)  # type: ignore[method-assign]
        rec.read_pins()
        outcomes = rec._remove_dropped()
        assert all(isinstance(o, EnvOutcome) for o in outcomes)
        removed[str(k)] = seen
    # shard/e0 hashes to 2, e1 to 0, e2 to 1: each removed by its owner, and by no one else
    assert removed == {"0": ["shard/e1"], "1": ["shard/e2"], "2": ["shard/e0"]}


def test_a_folder_still_in_the_repo_is_never_removed_by_a_shard_that_does_not_own_it() -> None:
    client = _Client()
    client.inventories = [inventory.to_configmap(Inventory("shard/e0", "shard-e0", "c1", frozenset(
        {Ref("v1", "Service", "shard-e0", "web")})))]  # fmt: skip
    client.inventories[0]["data"]["source"] = _Source.url
    rec = _reconciler("0/3", client)  # not e0's owner (2)
    rec.good = {"shard/e0": ("c1", None)}  # type: ignore[dict-item]
    rec.tip = "c1"
    rec._remove = lambda inv, outcome: pytest.fail("removed")  # type: ignore[method-assign]
    assert rec._remove_dropped() == []


def _shard_1_of_3(
    tmp_path: Path, *, own_namespace: str = "unhazzle-system"
) -> tuple[Reconciler, _Client, io.StringIO]:
    """Shard 1/3 over a real repo holding the shop (shop/staging is its own by the hash,
    shop/production shard 2's), its first tip taken in; with its stand-in client and its log."""
    repo = EnvRepo(tmp_path / "repo")
    repo.publish(shop_files())
    client, out = _Client(), io.StringIO()
    options = LoopOptions(shard=Shard.parse("1/3"), own_namespace=own_namespace)
    source = GitSource(repo.url, "main", tmp_path / "cache")
    rec = Reconciler(client, source, options, log=Log(out))  # type: ignore[arg-type]
    assert rec.poll()
    return rec, client, out


def _applying_in(rec: Reconciler, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The environments *rec* applies from now on, in order (each applies cleanly)."""
    applied: list[str] = []

    def apply(commit: str, env: Any) -> EnvOutcome:
        applied.append(env.key)
        return EnvOutcome(env.key, env.namespace, commit)

    monkeypatch.setattr(rec, "reconcile_env", apply)
    return applied


def test_a_shard_holds_only_its_own_folders_and_reads_one_a_pin_gives_it_before_applying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, client, _ = _shard_1_of_3(tmp_path)
    # shop/staging hashes to shard 1, shop/production to 2: listed, so known to exist, not held
    assert rec.good["shop/staging"][1].parsed and rec.good["shop/staging"][1].objects
    assert not rec.good["shop/production"][1].parsed and rec.good["shop/production"][1].objects == []
    applied = _applying_in(rec, monkeypatch)
    client.pins = {"shop/production": "1"}  # pinned here: read at the next pass, then applied
    rec.reconcile()
    assert applied == ["shop/production", "shop/staging"]
    assert rec.good["shop/production"][1].parsed and rec.good["shop/production"][1].objects

    # Handed away again: what this shard applied no longer counts as the environment's last
    client.pins = {}
    rec.reconcile()
    assert "shop/production" not in rec.applied and "shop/staging" in rec.applied
    client.pins = {"shop/production": "1"}
    rec.reconcile()

    # A folder this shard owns that cannot be read is reported, never applied (nor pruned).
    rec.good["shop/production"] = (rec.tip, replace(rec.good["shop/production"][1], parsed=False, objects=[]))
    monkeypatch.setattr(rec.source, "read", lambda *a, **k: (_ for _ in ()).throw(SourceError("git is down")))
    applied.clear()
    outcomes = {o.key: o for o in rec.reconcile()}
    assert applied == ["shop/staging"]
    assert outcomes["shop/production"].errors == ["shop/production: its folder is not read yet"]


def test_a_folder_a_pin_hands_over_is_read_without_retrying_a_revision_the_server_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, client, _ = _shard_1_of_3(tmp_path)
    applied: list[str] = []

    def refusing(commit: str, env: Any) -> EnvOutcome:
        applied.append(env.key)
        refused = env.key == "shop/staging"
        return EnvOutcome(env.key, env.namespace, commit, errors=["refused"] if refused else [],
                          rejected="commit" if refused else "")  # fmt: skip

    monkeypatch.setattr(rec, "reconcile_env", refusing)
    rec.reconcile()  # staging's revision is refused, with nothing before it to fall back on
    assert applied == ["shop/staging"] and "shop/staging" not in rec.good
    applied.clear()
    client.pins = {"shop/production": "1"}
    outcomes = {o.key: o for o in rec.reconcile()}
    assert applied == ["shop/production"]  # staging's refused revision is not tried again
    assert outcomes["shop/staging"].errors == ["refused"]


def test_a_folder_a_pin_hands_over_with_a_problem_is_reported_each_pass_never_applied_nor_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the folder shop/production reaches this reconciler's own namespace: a problem, found when read
    rec, client, out = _shard_1_of_3(tmp_path, own_namespace="shop-production")
    assert not rec.good["shop/production"][1].parsed and not rec.problems  # listed, so not judged
    applied = _applying_in(rec, monkeypatch)
    monkeypatch.setattr(rec, "_remove", lambda inv, outcome: pytest.fail("removed"))
    client.pins = {"shop/production": "1"}
    for _ in range(2):
        outcomes = {o.key: o for o in rec.reconcile()}
        assert "shop/production" not in rec.good  # nothing to fall back on
        assert outcomes["shop/production"].errors == rec.problems["shop/production"]
        assert "is the reconciler's own" in rec.problems["shop/production"][-1]
    assert applied == ["shop/staging", "shop/staging"]
    assert '"source.problem"' in out.getvalue()


def test_install_manifests_run_one_deployment_per_shard_each_with_its_own_flag() -> None:
    docs = manifests.objects(manifests.InstallOptions(shards=3))
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert [d["metadata"]["name"] for d in deployments] == [f"unhazzle-reconciler-{k}" for k in range(3)]
    for k, dep in enumerate(deployments):
        args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--shard") + 1] == f"{k}/3"
        assert dep["spec"]["selector"]["matchLabels"]["unhazzle.io/shard"] == str(k)
    role = next(
        d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "unhazzle-reconciler"
    )
    assert "list" in role["rules"][0]["verbs"]  # the pins on Namespaces, read once a pass
    one = [d for d in manifests.objects(manifests.InstallOptions()) if d["kind"] == "Deployment"]
    assert [d["metadata"]["name"] for d in one] == ["unhazzle-reconciler"]
    assert "--shard" not in yaml.safe_dump(one)


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--shards", "0", "give 1 to 100"),
        ("--shards", "101", "give 1 to 100"),
        ("--shards", "99999999999999999999999", "give 1 to 100"),  # not a million Deployments
        ("--replicas", "-1", "give 0 to 10"),
        ("--replicas", "99999999999999999999999", "give 0 to 10"),
    ],
)
def test_install_manifests_refuses_a_count_out_of_range(cli: Any, flag: str, value: str, said: str) -> None:
    result = cli("install-manifests", flag, value)
    assert result.code == 2 and result.out == ""
    assert result.err.strip() == f"{flag}: error: {value} is out of range; {said}" + (
        " (2 keeps a standby)" if flag == "--replicas" else ""
    )
