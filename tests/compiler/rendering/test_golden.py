"""Golden files: the rendered output of every example, every environment, byte for byte.

Regenerate after an intended change with `make golden` (`pytest -k golden --update-golden`) and
review the diff like code: it is exactly what a cluster would receive.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering.render import render_plan

GOLDEN = ROOT / "tests" / "golden"
EXAMPLE_NAMES = sorted(path.parent.name for path in EXAMPLES.glob("*/unhazzle.yaml"))


def rendered(example: str) -> dict[str, str]:
    return render_plan(compile_file(EXAMPLES / example / "unhazzle.yaml").plan)


def on_disk(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*.yaml"))
    }


def write_golden(folder: Path, files: dict[str, str]) -> None:
    for stale in folder.rglob("*.yaml"):
        stale.unlink()
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def test_golden_examples_are_all_covered():
    assert {"busy-api", "shop", "static-site"} <= set(EXAMPLE_NAMES)
    # tests/golden/init holds the questionnaire's golden specs (tests/test_init.py)
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "init") == EXAMPLE_NAMES


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_golden_render_matches(example: str, request: pytest.FixtureRequest):
    files = rendered(example)
    folder = GOLDEN / example
    if request.config.getoption("--update-golden"):
        write_golden(folder, files)
    expected = on_disk(folder)
    assert sorted(files) == sorted(expected), "files differ; run `make golden` if this is intended"
    for rel, text in files.items():
        assert text == expected[rel], f"{example}/{rel} differs; run `make golden` if this is intended"


def render_in_subprocess(spec: Path, out: Path) -> dict[str, str]:
    subprocess.run(
        [sys.executable, "-m", "unhazzle", "render", str(spec), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return {
        p.relative_to(out).as_posix(): p.read_bytes().decode() for p in sorted(out.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_golden_render_is_deterministic_across_processes(example: str, tmp_path: Path):
    # Separate processes get different hash seeds, so set or dict ordering leaks would show here.
    spec = EXAMPLES / example / "unhazzle.yaml"
    first = render_in_subprocess(spec, tmp_path / "one")
    second = render_in_subprocess(spec, tmp_path / "two")
    assert first and first == second
    assert first == rendered(example)


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_rendered_files_hold_objects_and_nothing_else(example: str) -> None:
    """No comment: why the manifests are as they are is said in the templates, for us."""
    for name, text in rendered(example).items():
        assert not [line for line in text.splitlines() if line.lstrip().startswith("#")], name
