"""Where each value of a loaded YAML file stands, so errors can point at line and column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]
# Where the YAML parsers (libyaml and ruamel alike) end a line, and so where a position's line
# number counts one: a lone CR, NEL, LS and PS as well as LF
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass
class Positions:
    """1-based (line, column) of every key and value, by its path from the document root."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: Path) -> tuple[int, int]:
        """The value at *path*, or the nearest enclosing value that has a position."""
        return self._nearest(self.values, path)

    def first_of(self, paths: Sequence[Path], *, key: bool) -> tuple[int, int]:
        """The first of *paths* that the file spells out (an override before its base)."""
        table = self.keys if key else self.values
        for path in paths:
            if path in table or path in self.values:
                return self.of_key(path) if key else self.of_value(path)
        return self.of_key(paths[-1]) if key else self.of_value(paths[-1])

    def of_key(self, path: Path) -> tuple[int, int]:
        """The key that names *path* (for unknown or misspelled keys), else its value."""
        if path in self.keys:
            return self.keys[path]
        return self.of_value(path)

    def _nearest(self, table: dict[Path, tuple[int, int]], path: Path) -> tuple[int, int]:
        for end in range(len(path), -1, -1):
            if path[:end] in table:
                return table[path[:end]]
        return (1, 1)
