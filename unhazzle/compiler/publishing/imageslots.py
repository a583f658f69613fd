"""Where a spec writes its images, for publishing a new image without compiling again
(publishing/replay.py).

A *slot* is one image value the spec spells out as a plain or quoted scalar of simple
characters: an app's or a job's image, or an environment's override of one. The spec's text
is kept as the text between the slots; a new text fits a record when it is that same text with
only new images in the slots, each of the same shape as before: the same repository, and a tag
and a digest where there were. Such an image passes the model's image pattern as the old one did
(only the tag and digest changed, within the pattern's own grammar for them), and YAML reads it
as the same kind of scalar.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Every placeholder (a tag, a digest, a field of the source) begins with this, so that one scan
# for it finds them all. It never comes from a real compile: a record is made only when the
# real files do not hold it.
MARK = "0000c0de"
MAX_SLOTS = 0x10000  # four hex digits in a digest placeholder (five decimal ones in a tag's)
MAX_IMAGE = 512  # the model's max_length for an image
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the model's IMAGE_RE, for a tag
DIGEST = re.compile(r"[a-f0-9]{64}")
_SCALAR_CHARS = frozenset(string.ascii_letters + string.digits + "._/:@-")  # all an image may hold
SCALAR = re.compile("[" + re.escape("".join(sorted(_SCALAR_CHARS))) + "]*")
# Line breaks YAML counts besides "\n" (and "\r\n"): the parser's line numbers would not be ours.
_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_QUOTES = ("'", '"')
_SLOT_PATHS = (("apps", "image"), ("jobs", "image"))  # (section, key) under the root or an environment


@dataclass(frozen=True)
class Slot:
    """The shape of one image: what stays and which parts may change."""

    repository: str  # everything before the tag and the digest, as written
    tagged: bool
    pinned: bool


def split(image: str) -> tuple[str, str | None, str | None]:
    """Repository, tag and digest (hex) of *image*; a port (`host:5000/web`) is not a tag."""
    rest, at, digest = image.partition("@sha256:")
    head, slash, last = rest.rpartition("/")
    name, colon, tag = last.partition(":")
    return head + slash + name, tag if colon else None, digest if at else None


def slot_of(image: str) -> Slot:
    repository, tag, digest = split(image)
    return Slot(repository=repository, tagged=tag is not None, pinned=digest is not None)


def placeholder(index: int, slot: Slot) -> str:
    """The image compiled in place of slot *index*'s: its repository, with a tag and a digest
    that say which slot they stand for."""
    tag = f":{tag_token(index)}" if slot.tagged else ""
    digest = f"@sha256:{digest_token(index)}" if slot.pinned else ""
    return f"{slot.repository}{tag}{digest}"


def tag_token(index: int) -> str:
    """The placeholder's tag. Its version label drops the '_' at the end (image_version strips
    it), so the compiled files tell the tag from the label it gives."""
    return f"{MARK}t{index:05d}x_"


def digest_token(index: int) -> str:
    """The placeholder's digest: its first 12 digits are its version label."""
    return f"{MARK}{index:04x}".ljust(64, "0")


def fits(slot: Slot, image: str) -> bool:
    """Whether *image* has *slot*'s shape, so that compiling it would differ from compiling the
    placeholder only where the placeholder's tag and digest stand."""
    if len(image) > MAX_IMAGE or MARK in image:
        return False
    repository, tag, digest = split(image)
    if (
        repository != slot.repository
        or (tag is not None) != slot.tagged
        or (digest is not None) != slot.pinned
    ):
        return False
    if tag is not None and not TAG.fullmatch(tag):
        return False
    if digest is not None and not DIGEST.fullmatch(digest):
        return False
    # as a plain scalar, read as text: a '/' or '@', or a leading letter, rule out numbers,
    # dates, booleans and null
    return "/" in image or "@" in image or image[:1].isalpha()


def slot_paths(data: Any) -> list[tuple[str, ...]]:
    """The paths of the spec's image values: apps.NAME.image, jobs.NAME.image and their
    overrides under environments.ENV."""
    if not isinstance(data, Mapping):
        return []
    found = _images_under(data, ())
    environments = data.get("environments")
    if isinstance(environments, Mapping):
        for name, env in environments.items():
            if isinstance(env, Mapping):
                found += _images_under(env, ("environments", name))
    return found


def _images_under(node: Mapping[Any, Any], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = []
    for section, key in _SLOT_PATHS:
        entries = node.get(section)
        if isinstance(entries, Mapping):
            found += [
                (*prefix, section, name, key)
                for name, entry in entries.items()
                if isinstance(entry, Mapping) and isinstance(entry.get(key), str)
            ]
    return found


def spans(text: str, values: Sequence[tuple[str, tuple[int, int]]]) -> list[tuple[int, int]] | None:
    """Where each (value, 1-based line and column) stands in *text*, start and end; None unless
    every one is written out plainly, in simple characters, exactly where the parser found it."""
    if _OTHER_BREAKS.search(text):
        return None
    starts = [0]
    for row in text.split("\n"):
        starts.append(starts[-1] + len(row) + 1)
    found = []
    for value, (line, column) in values:
        if not 0 < line < len(starts) or SCALAR.fullmatch(value) is None or not value:
            return None
        at = starts[line - 1] + column - 1
        quote = text[at : at + 1]
        start = at + 1 if quote in _QUOTES else at
        end = start + len(value)
        after = text[end : end + 1]
        closed = after == quote if quote in _QUOTES else after not in _SCALAR_CHARS  # "" at the end
        if text[start:end] != value or not closed:
            return None
        found.append((start, end))
    ordered = sorted(found)
    if any(a[1] > b[0] for a, b in itertools.pairwise(ordered)):
        return None  # one scalar at two paths (an alias)
    return found


def images_in(text: str, segments: Sequence[str]) -> list[str] | None:
    """The images of *text*, if it is *segments* with one image between each two; else None."""
    if not text.startswith(segments[0]):
        return None
    at, images = len(segments[0]), []
    for segment in segments[1:]:
        match = SCALAR.match(text, at)
        assert match is not None  # SCALAR matches the empty string
        images.append(match.group())
        if not text.startswith(segment, match.end()):
            return None
        at = match.end() + len(segment)
    return images if at == len(text) else None
