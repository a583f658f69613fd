"""Compiled templates: what earlier runs kept in the user's cache, else the package's prebuilt
code (compiler/prebuilt.py), else jinja2 compiles them. Compiling the templates cost a third of
rendering the example (issue 2). A cache that cannot be read or written only costs the compile
again."""

from __future__ import annotations

import contextlib
import hashlib
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache, FileSystemBytecodeCache

from unhazzle.compiler import prebuilt
from unhazzle.compiler.cachedir import user_cache_dir


class _CompiledTemplates(BytecodeCache):
    """Where jinja2 looks for a template's code before compiling it: jinja2's file cache in the
    user's folder (entries keyed by template name and source checksum, written atomically), minus
    its loud failures; then the prebuilt code made from this very source by this `maker`."""

    def __init__(self, maker: str | None, files: FileSystemBytecodeCache | None) -> None:
        self.maker = maker
        self.files = files

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        bucket = super().get_bucket(environment, name, filename, source)
        if bucket.code is None and self.maker is not None:
            code = prebuilt.code(prebuilt.template_file(name, source, self.maker), last="debug_info")
            if code is not None:
                # jinja2 names a template's file in tracebacks after its top-level code, which
                # the code it compiles has from the template (nested code keeps the .py's name).
                bucket.code = code.replace(co_filename=filename or name)
                # Kept as any compiled template: where Python keeps no byte-code beside the
                # prebuilt file (PYTHONDONTWRITEBYTECODE, pip --no-compile, a read-only install)
                # each run would otherwise compile it from its Python source again.
                self.set_bucket(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        if self.files is None:
            return
        try:
            self.files.load_bytecode(bucket)
        except Exception:  # a damaged entry (jinja2 lets a bad checksum header through): recompile
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if self.files is not None:
            with contextlib.suppress(OSError):
                self.files.dump_bytecode(bucket)


def template_cache(env: jinja2.Environment) -> BytecodeCache:
    """The compiled-code lookup for *env*'s templates. The user's folder is named after `maker`,
    so an environment with other settings, other filters or another jinja2 never reads these
    entries; without a folder only the prebuilt code is used."""
    made_by = maker(env)
    files: FileSystemBytecodeCache | None = None
    if made_by is not None:  # else what the code depends on is unknown: keep nothing
        folder = user_cache_dir() / "templates" / hashlib.sha256(made_by.encode()).hexdigest()[:16]
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            files = FileSystemBytecodeCache(str(folder))
    return _CompiledTemplates(made_by, files)


def maker(env: jinja2.Environment) -> str | None:
    """Everything the code jinja2 makes of a template depends on besides its source: jinja2's
    version, *env*'s settings, and rendering/render.py, where the finalizer and the filters it
    calls are (jinja2 applies them to constant output while compiling). None when render.py can
    be read neither as source nor as byte-code."""
    filters = _filters_digest()
    if filters is None:
        return None
    settings: tuple[Any, ...] = (
        jinja2.__version__,
        filters,
        type(env).__qualname__,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.autoescape,
        env.finalize is not None,
        env.is_async,
        env.optimized,
        sorted(env.extensions),
    )
    return repr(settings)


@cache
def _filters_digest() -> str | None:
    """A digest of rendering/render.py, where the finalizer and the filters are defined: its
    source; in an install without sources, its byte-code (which no prebuilt file is named after)."""
    package = resources.files("unhazzle.compiler.rendering")
    for name in ("render.py", "render.pyc"):
        with contextlib.suppress(OSError):
            return hashlib.sha256(package.joinpath(name).read_bytes()).hexdigest()
    return None
