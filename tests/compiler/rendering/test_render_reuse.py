"""Rendering again keeps the text of every app whose inputs did not change and renders the
others: the files are exactly those of a render from nothing, whatever state the kept entries
are in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from unhazzle.compiler.pipeline import compile_file, compile_text
from unhazzle.compiler.rendering import reuse as reuse_module
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.compiler.rendering.reuse import Reuse

SHOP = EXAMPLES / "shop" / "unhazzle.yaml"


def _apps_and_jobs(files: dict[str, str]) -> int:
    return sum(1 for name in files if not name.endswith("/_environment.yaml"))


def test_a_second_render_reuses_every_app_and_writes_the_same_files(tmp_path: Path) -> None:
    plan = compile_file(SHOP).plan
    fresh = render_plan(plan)
    kept = tmp_path / "shop"

    first = Reuse(kept)
    assert render_plan(plan, reuse=first) == fresh and first.reused == 0
    second = Reuse(kept)
    assert render_plan(plan, reuse=second) == fresh
    assert second.reused == _apps_and_jobs(fresh)  # jobs and release steps included


def test_only_the_changed_app_is_rendered_again(tmp_path: Path) -> None:
    text = SHOP.read_text()
    kept = tmp_path / "shop"
    render_plan(compile_text(text).plan, reuse=Reuse(kept))  # (no secrets read, as below)
    changed = compile_text(text.replace("shop-web:1.4.2", "shop-web:1.5.0")).plan

    again = Reuse(kept)
    files = render_plan(changed, reuse=again)

    assert files == render_plan(changed)
    environments = sum(1 for env in changed.environments if any(a.name == "web" for a in env.apps))
    assert again.reused == _apps_and_jobs(files) - environments  # web, once per environment


def test_a_change_to_what_every_app_shares_renders_them_all_again(tmp_path: Path) -> None:
    text = SHOP.read_text()
    kept = tmp_path / "shop"
    render_plan(compile_text(text).plan, reuse=Reuse(kept))
    renamed = compile_text(text.replace("project: shop", "project: store", 1)).plan

    again = Reuse(kept)
    assert render_plan(renamed, reuse=again) == render_plan(renamed)
    assert again.reused == 0


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xfa" * 64])
def test_a_damaged_cache_is_ignored(tmp_path: Path, damage: bytes) -> None:
    plan = compile_file(SHOP).plan
    kept = tmp_path / "shop"
    render_plan(plan, reuse=Reuse(kept))
    for entry in kept.glob("*.marshal"):
        entry.write_bytes(damage or entry.read_bytes()[:100])  # (empty: cut short instead)

    again = Reuse(kept)
    assert render_plan(plan, reuse=again) == render_plan(plan)
    assert again.reused == 0


def test_entries_made_by_other_templates_or_code_are_never_reused(tmp_path: Path, monkeypatch) -> None:
    plan = compile_file(SHOP).plan
    kept = tmp_path / "shop"
    render_plan(plan, reuse=Reuse(kept))
    monkeypatch.setattr(reuse_module, "_code", lambda: "another version of the templates")

    again = Reuse(kept)
    render_plan(plan, reuse=again)
    assert again.reused == 0


def test_the_cache_holds_only_the_last_render(tmp_path: Path) -> None:
    text = SHOP.read_text()
    kept = tmp_path / "shop"
    for tag in ("1.5.0", "1.6.0", "1.7.0"):
        render_plan(compile_text(text.replace("shop-web:1.4.2", f"shop-web:{tag}")).plan, reuse=Reuse(kept))

    entries = sum(len(reuse_module._read(path)) for path in kept.glob("*.marshal"))
    assert entries == _apps_and_jobs(render_plan(compile_text(text).plan))


def test_a_size_change_of_one_app_renders_that_app_alone(tmp_path: Path) -> None:
    # the environment's quota sums every app, and is not part of an app's key
    text = SHOP.read_text()
    kept = tmp_path / "shop"
    render_plan(compile_text(text).plan, reuse=Reuse(kept))
    bigger = compile_text(
        text.replace(
            "    image: ghcr.io/acme/shop-web:1.4.2\n",
            "    image: ghcr.io/acme/shop-web:1.4.2\n    instances: {max: 12}\n",
        )
    ).plan

    again = Reuse(kept)
    files = render_plan(bigger, reuse=again)
    assert files == render_plan(bigger)
    assert files != render_plan(compile_text(text).plan)
    assert again.reused == _apps_and_jobs(files) - 1  # production's web (staging sets its own max)


def test_rendering_one_environment_keeps_the_others_entries(tmp_path: Path) -> None:
    plan = compile_text(SHOP.read_text()).plan
    kept = tmp_path / "shop"
    render_plan(plan, reuse=Reuse(kept))
    render_plan(plan, environments=["production"], reuse=Reuse(kept))

    again = Reuse(kept)
    assert render_plan(plan, reuse=again) == render_plan(plan)
    assert again.reused == _apps_and_jobs(render_plan(plan))


def test_a_key_is_made_of_plain_values_only() -> None:
    keys = {reuse_module._key_bytes(value) for value in (True, 1, 1.0, "1", None, [1], (1,))}
    assert len(keys) == 7  # True is not 1, 1 is not 1.0
    with pytest.raises(TypeError):
        reuse_module._key_bytes({"x": object()})
    with pytest.raises(TypeError):
        reuse_module._key_bytes([len])


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    plan = compile_file(SHOP).plan

    assert render_plan(plan, reuse=Reuse(blocker / "shop.marshal")) == render_plan(plan)
