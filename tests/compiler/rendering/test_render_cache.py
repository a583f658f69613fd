"""Compiled templates and parsed data files are kept in the user's cache folder between runs
(issue 2); whatever state that folder is in, `unhazzle render` writes exactly the same files.
The package ships them compiled (tests/compiler/test_prebuilt.py), so here the cache is seen at
work as with a changed template or data file: without the prebuilt code."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, ROOT
from unhazzle.cli import main
from unhazzle.compiler import cachedir, prebuilt
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering import render
from unhazzle.compiler.rules.cluster import cluster_settings
from unhazzle.compiler.rules.datafiles import parse_cached

SHOP = EXAMPLES / "shop" / "unhazzle.yaml"


# `unhazzle` with no prebuilt code in the package (its folder moved to an empty one).
WITHOUT_PREBUILT = (
    "import sys; from pathlib import Path; from unhazzle.compiler import prebuilt; "
    "prebuilt.FOLDER = Path(sys.argv.pop(1)); from unhazzle.cli import program; sys.exit(program())"
)


def _render(out: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "UNHAZZLE_CACHE_DIR": str(cache)}
    nothing = out.parent / "no-prebuilt"
    cmd = [sys.executable, "-c", WITHOUT_PREBUILT, str(nothing), "render", str(SHOP), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env)
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.yaml"))}


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "templates").glob("*/*.cache"))


def test_render_cache_is_filled_then_used_with_same_output(tmp_path: Path):
    cache = tmp_path / "cache"
    first = _render(tmp_path / "a", cache)
    entries = _entries(cache)
    assert len(entries) >= 6  # the environment file and the app templates, at least
    stamps = [p.stat().st_mtime_ns for p in entries]
    assert _render(tmp_path / "b", cache) == first
    assert [p.stat().st_mtime_ns for p in _entries(cache)] == stamps  # read, not written again


def test_render_cache_damaged_entries_are_compiled_again(tmp_path: Path):
    cache = tmp_path / "cache"
    first = _render(tmp_path / "a", cache)
    for number, entry in enumerate(_entries(cache)):
        entry.write_bytes(entry.read_bytes()[: number * 7])  # empty, cut in the header, in the code
    assert _render(tmp_path / "b", cache) == first


def test_render_cache_folder_that_cannot_be_made_changes_nothing(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    first = _render(tmp_path / "a", tmp_path / "cache")
    assert _render(tmp_path / "b", blocker) == first


def test_render_cache_folder_gone_before_writing_changes_nothing(tmp_path: Path, monkeypatch):
    # (the tests run as root, so a read-only folder would not stop the write; a vanished one does)
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(prebuilt, "FOLDER", tmp_path / "no-prebuilt")
    jinja = render.template_environment.__wrapped__()
    assert jinja.bytecode_cache.files is not None  # type: ignore[union-attr]  # the user's folder, in use
    shutil.rmtree(tmp_path / "cache")
    plan = compile_file(SHOP).plan
    view = render._env_view(plan, plan.environments[0], cluster_settings())
    text = jinja.get_template("environment.yaml.j2").render(env=view)
    assert text == render.template_environment().get_template("environment.yaml.j2").render(env=view)


# The packaged data files (sizing rules, prices, ...) are kept parsed in the same folder.

PRICES = b"effective: 2026-04-01\nrates: {cx33: 6.49}\nnote: |\n  two lines\n  of text\n"


def _data_entries(cache: Path) -> list[Path]:
    return sorted((cache / "data").glob("*.pickle"))


def test_data_file_is_parsed_once_then_read_from_the_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    first = parse_cached(PRICES)
    assert first == YAML(typ="safe").load(PRICES)
    assert first["effective"] == dt.date(2026, 4, 1)
    [entry] = _data_entries(tmp_path / "cache")
    stamp = entry.stat().st_mtime_ns
    assert parse_cached(PRICES) == first
    assert entry.stat().st_mtime_ns == stamp  # read, not written again
    assert parse_cached(PRICES.replace(b"6.49", b"7.99"))["rates"] == {"cx33": 7.99}  # edited: new entry
    assert len(_data_entries(tmp_path / "cache")) == 2


def test_data_cache_damaged_entry_is_parsed_again(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    first = parse_cached(PRICES)
    [entry] = _data_entries(tmp_path / "cache")
    for cut in (0, 5, len(entry.read_bytes()) - 3):
        entry.write_bytes(entry.read_bytes()[:cut])
        assert parse_cached(PRICES) == first
        entry.write_bytes(pickle.dumps(first))


class _Planted:
    """What someone with write access to the cache folder might leave there."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.target),))


def test_data_cache_entry_naming_other_code_is_parsed_again_never_run(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    first = parse_cached(PRICES)
    [entry] = _data_entries(tmp_path / "cache")
    entry.write_bytes(pickle.dumps({"effective": _Planted(tmp_path / "ran")}))
    assert parse_cached(PRICES) == first
    assert not (tmp_path / "ran").exists()


def test_data_cache_folder_that_cannot_be_made_changes_nothing(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(blocker))
    assert parse_cached(PRICES) == YAML(typ="safe").load(PRICES)
    assert blocker.read_text() == "a file where the cache folder would go"


def test_render_with_no_home_folder_keeps_its_caches_for_the_run_only(tmp_path: Path, monkeypatch):
    """A container run as an arbitrary user id has no HOME and no user entry."""

    def no_home(cls: type[Path]) -> Path:
        raise RuntimeError("Could not determine home directory.")

    for name in ("UNHAZZLE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(no_home))
    folder = cachedir.user_cache_dir()
    assert (
        folder == cachedir.user_cache_dir()
        and folder.is_dir()
        and str(folder).startswith(tempfile.gettempdir())
    )
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert parse_cached(PRICES) == YAML(typ="safe").load(PRICES)
    assert main(["render", str(SHOP), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "production" / "web.yaml").is_file()
