"""Publishing a new image without compiling again.

Most publishes from CI change nothing but image tags. Compiling the spec for that means
importing and running the validator, the sizing rules and the templates: most of a publish's
own time. So each full publish keeps a *record* of its compile, and the next publish of the same
spec replays it when only images changed.

The record is the project's files compiled with a placeholder in each image slot
(publishing/imageslots.py) and in each field of the source (the index's `source`), plus the spec's
text between the slots. Replaying puts the new images, their version labels and the new source
into the placeholders' places: plain text replacement, no parser, no templates.

Why a replay equals a compile:
- The record is made only when replaying it with the images and source just compiled gives
  exactly the files that compile gave, byte for byte. Anything the compiler derives from an
  image in a way the replay does not make anew makes that check fail, and so does placeholder
  text in the real files (a replay that leaves a placeholder gives nothing), and there is no
  record.
- A new image must have its slot's shape (imageslots.fits): the same repository, a tag and a
  digest where there were. Only these flow into what the templates derive from an image
  (rendering/imagederived.py: the pull policy from the digest's presence, the version label, a
  release step's name), and the replay makes the label and the step's name with the
  renderer's own functions: a step's name from the text it is a digest of, kept in the record
  with placeholders (rendering/render.release_preimages).
- The record's key holds everything else a compile reads (publishing/replaykey.py): the
  compiler's code and libraries, Python, today's date (the price table), the secrets files next
  to the spec; it is taken before the compile reads them, and a record is kept only if it is
  the same after. The spec's text outside the slots must be the same to the character.
Anything that does not fit is compiled as before; a replay never reports an error of its own.
tests/compiler/publishing/test_replay.py checks a replay against a compile for random images.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import marshal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from unhazzle.compiler.publishing import imageslots, replaykey
from unhazzle.compiler.publishing.imageslots import Slot
from unhazzle.compiler.publishing.index import Source
from unhazzle.compiler.rendering.imagederived import RELEASE_DIGEST, image_version, release_digest
from unhazzle.compiler.write import write_file_atomic

if TYPE_CHECKING:
    from unhazzle.compiler.pipeline import Compiled

FORMAT = 3  # 3: the body in marshal's format (a 1,000-app record loads in 2 ms, not 13 as JSON)
KEEP = 32  # records kept, the newest (one per spec file)
SOURCE_TOKENS = Source(**{f.name: f"{imageslots.MARK}s-{f.name}-x" for f in fields(Source)})
_encode = json.encoder.encode_basestring  # as the index writes its strings (publishing/index.py)
# Every placeholder (imageslots.tag_token, digest_token, SOURCE_TOKENS) and what it stands for.
# The pattern begins with the mark, so the regex engine looks for that string alone.
_TOKENS = (
    r"{mark}(?:t(?P<tag>[0-9]{{5}})x(?P<in_image>_?)|(?P<digest>[0-9a-f]{{4}})(?P<whole>0{{52}})?"
    r"|s-(?P<field>[a-z0-9_]+)-x)"
)
# With release steps, their names' digests too (rendering/render.release_name): found by their
# shape and looked up, so the pattern does not grow with the number of steps.
_STEP = "-release-"
_STEPS = r"|{step}(?P<release>[0-9a-f]{{{length}}})(?![0-9a-f])"


@functools.cache
def _tokens(steps: bool) -> re.Pattern[str]:
    """Compiled when first needed, not by every publish that imports this module."""
    pattern = _TOKENS + (_STEPS if steps else "")
    return re.compile(pattern.format(mark=imageslots.MARK, step=_STEP, length=RELEASE_DIGEST))


@dataclass(frozen=True)
class Record:
    project: str
    segments: list[str]  # the spec's text around the slots
    slots: list[Slot]
    files: dict[str, str]  # every file of the project, compiled with the placeholders
    # a release step's name digest -> what it is a digest of (rendering/render.release_preimages)
    releases: dict[str, str]


class Replay(NamedTuple):
    project: str
    files: dict[str, bytes]
    source: Source


def replayed(spec: Path, spec_bytes: bytes, key: str, source: Callable[[], Source]) -> Replay | None:
    """The project and every file of it for the spec at *spec* (its bytes: *spec_bytes*; the
    rest of what a compile reads: *key*, from publishing/replaykey.py), replayed from the
    record of its last publish, with the source *source*() gives (asked for only then); None
    when a compile is needed."""
    try:
        record = _read(_record_path(spec), key)
    except (OSError, RuntimeError):  # a path the compile will report on
        return None
    if record is None:
        return None
    try:
        text = spec_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    images = imageslots.images_in(text, record.segments)
    if images is None or not all(imageslots.fits(s, i) for s, i in zip(record.slots, images, strict=True)):
        return None
    said = source()
    files = fill(record, images, said)
    return Replay(record.project, files, said) if files is not None else None


def fill(record: Record, images: list[str], source: Source) -> dict[str, bytes] | None:
    """*record*'s files with *images* and *source* in the placeholders' places, in one pass
    over each file that holds any: what is put in is never read again."""
    parts = [imageslots.split(image) for image in images]
    versions = [image_version(image) for image in images]
    said = {f.name: _encode(getattr(source, f.name))[1:-1] for f in fields(Source)}
    steps: dict[str, str] = {}  # a release step's name digest in the record -> the new one

    def swap(match: re.Match[str]) -> str:
        found = match.groupdict()
        if found.get("release") is not None:
            return _STEP + steps.get(found["release"], found["release"])
        if found["field"] is not None:
            return said[found["field"]]
        # the tag token with its '_': the tag in the image, without: its version label; the digest
        # token with its 52 zeros: the digest in the image, its first 12 digits: the label
        tag = found["tag"]
        n = int(tag) if tag is not None else int(found["digest"], 16)
        if not (found["in_image"] or found["whole"]):
            return versions[n]
        part = parts[n][1] if tag is not None else parts[n][2]
        if part is None:
            raise KeyError(n)  # a damaged record: a tag or digest where the slot has none
        return part

    tokens = _tokens(bool(record.releases))
    try:
        # a release step's name is a digest of text that holds the image: made anew from it
        steps.update(
            (old, release_digest(_tokens(False).sub(swap, text))) for old, text in record.releases.items()
        )
        out = {
            path: tokens.sub(swap, text) if imageslots.MARK in text or (steps and _STEP in text) else text
            for path, text in record.files.items()
        }
        if any(imageslots.MARK in text for text in out.values()):
            return None  # a damaged record: a placeholder left
        return {path: text.encode("utf-8") for path, text in out.items()}
    except (IndexError, KeyError, UnicodeError):  # a damaged record: a placeholder of no slot...
        return None


def remember(
    spec: Path,
    key: str,
    compiled: Compiled,
    files: Mapping[str, bytes],
    source: Source,
    make_files: Callable[[Compiled, Source], Mapping[str, bytes]],
) -> bool:
    """Keep a record of this publish's compile (*files*, made from *compiled* and *source*) for
    the next publish of *spec*; *key* is replaykey.key as it was before the compile read the
    spec, and *make_files* makes the files of a compile as publish does. False when the spec or
    the files do not allow one, or what the key covers changed meanwhile (then any old record
    is removed)."""
    with contextlib.suppress(OSError, RuntimeError):
        path = _record_path(spec)
        # a secrets file written meanwhile, say: checked first, as the record costs a compile
        record = _record(compiled, files, source, make_files) if replaykey.key(spec) == key else None
        if record is None:
            path.unlink(missing_ok=True)
            return False
        header = json.dumps({"format": FORMAT, "key": key}).encode()
        # marshal's format is the Python version's own: the key names that version
        write_file_atomic(path, header + b"\n" + marshal.dumps(_as_plain(record)), durable=False)
        _prune(path.parent)
        return True
    return False


def _prune(folder: Path) -> None:
    """The KEEP records used last, and no more: a workspace whose path changes with every run
    (a numbered CI folder) would fill the cache with one record per run."""
    records = sorted(folder.glob("*.record"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in records[KEEP:]:
        old.unlink(missing_ok=True)


def _record(
    compiled: Compiled,
    files: Mapping[str, bytes],
    source: Source,
    make_files: Callable[[Compiled, Source], Mapping[str, bytes]],
) -> Record | None:
    from unhazzle.compiler.pipeline import compile_document, with_secrets
    from unhazzle.compiler.rendering.render import release_preimages
    from unhazzle.compiler.spec.load import load_bytes
    from unhazzle.errors import InputError

    document = compiled.document
    paths = imageslots.slot_paths(document.data)
    values = [(_at(document.data, p), document.positions.values.get(p, (0, 0))) for p in paths]
    spans = imageslots.spans(document.text, values)
    if spans is None or not 0 < len(spans) <= imageslots.MAX_SLOTS:
        return None
    spans.sort()
    text = document.text
    images = [text[start:end] for start, end in spans]
    slots = [imageslots.slot_of(image) for image in images]
    bounds = [0, *(edge for span in spans for edge in span), len(text)]
    segments = [text[bounds[n] : bounds[n + 1]] for n in range(0, len(bounds), 2)]
    placeholders = [imageslots.placeholder(n, slot) for n, slot in enumerate(slots)]
    stand_in = "".join(s + p for s, p in zip(segments, [*placeholders, ""], strict=True))
    try:
        marked = with_secrets(
            compile_document(load_bytes(stand_in.encode(), name=document.positions.file)), compiled.stores
        )
        marked.require_secrets()
        made = {p: data.decode("utf-8") for p, data in make_files(marked, SOURCE_TOKENS).items()}
        releases = release_preimages(marked.plan)
    except (InputError, UnicodeDecodeError):
        return None
    record = Record(
        project=compiled.plan.project,
        segments=segments,
        slots=slots,
        files=made,
        releases=releases,
    )
    replay = fill(record, images, source)
    return record if replay == dict(files) else None


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _record_path(spec: Path) -> Path:
    where = str(spec.resolve()).encode("utf-8", "surrogateescape")
    return replaykey.folder() / f"{hashlib.sha256(where).hexdigest()[:16]}.record"


def _as_plain(record: Record) -> dict[str, Any]:
    return {
        "project": record.project,
        "segments": record.segments,
        "slots": [[s.repository, s.tagged, s.pinned] for s in record.slots],
        "files": record.files,
        "releases": record.releases,
    }


def _read(path: Path, key: str) -> Record | None:
    """The record at *path* if it was made under *key*; None when there is none or it is not
    one we wrote. The key is on the first line, so a record of another key is not parsed."""
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline())
            if header != {"format": FORMAT, "key": key}:
                return None
            data = marshal.loads(handle.read())
        slots = [Slot(repository=str(r), tagged=bool(t), pinned=bool(p)) for r, t, p in data["slots"]]
        record = Record(
            project=str(data["project"]),
            segments=[str(s) for s in data["segments"]],
            slots=slots,
            files={str(p): str(t) for p, t in data["files"].items()},
            releases={str(d): str(t) for d, t in data["releases"].items()},
        )
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(record.segments) != len(record.slots) + 1:
        return None
    return record
