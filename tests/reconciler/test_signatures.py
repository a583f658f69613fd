"""Signed commits (issue 10): with trusted keys configured, the reconciler reads and applies a tip
only when Git finds a good signature by one of them. Real repos, real keys from `ssh-keygen` and
`gpg`, Git's own verification; no cluster (tests/test_reconcile_cluster.py has that part)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.envrepo import EnvRepo, shop_files
from tests.support.signing import Key, gpg_key, push, ssh_key, stop_gpg_agent, tampered
from unhazzle.errors import InputError
from unhazzle.reconciler import install as manifests
from unhazzle.reconciler.run.reconciler import Reconciler
from unhazzle.reconciler.run.state import LoopOptions
from unhazzle.reconciler.run.telemetry import Log
from unhazzle.reconciler.source import signatures
from unhazzle.reconciler.source.git import GitSource, SignatureError


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: ssh_key(folder, name) for name in ("ops", "stranger")}


@pytest.fixture(scope="module")
def gpg_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Key]]:
    folder = tmp_path_factory.mktemp("gpg")
    made = {name: gpg_key(folder, name) for name in ("release", "intruder")}
    yield made
    for key in made.values():
        stop_gpg_agent(key)


def _source(
    tmp_path: Path, repo: EnvRepo, *, ssh: tuple[Key, ...] = (), gpg: tuple[Key, ...] = ()
) -> GitSource:
    ssh_file = gpg_file = None
    if ssh:
        ssh_file = tmp_path / "allowed_signers"
        ssh_file.write_text("# who may deploy\n" + "".join(k.trusted_line for k in ssh), encoding="utf-8")
    if gpg:
        gpg_file = tmp_path / "gpg-keys.asc"
        gpg_file.write_text("".join(k.trusted_line for k in gpg), encoding="utf-8")
    trust = signatures.load(ssh_file, gpg_file, tmp_path / "cache" / "trust")
    return GitSource(repo.url, "main", tmp_path / "cache", trust=trust)


def _read(source: GitSource, commit: str) -> list[str]:
    source.fetch(commit)
    return sorted(source.read(commit).environments)


def test_signed_tip_is_read_and_unsigned_tip_is_refused(tmp_path: Path, keys: dict[str, Key]) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _source(tmp_path, repo, ssh=(keys["ops"],))
    signed = repo.publish(shop_files(environments=["production"]), env=keys["ops"].env)
    assert _read(source, signed) == ["shop/production"]
    parsed = sorted((tmp_path / "cache").glob("*/parsed/*.json"))
    unsigned = repo.publish(shop_files())
    with pytest.raises(SignatureError) as refused:
        _read(source, unsigned)
    assert str(refused.value) == f"{repo.url}@{unsigned[:12]}: not applied: the commit is not signed"
    assert sorted((tmp_path / "cache").glob("*/parsed/*.json")) == parsed  # nothing of it was read


def test_tip_signed_by_a_key_not_trusted_is_refused(tmp_path: Path, keys: dict[str, Key]) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _source(tmp_path, repo, ssh=(keys["ops"],))
    commit = repo.publish(shop_files(), env=keys["stranger"].env)
    with pytest.raises(SignatureError, match=r"not applied: signed by a key not trusted \(key SHA256:"):
        _read(source, commit)


def test_tampered_commit_is_refused_as_a_bad_signature(tmp_path: Path, keys: dict[str, Key]) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _source(tmp_path, repo, ssh=(keys["ops"],))
    signed = repo.publish(shop_files(), env=keys["ops"].env)
    assert _read(source, signed) == ["shop/production", "shop/staging"]
    forged = tampered(repo.work, signed)
    push(repo.work, forged)
    assert source.remote_tip() == forged
    with pytest.raises(SignatureError, match="not applied: bad signature"):
        _read(source, forged)


def test_gpg_signed_tip_is_read_and_other_gpg_key_refused(
    tmp_path: Path, gpg_keys: dict[str, Key], keys: dict[str, Key]
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _source(tmp_path, repo, gpg=(gpg_keys["release"],))
    signed = repo.publish(shop_files(), env=gpg_keys["release"].env)
    assert _read(source, signed) == ["shop/production", "shop/staging"]
    other = repo.publish(shop_files(environments=["staging"]), env=gpg_keys["intruder"].env)
    with pytest.raises(SignatureError, match="signed by a key not trusted"):
        _read(source, other)
    ssh_signed = repo.publish(shop_files(environments=["staging"]), env=keys["ops"].env)
    with pytest.raises(SignatureError, match="signed by a key not trusted"):  # only GPG keys are trusted
        _read(source, ssh_signed)


def test_both_kinds_of_keys_trusted_at_once(
    tmp_path: Path, gpg_keys: dict[str, Key], keys: dict[str, Key]
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _source(tmp_path, repo, ssh=(keys["ops"],), gpg=(gpg_keys["release"],))
    for key in (keys["ops"], gpg_keys["release"]):
        assert _read(source, repo.publish(shop_files(), env=key.env)) == ["shop/production", "shop/staging"]


def test_without_trusted_keys_unsigned_commits_are_read(tmp_path: Path) -> None:
    repo = EnvRepo(tmp_path / "repo")
    assert signatures.load(None, None, tmp_path / "trust") is None
    source = GitSource(repo.url, "main", tmp_path / "cache")
    assert _read(source, repo.publish(shop_files())) == ["shop/production", "shop/staging"]


def test_refused_tip_keeps_the_last_good_revision_until_a_signed_fix(
    tmp_path: Path, keys: dict[str, Key]
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    log = io.StringIO()
    rec = Reconciler(None, _source(tmp_path, repo, ssh=(keys["ops"],)), LoopOptions(), log=Log(log))  # type: ignore[arg-type]
    good = repo.publish(shop_files(environments=["production"]), env=keys["ops"].env)
    assert rec.poll() and rec.tip == good
    bad = repo.publish(shop_files(), env=keys["stranger"].env)
    assert not rec.poll()
    assert rec.tip == good and rec.bad_tip == bad and list(rec.good) == ["shop/production"]
    assert rec.good["shop/production"][0] == good
    assert f"{bad[:12]}: not applied: signed by a key not trusted" in rec.source_error
    assert '"event": "source.error"' in log.getvalue()
    assert not rec.tip_moved()  # a refused tip does not cut health waits short
    assert not rec.poll() and rec.source_error  # still refused, still reported
    fixed = repo.publish(shop_files(), env=keys["ops"].env)
    assert rec.poll() and rec.tip == fixed and rec.source_error == ""
    assert sorted(rec.good) == ["shop/production", "shop/staging"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("G\x00SHA256:abc\x00ops@example.com", ""),
        ("N\x00\x00", "the commit is not signed"),
        ("B\x00\x00", "bad signature (the commit does not match its signature)"),
        ("U\x00SHA256:abc\x00", "signed by a key not trusted (key SHA256:abc)"),
        ("E\x007CC44BB5\x00", "signed by a key not trusted (key 7CC44BB5)"),
        ("Y\x00K\x00Ops <ops@example.com>", "signed by an expired key (key K, signer Ops <ops@example.com>)"),
        ("R\x00K\x00", "signed by a revoked key (key K)"),
        (
            "X\x00K\x00Eve \x1b[2J<e@x>\nsecond line",
            "the signature has expired (key K, signer Eve \\x1b[2J<e@x>)",
        ),
        ("", "the signature could not be checked (git says '')"),
    ],
)
def test_refusal_names_the_reason(line: str, expected: str) -> None:
    assert signatures.refusal(line) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no signing keys in the file"),
        ("# only a comment\n\n", "no signing keys in the file"),
        ("ops@example.com ssh-ed25519 AAAA\nnonsense here\n", "2:1: error: expected 'PRINCIPALS"),
        ("\x00\x01 \x02", "1:1: error: expected 'PRINCIPALS"),
    ],
)
def test_bad_allowed_signers_file_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "allowed_signers"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        signatures.load(path, None, tmp_path / "trust")


def test_bad_key_files_stop_the_reconciler_before_it_starts(tmp_path: Path, cli: Callable[..., Any]) -> None:
    garbage = tmp_path / "keys.asc"
    garbage.write_bytes(b"\xff\xfe not a key")
    for flag in ("--trusted-signers", "--trusted-gpg-keys"):
        result = cli(
            "reconcile",
            "--repo",
            str(tmp_path),
            "--once",
            "--cache-dir",
            str(tmp_path / "c"),
            flag,
            str(garbage),
        )
        assert result.code == 2 and result.err.startswith(f"{garbage}:1:1: error: "), result.err
    result = cli("reconcile", "--repo", str(tmp_path), "--trusted-signers", str(tmp_path / "missing"))
    assert result.code == 2 and "cannot read the trusted keys" in result.err
    fake = tmp_path / "fake.asc"
    fake.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n")
    result = cli(
        "reconcile",
        "--repo",
        str(tmp_path),
        "--trusted-gpg-keys",
        str(fake),
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert result.code == 2 and result.err.startswith(f"{fake}:1:1: error: "), result.err


def test_install_manifests_carry_the_trusted_keys(
    tmp_path: Path, keys: dict[str, Key], cli: Callable[..., Any]
) -> None:
    path = tmp_path / "allowed_signers"
    path.write_text(keys["ops"].trusted_line, encoding="utf-8")
    result = cli("install-manifests", "--trusted-signers", str(path))
    assert result.code == 0, result.err
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.out)}
    assert docs["ConfigMap"]["data"] == {"allowed_signers": keys["ops"].trusted_line}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--trusted-signers") + 1] == "/etc/unhazzle/trust/allowed_signers"
    assert {"name": "trust", "configMap": {"name": "unhazzle-reconciler-trust"}} in pod["volumes"]
    plain = {d["kind"] for d in yaml.safe_load_all(manifests.render(manifests.InstallOptions()))}
    assert "ConfigMap" not in plain
    path.write_text("not a key\n", encoding="utf-8")
    assert cli("install-manifests", "--trusted-signers", str(path)).code == 2
