"""scripts/reconciler_image.py follows the Containerfile, and stops at what it does not know."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "reconciler_image", ROOT / "scripts" / "reconciler_image.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_recipe_is_the_containerfiles_last_stage() -> None:
    recipe = builder().read_containerfile(ROOT / "Containerfile")
    assert recipe.packages == ["git", "openssh-client", "gnupg", "ca-certificates"]
    assert (recipe.uid, recipe.home, recipe.user) == (10001, "/var/cache/unhazzle", "10001")
    assert recipe.env == {"HOME": "/var/cache/unhazzle", "PYTHONUNBUFFERED": "1"}
    assert (recipe.entrypoint, recipe.cmd) == (["unhazzle"], ["reconcile", "--help"])


def test_an_instruction_it_cannot_follow_stops_the_build(tmp_path: Path) -> None:
    text = (ROOT / "Containerfile").read_text() + "EXPOSE 9090\n"
    (tmp_path / "Containerfile").write_text(text)
    with pytest.raises(SystemExit, match="EXPOSE is not understood here"):
        builder().read_containerfile(tmp_path / "Containerfile")
