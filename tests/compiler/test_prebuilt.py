"""The package ships its templates and data files compiled (unhazzle/prebuilt/, made by `make
prebuilt`), so a machine with an empty cache neither compiles a template nor parses YAML before its
first render; what it takes from them is kept in the user's cache as if compiled here; a template
or data file that changed is compiled or parsed from its source, and what is rendered is the same
either way."""

from __future__ import annotations

import importlib.util
import py_compile
import shutil
import traceback
from pathlib import Path
from typing import NoReturn

import jinja2
import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, ROOT
from unhazzle.compiler import prebuilt
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering import render
from unhazzle.compiler.rules import datafiles
from unhazzle.compiler.rules.prices import load_table

SHOP = EXAMPLES / "shop" / "unhazzle.yaml"
DATA = Path(datafiles.__file__).with_name("data")
_fresh_environment = render.template_environment.__wrapped__  # a new one for each use, never shared
_spec = importlib.util.spec_from_file_location("prebuild", ROOT / "scripts" / "prebuild.py")
assert _spec is not None and _spec.loader is not None
prebuild = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prebuild)


def _never(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("compiled or parsed, though the package ships it prebuilt or the cache keeps it")


@pytest.fixture(autouse=True)
def _empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new machine's cache: empty (the session's shared one has parsed the data files already)."""
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _rendered(monkeypatch: pytest.MonkeyPatch, environment: jinja2.Environment) -> dict[str, str]:
    monkeypatch.setattr(render, "template_environment", lambda: environment)
    return render.render_plan(compile_file(SHOP).plan)


def _templates(environment: jinja2.Environment) -> list[str]:
    return environment.list_templates(filter_func=lambda name: name.endswith(".j2"))


def _from_source(tmp_path: Path) -> dict[str, str]:
    """The shop rendered with every template compiled by jinja2 (no prebuilt code, another cache)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "compiled-cache"))
        patch.setattr(prebuilt, "FOLDER", tmp_path / "nothing")
        return _rendered(patch, _fresh_environment())


def test_prebuilt_code_is_made_from_the_templates_and_data_files_as_they_are():
    assert prebuild.out_of_date(prebuild.wanted()) == [], "run `make prebuilt`"


def test_every_template_comes_prebuilt_then_from_the_cache_and_renders_as_compiled_from_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _empty_cache: Path
):
    compiled = _from_source(tmp_path)
    monkeypatch.setattr(jinja2.Environment, "compile", _never)
    environment = _fresh_environment()
    for name in _templates(environment):
        environment.get_template(name)
    assert _rendered(monkeypatch, environment) == compiled
    # kept as a compile is: without byte-code beside the prebuilt files, the next run reads these
    assert len(list(_empty_cache.glob("templates/*/*.cache"))) == len(_templates(environment))
    monkeypatch.setattr(prebuilt, "code", _never)
    assert _rendered(monkeypatch, _fresh_environment()) == compiled


def test_a_changed_template_is_compiled_from_its_source(monkeypatch: pytest.MonkeyPatch):
    environment = _fresh_environment()
    loader = environment.loader
    assert loader is not None
    read = loader.get_source

    def edited(env: jinja2.Environment, name: str) -> tuple[str, str | None, object]:
        source, filename, uptodate = read(env, name)
        return source.replace("kind: Service", "kind: Service\n# edited"), filename, uptodate

    monkeypatch.setattr(loader, "get_source", edited)
    compiled: list[str] = []
    compile_source = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: str, name: str | None = None, *args: object) -> object:
        compiled.append(str(name))
        return compile_source(self, source, name, *args)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    template = environment.get_template("app/service.yaml.j2")
    assert compiled == ["app/service.yaml.j2"]
    app = {"name": "web", "labels": {}, "selector": {"app": "web"}, "port": 8080}
    assert template.render(app=app, env={"namespace": "shop"}).startswith(
        "apiVersion: v1\nkind: Service\n# edited\n"
    )
    environment.get_template("app/volume.yaml.j2")  # unchanged: prebuilt
    assert compiled == ["app/service.yaml.j2"]


def test_prebuilt_code_names_its_template_and_line_in_tracebacks(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(jinja2.Environment, "compile", _never)
    template = _fresh_environment().get_template("app/service.yaml.j2")
    assert template.filename is not None and template.filename.endswith("templates/app/service.yaml.j2")
    with pytest.raises(Exception) as raised:
        template.render(app={}, env={})  # line 3 reads app.name
    frames = [(frame.filename, frame.lineno) for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert any(name.endswith("templates/app/service.yaml.j2") and line == 3 for name, line in frames), frames


def test_a_damaged_or_unreadable_prebuilt_file_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    compiled = _from_source(tmp_path)
    folder = tmp_path / "prebuilt"
    shutil.copytree(prebuilt.FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(folder.rglob("*.py"))
    for number, path in enumerate(files):
        if number % 3 == 0:  # the source cut, then not Python
            path.write_bytes(path.read_bytes()[: number * 11] + b"\n)(\n")
        elif number % 3 == 1:  # the source cut at a line: still Python, but not whole
            lines = path.read_text().splitlines(keepends=True)
            path.write_text("".join(lines[: len(lines) // 2]))
        else:  # the source whole, the byte-code Python keeps of it cut
            pyc = Path(py_compile.compile(str(path), doraise=True))
            pyc.write_bytes(pyc.read_bytes()[: 20 + number * 7])
    monkeypatch.setattr(prebuilt, "FOLDER", folder)
    lasts = {"templates": "debug_info", "data": "DATA"}
    whole = [
        p
        for p in files
        if prebuilt.code(str(p.relative_to(folder)), last=lasts[p.relative_to(folder).parts[0]])
    ]
    assert whole == []
    assert _rendered(monkeypatch, _fresh_environment()) == compiled
    relatives = [str(path.relative_to(DATA)) for path in sorted(DATA.rglob("*.yaml"))]
    assert [datafiles.read_data(r) for r in relatives] == [
        YAML(typ="safe").load((DATA / r).read_bytes()) for r in relatives
    ]


@pytest.mark.parametrize("relative", sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.yaml")))
def test_every_data_file_comes_prebuilt_exactly_as_the_yaml_reads_then_from_the_cache(
    relative: str, monkeypatch: pytest.MonkeyPatch, _empty_cache: Path
):
    parsed = YAML(typ="safe").load((DATA / relative).read_bytes())
    monkeypatch.setattr(YAML, "load", _never)
    read = datafiles.read_data(relative)
    assert repr(read) == repr(parsed)  # types too: a date stays a date, 1 never becomes True
    assert len(list(_empty_cache.glob("data/*.pickle"))) == 1  # kept as a parse is
    monkeypatch.setattr(prebuilt, "code", _never)
    read_again = datafiles.read_data(relative)
    assert repr(read_again) == repr(read) and read_again is not read  # each reader its own copy


def test_a_changed_data_file_is_parsed_from_its_source():
    raw = (DATA / "cluster.yaml").read_bytes()
    assert prebuilt.code(prebuilt.data_file("cluster.yaml", raw), last="DATA") is not None
    assert prebuilt.code(prebuilt.data_file("cluster.yaml", raw + b"\nextra: 1\n"), last="DATA") is None
    edited = datafiles.parse_cached(raw + b"\nextra: 1\n", packaged="cluster.yaml")
    assert edited == {**YAML(typ="safe").load(raw), "extra": 1}


def test_the_bundled_price_tables_read_prebuilt(monkeypatch: pytest.MonkeyPatch):
    parsed = {
        path.name: YAML(typ="safe").load(path.read_bytes()) for path in (DATA / "prices").glob("*.yaml")
    }
    monkeypatch.setattr(YAML, "load", _never)
    for name, data in parsed.items():
        table = load_table.__wrapped__(data["effective"])
        assert table.effective.isoformat() == name.removesuffix(".yaml")


def test_prebuild_makes_what_is_missing_and_removes_what_is_left_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    folder = tmp_path / "prebuilt"
    shutil.copytree(prebuilt.FOLDER, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(prebuilt, "FOLDER", folder)
    gone = next(folder.glob("templates/app/service.yaml.j2.*.py"))
    gone.unlink()
    (folder / "templates" / "old").mkdir()
    (folder / "templates" / "old" / "old.yaml.j2.0123456789abcdef.py").write_text("name = 'old'\n")
    edited = next(folder.glob("data/sizing.yaml.*.py"))
    edited.write_text(edited.read_text().replace("DATA = {", "DATA = {'by hand': 1,"))
    assert prebuild.main(["--check"]) == 1
    said = capsys.readouterr().out
    assert f"missing: {gone.relative_to(folder)}" in said
    assert "left over: templates/old/old.yaml.j2.0123456789abcdef.py" in said
    assert f"changed by hand: {edited.relative_to(folder)}" in said
    assert prebuild.main([]) == 0
    assert "3 made again or removed" in capsys.readouterr().out
    assert prebuild.main(["--check"]) == 0
    assert gone.exists() and not (folder / "templates" / "old").exists()
    assert "by hand" not in edited.read_text()
