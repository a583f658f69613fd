"""Which project, environments and apps `status`, `events`, `logs` and `metrics` look at: from the
spec, compiled once per spec content and then remembered, with the compiler's own errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from unhazzle.commands import target
from unhazzle.errors import InputError


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNHAZZLE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def args(spec: Path, *, env: str | None = None, app: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(spec=str(spec), project=None, env=env, app=app, kubeconfig=None)


def shop(tmp_path: Path) -> Path:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text((EXAMPLES / "shop" / "unhazzle.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return spec


def test_target_from_the_spec_names_namespaces_and_apps(tmp_path: Path) -> None:
    found = target.resolve(args(shop(tmp_path), env="production"))
    assert found.project == "shop"
    [env] = found.environments
    assert (env.name, env.badge, env.namespace) == ("production", "production", "shop-production")
    assert set(env.apps) == {"web", "api", "worker", "cache"}


def test_an_unchanged_spec_is_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = shop(tmp_path)
    first = target.resolve(args(spec))

    def no_compile(*a: object, **k: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(target, "_compile_view", no_compile)
    assert target.resolve(args(spec)) == first
    assert target.resolve(args(spec, env="staging", app="web")).environments[0].namespace == "shop-staging"
    spec.write_text(spec.read_text().replace("project: shop", "project: shop2"))
    with pytest.raises(AssertionError, match="compiled again"):  # a changed spec misses
        target.resolve(args(spec))


def test_unknown_env_or_app_gets_the_compilers_located_error_even_when_remembered(tmp_path: Path) -> None:
    spec = shop(tmp_path)
    target.resolve(args(spec))
    with pytest.raises(InputError, match="no environment named 'prod'"):
        target.resolve(args(spec, env="prod"))
    with pytest.raises(InputError, match="no app named 'wbe'"):
        target.resolve(args(spec, app="wbe"))


def test_a_damaged_or_unwritable_cache_only_means_compiling_again(tmp_path: Path, cache: Path) -> None:
    spec = shop(tmp_path)
    target.resolve(args(spec))
    [entry] = (cache / "targets").iterdir()
    entry.write_text('{"project": 3')
    assert target.resolve(args(spec)).project == "shop"
    entry.write_text('{"project": "x", "environments": [{"name": 1}], "apps": []}')
    assert target.resolve(args(spec)).project == "shop"
    for old in (cache / "targets").iterdir():
        old.unlink()
    (cache / "targets").rmdir()
    (cache / "targets").write_text("not a folder")
    assert target.resolve(args(spec)).project == "shop"


def test_an_invalid_spec_is_an_input_error_and_is_not_remembered(tmp_path: Path, cache: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text("project: shop\napps: {web: {imag: x}}\n")
    with pytest.raises(InputError):
        target.resolve(args(spec))
    assert not (cache / "targets").exists()
