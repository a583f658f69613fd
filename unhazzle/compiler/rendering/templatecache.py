"""Compiled templates kept between runs: compiling the templates cost a third of rendering the
example (issue 2). A cache that cannot be read or written only costs the compile again."""

from __future__ import annotations

import contextlib
import hashlib

import jinja2
from jinja2.bccache import Bucket, FileSystemBytecodeCache

from unhazzle.compiler.cachedir import user_cache_dir


class _QuietCache(FileSystemBytecodeCache):
    """jinja2's file cache (entries keyed by template name and source checksum, written
    atomically), minus its loud failures: an unwritable folder, an unreadable entry."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry (jinja2 lets a bad checksum header through): recompile
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def template_cache(env: jinja2.Environment) -> FileSystemBytecodeCache | None:
    """A cache for *env*'s compiled templates, or None when no cache folder can be made. The
    folder is named after every setting the compiled code depends on, so an environment with
    other settings, or another jinja2, never reads these entries."""
    folder = user_cache_dir() / "templates" / _fingerprint(env)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _QuietCache(str(folder))


def _fingerprint(env: jinja2.Environment) -> str:
    settings = (
        jinja2.__version__,
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
        env.optimized,
        sorted(env.extensions),
    )
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
