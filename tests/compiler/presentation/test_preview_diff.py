"""The preview's per-file diffs: unified diffs as `diff -u` writes them, which patch the base's
file into the pull request's, whatever the two files hold."""

from __future__ import annotations

import difflib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from unhazzle.compiler.presentation.preview import unified

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def patched(a: list[str], diff: str) -> list[str]:
    """*a* with the hunks of *diff* applied, each checked against what it says it removes."""
    lines = diff.splitlines(keepends=True)
    assert lines[0].startswith("--- a/") and lines[1].startswith("+++ b/")
    out: list[str] = []
    at, i = 0, 2
    while i < len(lines):
        m = HUNK.match(lines[i].rstrip("\n"))
        assert m, lines[i]
        start, length = int(m[1]), int(m[2] if m[2] is not None else 1)
        start = start - 1 if length else start  # a hunk that removes nothing names the line before
        out += a[at:start]
        at, i = start, i + 1
        while i < len(lines) and not lines[i].startswith("@@"):
            sign, text = lines[i][0], lines[i][1:]
            if sign in " -":
                assert a[at] == text, (at, a[at], text)
                at += 1
            if sign in " +":
                out.append(text)
            i += 1
    return out + a[at:]


lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "  image: x\n", "---\n", "\n"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(lines, lines)
def test_a_diff_patches_the_base_into_the_head(a, b):
    diff = unified("web.yaml", "".join(a), "".join(b))
    if a == b:
        assert diff == ""
    else:
        assert patched(a, diff) == b


def test_a_one_line_change_in_a_long_file_reads_as_diff_u_does():
    a = [f"  line{i}: {i}\n" for i in range(300)]
    b = [*a[:150], '  image: "shop-web:1.5"\n', *a[151:]]
    diff = unified("web.yaml", "".join(a), "".join(b))
    assert diff == "".join(difflib.unified_diff(a, b, "a/web.yaml", "b/web.yaml", n=3))
    assert diff.splitlines()[2] == "@@ -148,7 +148,7 @@"


def test_changes_at_both_ends_and_in_the_middle_keep_their_line_numbers():
    a = [f"{i}\n" for i in range(100)]
    b = ["first\n", *a[1:50], "middle\n", *a[51:99], "last\n"]
    diff = unified("web.yaml", "".join(a), "".join(b))
    assert diff == "".join(difflib.unified_diff(a, b, "a/web.yaml", "b/web.yaml", n=3))
    assert patched(a, diff) == b
