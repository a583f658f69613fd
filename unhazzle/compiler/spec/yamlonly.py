"""Values YAML can build that a spec has no use for: binary data (`!!binary`) and sets (`!!set`).

The loader keeps them as what they are, so that validation refuses them in the user's words
("not binary data"), instead of Python's spelling of them reaching an app as its setting."""

from __future__ import annotations

from collections.abc import Set
from typing import Any


class YamlOnly:
    """A value of a kind only YAML has; its text is how errors name it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __str__(self) -> str:
        return self.kind

    def __repr__(self) -> str:
        return f"YamlOnly({self.kind!r})"


def yaml_only(value: Any) -> YamlOnly | None:
    """What *value* is, when YAML built it of a kind a spec never holds; else None."""
    if isinstance(value, bytes | bytearray):
        return YamlOnly("binary data (!!binary)")
    if isinstance(value, Set):
        return YamlOnly("a set (!!set)")
    return None
