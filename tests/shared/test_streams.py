"""Whether an output can carry what users wrote: asked once, for printing and for JSON alike."""

from __future__ import annotations

import io

import pytest

from unhazzle.shared.streams import carries_utf8


@pytest.mark.parametrize("encoding", ["utf-8", "UTF-8", "utf8", "utf_8", "UTF_8", "u8", "utf-8-sig"])
def test_every_spelling_of_utf8_carries_it(encoding: str) -> None:
    assert carries_utf8(io.TextIOWrapper(io.BytesIO(), encoding=encoding))


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252", "utf-16"])
def test_other_encodings_do_not(encoding: str) -> None:
    assert not carries_utf8(io.TextIOWrapper(io.BytesIO(), encoding=encoding))


def test_a_stream_without_an_encoding_is_not_taken_for_utf8() -> None:
    assert not carries_utf8(io.StringIO())
