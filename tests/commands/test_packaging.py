"""The built wheel is the whole program: installed on its own (not the checkout), `unhazzle`
answers --help and validates and renders the shop example, and every module of the wheel
loads under the one name its path gives it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, unpacked into a folder of its own."""
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    built = subprocess.run(command, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(out.glob("unhazzle-*.whl"))
    target = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The wheel's folder first on the path, the checkout nowhere on it: what runs is what ships.
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_wheel_alone_runs_the_shop_example(installed: Path, tmp_path: Path) -> None:
    where = _run(installed, tmp_path, "-c", "import unhazzle; print(unhazzle.__file__)")
    assert where.stdout.strip() == str(installed / "unhazzle" / "__init__.py"), where.stderr
    assert _run(installed, tmp_path, "-m", "unhazzle", "--help").returncode == 0
    spec = str(EXAMPLES / "shop" / "unhazzle.yaml")
    checked = _run(installed, tmp_path, "-m", "unhazzle", "validate", spec)
    assert checked.returncode == 0 and "OK (2 environments, 4 apps)" in checked.stdout, checked.stderr
    rendered = _run(installed, tmp_path, "-m", "unhazzle", "render", spec, "--out", str(tmp_path / "out"))
    assert rendered.returncode == 0, rendered.stderr
    assert "46 objects" in rendered.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["production", "staging"]
    # Its templates and data files came compiled in the wheel: a new machine's first render asks
    # for each (none is missing or damaged) and compiles no template.
    watch = (
        "import sys; from unhazzle.compiler import prebuilt\n"
        "compiled, missed, find = [], [], prebuilt.code\n"
        "def code(relative, **kwargs):\n"
        "    found = find(relative, **kwargs); missed.extend([] if found else [relative]); return found\n"
        "prebuilt.code = code\n"
        "sys.addaudithook(lambda event, args: compiled.append(args[1]) if event == 'compile' else None)\n"
        "from unhazzle.cli import main; status = main(sys.argv[1:])\n"
        "print('compiled:', sorted({str(name) for name in compiled if str(name).endswith('.j2')}))\n"
        "print('missed:', missed); sys.exit(status)\n"
    )
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    again = _run(installed, fresh, "-c", watch, "render", spec, "--out", str(fresh / "out"))
    assert again.returncode == 0 and "46 objects" in again.stdout, again.stderr
    assert "compiled: []" in again.stdout and "missed: []" in again.stdout, again.stdout
    assert sorted(p.name for p in (fresh / "out").iterdir()) == ["production", "staging"]


def test_every_module_of_the_wheel_has_one_name(installed: Path, tmp_path: Path) -> None:
    modules = sorted(
        ".".join(path.relative_to(installed).with_suffix("").parts).removesuffix(".__init__")
        for path in (installed / "unhazzle").rglob("*.py")
        if "prebuilt" not in path.parts  # code files jinja2 and the data reader run, which no name imports
    )
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('compiler', 'reconciler')))"
    loaded = _run(installed, tmp_path, "-c", code, *[m for m in modules if m != "unhazzle.__main__"])
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"  # nothing loads under a second, bare name
    assert not (installed / "compiler").exists() and not (installed / "reconciler").exists()


@pytest.mark.cluster
def test_the_wheel_builds_the_local_cluster_as_a_checkout_does(
    installed: Path, tmp_path: Path, cluster_bin_dir: Path
) -> None:
    # A pip user has no checkout: the build script, its versions and Go modules ship in the wheel,
    # and `dev-cluster build` from the wheel finds every binary the checkout's build made.
    tracked = subprocess.run(["git", "ls-files", "unhazzle/devcluster/builder"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
    assert tracked and all((installed / path).is_file() for path in tracked)
    env = {"PYTHONPATH": str(installed), "PATH": f"{Path(shutil.which('go') or 'go').parent}:/usr/bin:/bin",
           "HOME": str(Path.home()), "UNHAZZLE_K8S_CACHE": str(cluster_bin_dir.parent.parent)}  # fmt: skip
    built = subprocess.run([sys.executable, "-m", "unhazzle", "dev-cluster", "build"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    assert "go build" not in built.stdout and "go install" not in built.stdout, built.stdout
