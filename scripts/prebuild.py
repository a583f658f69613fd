"""Make unhazzle/prebuilt/ again from the templates and the data files, after changing either, or
rendering/render.py, or the jinja2 the tests install (pinned in pyproject.toml).
How the files are found and used: unhazzle/compiler/prebuilt.py.

    python scripts/prebuild.py [--check]    (make prebuilt)

--check writes nothing: it lists what is out of date and exits 1 if anything is.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import pprint
import sys
from pathlib import Path
from typing import Any

import jinja2
import ruamel.yaml

from unhazzle.compiler import prebuilt
from unhazzle.compiler.rendering.render import template_environment
from unhazzle.compiler.rendering.templatecache import maker
from unhazzle.compiler.rules import datafiles

COMMAND = "make prebuilt"
DATA = Path(datafiles.__file__).with_name("data")  # a checkout's: this script runs in one


def wanted() -> dict[str, str]:
    """Every prebuilt file the package should ship, by its path under unhazzle/prebuilt/."""
    return {**_templates(), **_data_files()}


def out_of_date(want: dict[str, str]) -> list[str]:
    """What differs between unhazzle/prebuilt/ and *want*, one line each."""
    missing, left_over, changed = _differences(want, _present())
    return (
        [f"missing: {relative}" for relative in missing]
        + [f"left over: {relative}" for relative in left_over]
        + [f"changed by hand: {relative}" for relative in changed]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/prebuild.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="list what is out of date; write nothing")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    want = wanted()
    if args.check:
        lines = out_of_date(want)
        print("\n".join(lines) if lines else "unhazzle/prebuilt/ is up to date")
        return 1 if lines else 0
    have = _present()
    missing, left_over, changed = _differences(want, have)
    for relative in missing + changed:
        path = prebuilt.FOLDER / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(want[relative], encoding="utf-8")
    for relative in left_over:
        have[relative].unlink()
        with contextlib.suppress(FileNotFoundError):
            Path(importlib.util.cache_from_source(str(have[relative]))).unlink()
    for folder in sorted(prebuilt.FOLDER.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    done = len(missing) + len(left_over) + len(changed)
    print(f"unhazzle/prebuilt/: {len(want)} files; {done} made again or removed")
    return 0


def _differences(want: dict[str, str], have: dict[str, Path]) -> tuple[list[str], list[str], list[str]]:
    """The files *want* has and unhazzle/prebuilt/ has not, the other way round, and in both but
    with another text."""
    both = sorted(want.keys() & have.keys())
    changed = [relative for relative in both if have[relative].read_text(encoding="utf-8") != want[relative]]
    return sorted(want.keys() - have.keys()), sorted(have.keys() - want.keys()), changed


def _templates() -> dict[str, str]:
    env = template_environment()
    made_by = maker(env)
    if env.loader is None or made_by is None:
        raise SystemExit("the templates or rendering/render.py cannot be read")
    files = {}
    for name in env.list_templates(filter_func=lambda name: name.endswith(".j2")):
        source, filename, _ = env.loader.get_source(env, name)
        code = env.compile(source, name, filename, raw=True).rstrip("\n")
        # At the end: a line above the code would move the template lines jinja2 maps it to.
        trailer = (
            f"# Made by `{COMMAND}` with jinja2 {jinja2.__version__} from templates/{name}; do not edit."
        )
        files[prebuilt.template_file(name, source, made_by)] = f"{code}\n\n{trailer}\n"
    return files


def _data_files() -> dict[str, str]:
    files = {}
    for path in sorted(DATA.rglob("*.yaml")):
        relative, raw = path.relative_to(DATA).as_posix(), path.read_bytes()
        data = ruamel.yaml.YAML(typ="safe").load(raw)
        literal = pprint.pformat(data, width=100, sort_dicts=False)
        namespace: dict[str, Any] = {}
        exec(f"import datetime\nDATA = {literal}", namespace)
        if repr(namespace["DATA"]) != repr(data):  # anything but plain data and dates
            raise SystemExit(f"compiler/rules/data/{relative} does not read back from its prebuilt copy")
        files[prebuilt.data_file(relative, raw)] = (
            f'"""compiler/rules/data/{relative} as ruamel.yaml\'s safe loader reads it.\n\n'
            f'Made by `{COMMAND}`; do not edit."""\n\nimport datetime\n\nDATA = {literal}\n'
        )
    return files


def _present() -> dict[str, Path]:
    return {
        path.relative_to(prebuilt.FOLDER).as_posix(): path
        for path in prebuilt.FOLDER.rglob("*.py")
        if "__pycache__" not in path.parts
    }


if __name__ == "__main__":
    raise SystemExit(main())
