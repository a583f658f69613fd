"""Files the user names are read up to a ceiling, and no further."""

from __future__ import annotations

import os
import threading

import pytest

from unhazzle.shared.readlimit import TooLarge, read_at_most, read_bytes, read_text


def test_a_file_at_its_ceiling_is_read_whole_and_one_byte_over_is_refused(tmp_path):
    at, over = tmp_path / "at", tmp_path / "over"
    at.write_bytes(b"k" * 1024)
    over.write_bytes(b"k" * 1025)
    assert read_bytes(at, 1024) == b"k" * 1024
    with pytest.raises(TooLarge) as refused:
        read_bytes(over, 1024)
    assert refused.value.strerror == "larger than 1 KB, more than such a file ever holds"
    assert refused.value.filename == str(over)
    assert len(read_at_most("/dev/zero", 1024)) == 1025  # a device that never ends: one byte past


def test_a_pipe_is_read_to_its_end(tmp_path):
    """Process substitution (`unhazzle validate <(...)`) hands over a pipe, of no size."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=("project: shop\n",))
    writer.start()
    assert read_text(fifo, 1024) == "project: shop\n"
    writer.join()


def test_a_folder_or_bytes_that_are_not_text_fail_as_reads_do(tmp_path):
    with pytest.raises(IsADirectoryError):
        read_bytes(tmp_path, 1024)
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(UnicodeDecodeError):
        read_text(tmp_path / "binary", 1024)
