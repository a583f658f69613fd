"""Writing rendered files: a folder is replaced whole, and what did not change is not rewritten."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from unhazzle.compiler.write import edit_file_atomic, write_tree


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_a_rendered_folder_is_replaced_whole(tmp_path: Path) -> None:
    write_tree(tmp_path, {"production/web.yaml": "a\n", "production/api.yaml": "b\n"})
    write_tree(tmp_path, {"production/web.yaml": "a\n"})

    assert sorted(p.name for p in (tmp_path / "production").iterdir()) == ["web.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["production"]  # no staging or old folder


def test_an_unchanged_file_is_kept_and_a_changed_one_is_written_anew(tmp_path: Path) -> None:
    write_tree(tmp_path, {"production/web.yaml": "same\n", "production/api.yaml": "v1\n"})
    web, api = _inode(tmp_path / "production/web.yaml"), _inode(tmp_path / "production/api.yaml")

    write_tree(tmp_path, {"production/web.yaml": "same\n", "production/api.yaml": "v2\n"})

    assert _inode(tmp_path / "production/web.yaml") == web
    assert _inode(tmp_path / "production/api.yaml") != api
    assert (tmp_path / "production/api.yaml").read_text() == "v2\n"
    assert (tmp_path / "production/web.yaml").stat().st_nlink == 1  # the old folder's link is gone


def test_a_file_of_the_same_size_but_other_content_is_rewritten(tmp_path: Path) -> None:
    write_tree(tmp_path, {"production/web.yaml": "image: v1\n"})
    write_tree(tmp_path, {"production/web.yaml": "image: v2\n"})

    assert (tmp_path / "production/web.yaml").read_text() == "image: v2\n"


def test_text_is_written_as_utf8_with_unix_line_ends(tmp_path: Path) -> None:
    write_tree(tmp_path, {"production/web.yaml": 'greeting: "grüß dich"\n'})
    write_tree(tmp_path, {"production/web.yaml": 'greeting: "grüß dich"\n'})

    assert (tmp_path / "production/web.yaml").read_bytes() == 'greeting: "grüß dich"\n'.encode()


def test_a_file_the_user_made_a_link_is_written_anew_never_shared(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("same\n")
    write_tree(tmp_path / "out", {"production/web.yaml": "same\n", "production/api.yaml": "same\n"})
    web, api = tmp_path / "out/production/web.yaml", tmp_path / "out/production/api.yaml"
    web.unlink()
    web.symlink_to(mine)  # a symlink to the user's own file
    (tmp_path / "snapshot.yaml").hardlink_to(api)  # a second link to a rendered file

    write_tree(tmp_path / "out", {"production/web.yaml": "same\n", "production/api.yaml": "same\n"})

    assert not web.is_symlink() and web.stat().st_ino != mine.stat().st_ino
    assert api.stat().st_ino != (tmp_path / "snapshot.yaml").stat().st_ino
    mine.write_text("changed by the user\n")
    assert web.read_text() == "same\n"


def test_a_leftover_old_entry_of_any_kind_is_cleared_and_every_folder_written(tmp_path: Path) -> None:
    (tmp_path / ".staging.old").write_text("left by someone\n")  # a file where a folder was
    (tmp_path / ".production.old").mkdir()
    (tmp_path / ".production.old/web.yaml").write_text("old\n")

    write_tree(tmp_path, {"production/web.yaml": "a\n", "staging/web.yaml": "b\n"})

    assert sorted(p.name for p in tmp_path.iterdir()) == ["production", "staging"]
    assert (tmp_path / "staging/web.yaml").read_text() == "b\n"


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_that_cannot_be_written_leaves_every_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"production/web.yaml": "v1\n", "staging/web.yaml": "v1\n"})
    before = _tree(tmp_path)
    real = Path.mkdir

    def full_disk(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.name == "deep":  # staging's second folder: production was written in full already
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_tree(tmp_path, {"production/web.yaml": "v2\n", "staging/deep/web.yaml": "v2\n"})

    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["production", "staging"]


def test_a_swap_that_fails_puts_back_the_folders_swapped_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"production/web.yaml": "v1\n", "staging/web.yaml": "v1\n"})
    before = _tree(tmp_path)
    real = Path.rename

    def refuse_staging(self: Path, target: Any) -> Path:
        if Path(target) == tmp_path / "staging" and self.name != ".staging.old":  # the new one only
            raise OSError(errno.EIO, "Input/output error")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", refuse_staging)
    with pytest.raises(OSError, match="Input/output"):
        write_tree(tmp_path, {"production/web.yaml": "v2\n", "staging/web.yaml": "v2\n"})

    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["production", "staging"]


def test_an_edited_file_behind_a_symlink_is_written_at_its_target_and_the_link_kept(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "unhazzle.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "unhazzle.yaml"
    link.symlink_to("real/unhazzle.yaml")

    edit_file_atomic(link, "new\n")

    assert link.is_symlink() and link.readlink() == Path("real/unhazzle.yaml")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["unhazzle.yaml"]
