"""Build the reconciler's image from the Containerfile without a container engine.

No Docker daemon runs on these machines, so the image is assembled the way the Containerfile
describes it, from the same parts: a Debian root filesystem (debootstrap, with python3 and the
packages the Containerfile's `apt-get install` names), the user its `useradd` makes, the project's
wheel and its dependencies installed into a virtual environment, and its ENV, USER, ENTRYPOINT and
CMD as the image config. The result is an OCI image layout, ready for `skopeo copy`.

    python scripts/reconciler_image.py OUT_DIR [--tag NAME]    (as root: debootstrap and chroot)

The Debian root filesystem is cached (UNHAZZLE_K8S_CACHE/images, keyed by its package list), so a
second build takes the time of installing the wheel and writing one layer. A Containerfile
instruction this builder does not understand stops it with the line, so the two cannot drift.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unhazzle.devcluster.cluster import cache_bin_dir  # noqa: E402
from unhazzle.devcluster.images import Image, Layout  # noqa: E402

SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
# The Containerfile's base image is python:3.12-slim; Debian's own python3 (3.11, the project's
# floor) stands in for it, with venv to install into.
BASE_PACKAGES = ("python3", "python3-venv")
VENV = "/opt/unhazzle"


@dataclass
class Recipe:
    """What the Containerfile's runtime stage asks for."""

    packages: list[str] = field(default_factory=list)
    uid: int = 0
    home: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def read_containerfile(path: Path) -> Recipe:
    """The last stage of the Containerfile, instruction by instruction."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages = re.split(r"(?m)^FROM ", text)
    recipe = Recipe()
    for number, line in enumerate(stages[-1].splitlines()[1:], start=2):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "RUN" and "apt-get install" in rest:
            install = rest.split("apt-get install", 1)[1].split("&&", 1)[0]
            recipe.packages = [w for w in shlex.split(install) if not w.startswith("-")]
            if found := re.search(r"useradd .*--uid (\d+).*--home-dir (\S+)", rest):
                recipe.uid, recipe.home = int(found.group(1)), found.group(2)
        elif (word == "RUN" and "pip install" in rest) or (word == "COPY" and "--from=build" in rest):
            continue  # the wheel: installed below from this checkout
        elif word == "ENV":
            recipe.env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif word == "USER":
            recipe.user = rest.strip()
        elif word in ("ENTRYPOINT", "CMD"):
            setattr(recipe, word.lower(), json.loads(rest))
        else:
            raise SystemExit(f"{path}: last stage, line {number}: {word} is not understood here: {line}")
    if not recipe.packages or not recipe.uid or not recipe.entrypoint:
        raise SystemExit(f"{path}: no apt-get install, useradd --uid or ENTRYPOINT in its last stage")
    return recipe


# Inside the chroot, nothing of this machine's environment (its pip settings name host folders).
CHROOT_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root", "LANG": "C.UTF-8"}


def run(*argv: str, **kw: object) -> None:
    if argv[0] == "chroot":
        kw.setdefault("env", CHROOT_ENV)
    subprocess.run(list(argv), check=True, **kw)  # type: ignore[call-overload]


def debian_root(recipe: Recipe, cache: Path) -> Path:
    """debootstrap once per package list; later builds copy the cached tree."""
    packages = sorted({*BASE_PACKAGES, *recipe.packages})
    key = hashlib.sha256(" ".join([SUITE, *packages]).encode()).hexdigest()[:12]
    root = cache / f"{SUITE}-{key}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"reconciler-image: debootstrap {SUITE} with {' '.join(packages)} (once, about a minute)")
        run("debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(root), MIRROR,
            stdout=subprocess.DEVNULL)  # fmt: skip
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True)
        (root / ".complete").write_text(" ".join(packages) + "\n")
    return root


def wheels(folder: Path) -> None:
    """This checkout's wheel and its dependencies' wheels, for Debian's Python, fetched here: the
    chroot installs them without any network."""
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder), str(ROOT))
    run(sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(folder),
        "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
        *(str(w) for w in folder.glob("unhazzle-*.whl")))  # fmt: skip


def build(out: Path, tag: str) -> Path:
    recipe = read_containerfile(ROOT / "Containerfile")
    cache = Path(os.environ.get("UNHAZZLE_IMAGE_CACHE") or cache_bin_dir().parent.parent / "images")
    base = debian_root(recipe, cache)
    with tempfile.TemporaryDirectory(prefix="reconciler-image-") as tmp:
        work = Path(tmp) / "root"
        run("cp", "-a", str(base), str(work))
        (work / ".complete").unlink()
        wheels(work / "wheels")
        run("chroot", str(work), "useradd", "--uid", str(recipe.uid), "--no-create-home", "--home-dir",
            recipe.home, "unhazzle")  # fmt: skip
        run("chroot", str(work), "python3", "-m", "venv", VENV)
        pip = f"{VENV}/bin/pip"
        run("chroot", str(work), pip, "install", "--quiet", "--no-index", "--find-links", "/wheels",
            "--disable-pip-version-check", "unhazzle")  # fmt: skip
        shutil.rmtree(work / "wheels")
        for bulk in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"):
            shutil.rmtree(work / bulk, ignore_errors=True)  # as slim images leave them out
        command = recipe.entrypoint[0]  # on PATH, as pip puts it in the base image
        (work / "usr/local/bin" / command).symlink_to(f"{VENV}/bin/{command}")
        layer = Path(tmp) / "layer.tar"
        run("tar", "--numeric-owner", "--xattrs", "-C", str(work), "-cf", str(layer), ".")
        image = Image(
            user=recipe.user, entrypoint=recipe.entrypoint, cmd=recipe.cmd,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", **recipe.env}, rootfs_tar=layer,
        )  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)
        Layout(out).add(tag, image)
    return out


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tag", default="reconciler")
    args = parser.parse_args()
    print(build(args.out, args.tag))
    return 0


if __name__ == "__main__":
    sys.exit(main())
