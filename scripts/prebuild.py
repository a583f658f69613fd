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
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import ruamel.yaml

from unhazzle.compiler import prebuilt
from unhazzle.compiler.rendering.render import template_environment
from unhazzle.compiler.rendering.templatecache import maker

COMMAND = "make prebuilt"


def wanted() -> dict[str, str]:
    """Every prebuilt file the package should ship, by its path under unhazzle/prebuilt/."""
    return {**_templates(), **_data_files()}


def out_of_date(want: dict[str, str]) -> list[str]:
    """What differs between unhazzle/prebuilt/ and *want*, one line each."""
    have = _present()
    lines = [f"missing: {relative}" for relative in sorted(want.keys() - have.keys())]
    lines += [f"left over: {relative}" for relative in sorted(have.keys() - want.keys())]
    lines += [
        f"changed by hand: {relative}"
        for relative in sorted(want.keys() & have.keys())
        if have[relative].read_text(encoding="utf-8") != want[relative]
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/prebuild.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="list what is out of date; write nothing")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    want = wanted()
    lines = out_of_date(want)
    if args.check:
        print("\n".join(lines) if lines else "unhazzle/prebuilt/ is up to date")
        return 1 if lines else 0
    have = _present()
    for relative, text in want.items():
        if relative not in have or have[relative].read_text(encoding="utf-8") != text:
            path = prebuilt.FOLDER / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for relative in have.keys() - want.keys():
        have[relative].unlink()
        with contextlib.suppress(FileNotFoundError):
            Path(importlib.util.cache_from_source(str(have[relative]))).unlink()
    for folder in sorted(prebuilt.FOLDER.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    print(f"unhazzle/prebuilt/: {len(want)} files; {len(lines)} made again or removed")
    return 0


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
    root = resources.files("unhazzle.compiler.rules").joinpath("data")
    files = {}
    for relative in _yaml_names(root):
        raw = root.joinpath(relative).read_bytes()
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


def _yaml_names(root: Any, prefix: str = "") -> list[str]:
    names = []
    for entry in sorted(root.iterdir(), key=lambda entry: entry.name):
        if entry.is_dir():
            names += _yaml_names(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".yaml"):
            names.append(prefix + entry.name)
    return names


def _present() -> dict[str, Path]:
    return {
        path.relative_to(prebuilt.FOLDER).as_posix(): path
        for path in prebuilt.FOLDER.rglob("*.py")
        if "__pycache__" not in path.parts
    }


if __name__ == "__main__":
    raise SystemExit(main())
