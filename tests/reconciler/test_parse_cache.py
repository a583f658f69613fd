"""The parse cache (reconciler/source/parsecache.py): a folder parsed once is not parsed again by a
later process, and an entry that is damaged, or is another folder's or another commit's, is never
served. Real Git repos, no cluster; parses are counted at `parse_environment`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.support.envrepo import EnvRepo, shop_files
from unhazzle.reconciler.source import git as gitsource
from unhazzle.reconciler.source.git import GitSource
from unhazzle.reconciler.source.parsecache import ParseCache


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders parsed from their files (not taken from the cache), in order."""
    seen: list[str] = []
    real = gitsource.parse_environment

    def counting(key: str, files: dict[str, str], **kwargs: object) -> gitsource.Environment:
        seen.append(key)
        return real(key, files, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gitsource, "parse_environment", counting)
    return seen


def _fresh(repo: EnvRepo, cache: Path) -> GitSource:
    """A source as a new reconciler process makes it: nothing in memory, the cache on disk."""
    return GitSource(repo.url, "main", cache)


def _read(source: GitSource, commit: str) -> gitsource.Revision:
    source.fetch(commit)
    return source.read(commit)


def _entries(source: GitSource, key: str) -> list[Path]:
    """The cache files holding folder `key` (an entry's header names its folder)."""
    return [p for p in sorted(source.parsed.root.glob("*.json")) if _folder(p) == key]


def _entry(source: GitSource, key: str) -> Path:
    (only,) = _entries(source, key)
    return only


def _with_app_tag(tag: str) -> dict[str, str]:
    files = shop_files()
    return {path: text.replace("image: ", f"image: {tag}-") if "/production/" in path else text
            for path, text in files.items()}  # fmt: skip


def test_parse_cache_a_second_process_reads_the_commit_without_parsing(
    tmp_path: Path, parses: list[str]
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    commit = repo.publish(shop_files())
    first = _read(_fresh(repo, tmp_path / "cache"), commit)
    assert parses == ["shop/production", "shop/staging"]
    again = _read(_fresh(repo, tmp_path / "cache"), commit)
    assert parses == ["shop/production", "shop/staging"]  # nothing parsed the second time
    assert again == first


def test_parse_cache_a_commit_changing_one_environment_parses_that_one_only(
    tmp_path: Path, parses: list[str]
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    _read(_fresh(repo, tmp_path / "cache"), repo.publish(shop_files()))
    parses.clear()
    changed = repo.publish(_with_app_tag("v2"))
    revision = _read(_fresh(repo, tmp_path / "cache"), changed)
    assert parses == ["shop/production"]
    images = [o for o in revision.environments["shop/production"].objects if o["kind"] == "Deployment"]
    assert images and all("v2-" in json.dumps(o) for o in images)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-40] + b"X" + data[-39:], id="one-byte-changed"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"\x00garbage\n{", id="garbage"),
    ],
)
def test_parse_cache_a_damaged_entry_is_ignored_and_rebuilt(
    tmp_path: Path, parses: list[str], damage: object
) -> None:
    repo = EnvRepo(tmp_path / "repo")
    commit = repo.publish(shop_files())
    source = _fresh(repo, tmp_path / "cache")
    good = _read(source, commit)
    entry = _entry(source, "shop/production")
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    parses.clear()
    assert _read(_fresh(repo, tmp_path / "cache"), commit) == good
    assert parses == ["shop/production"]  # parsed again, from Git
    parses.clear()
    assert _read(_fresh(repo, tmp_path / "cache"), commit) == good
    assert parses == []  # and its entry rebuilt


def test_parse_cache_another_commits_entry_is_never_served(tmp_path: Path, parses: list[str]) -> None:
    repo = EnvRepo(tmp_path / "repo")
    source = _fresh(repo, tmp_path / "cache")
    _read(source, repo.publish(shop_files()))
    old_entry = _entry(source, "shop/production").read_bytes()
    new = repo.publish(_with_app_tag("v2"))
    expected = _read(_fresh(repo, tmp_path / "elsewhere"), new)
    _read(source, new)
    (new_entry,) = [p for p in _entries(source, "shop/production") if p.read_bytes() != old_entry]
    # A whole, valid entry of the old commit's production folder, put where the new one's is:
    new_entry.write_bytes(old_entry)
    parses.clear()
    assert _read(_fresh(repo, tmp_path / "cache"), new) == expected
    assert parses == ["shop/production"]
    # ... nor is another folder's entry taken for this one.
    new_entry.write_bytes(_entry(source, "shop/staging").read_bytes())
    parses.clear()
    assert _read(_fresh(repo, tmp_path / "cache"), new) == expected
    assert parses == ["shop/production"]


def test_parse_cache_is_not_shared_with_other_parser_code(tmp_path: Path, parses: list[str]) -> None:
    repo = EnvRepo(tmp_path / "repo")
    commit = repo.publish(shop_files())
    _read(_fresh(repo, tmp_path / "cache"), commit)
    other = _fresh(repo, tmp_path / "cache")
    other.parsed = ParseCache(other.parsed.root, "another version of the guard")
    parses.clear()
    _read(other, commit)
    assert parses == ["shop/production", "shop/staging"]


def test_parse_cache_concurrent_writers_leave_a_whole_entry(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "parsed", "salt")
    data = {"objects": [{"n": i, "text": "x" * 200} for i in range(2000)]}
    seen: list[object] = []

    def work() -> None:
        for _ in range(10):
            cache.store("p/e", "t" * 40, data)
            seen.append(cache.load("p/e", "t" * 40))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen and all(found == data for found in seen)
    assert [p.name for p in cache.root.iterdir() if not p.name.endswith(".json")] == []  # no leftovers


def _folder(path: Path) -> str:
    return str(json.loads(path.read_bytes().partition(b"\n")[0]).get("folder"))


@pytest.mark.parametrize("named", [100, 0], ids=["folders named to git", "the whole commit, kept to them"])
def test_a_shard_parses_only_the_folders_it_owns_and_lists_the_others(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch, named: int
) -> None:
    monkeypatch.setattr(gitsource, "NAMED_FOLDERS", named)
    repo = EnvRepo(tmp_path / "repo")
    commit = repo.publish(shop_files())
    source = _fresh(repo, tmp_path / "cache")
    source.fetch(commit)
    revision = source.read(commit, wanted=lambda key: key == "shop/staging")
    assert parses == ["shop/staging"]  # the other folder's files are not even read from Git
    staging, production = revision.environments["shop/staging"], revision.environments["shop/production"]
    assert staging.parsed and staging.objects and staging.namespace == "shop-staging"
    assert not production.parsed and production.objects == [] and production.apps == frozenset()
    assert [_folder(p) for p in sorted(source.parsed.root.glob("*.json"))] == ["shop/staging"]
    # owning it later (a pin moved it): read then; the folder read before comes from the cache
    again = source.read(commit, wanted=lambda key: True)
    assert parses == ["shop/staging", "shop/production"]
    assert again.environments["shop/production"].parsed and again.environments["shop/production"].objects
    assert again.environments["shop/staging"] == staging
