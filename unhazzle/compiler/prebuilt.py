"""Templates and data files compiled ahead and shipped in the package (unhazzle/prebuilt/, made by
`make prebuilt`, scripts/prebuild.py), so that a machine with an empty cache (a new CI runner)
neither compiles the templates (about 20 ms for the example) nor parses the YAML data files (about
10 ms) before its first render. They are Python source, byte-compiled like the package's modules
(by pip at install, or on first use), so they fit every Python the package runs on; what is taken
from them is kept in the user's cache as if compiled or parsed here.

Each file's name ends with a digest of everything it was made from (the source's bytes, and for a
template jinja2's version, its settings and rendering/render.py): an edited source or another jinja2
finds no file, and the source is compiled or parsed as before. A file that cannot be read is
passed over the same way.
"""

from __future__ import annotations

import hashlib
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import CodeType

FOLDER = Path(__file__).resolve().parent.parent / "prebuilt"


def template_file(name: str, source: str, maker: str) -> str:
    """Where template *name*'s code lives, made from *source* by the compiler *maker* names."""
    return f"templates/{name}.{_digest(maker, name, source)}.py"


def data_file(relative: str, raw: bytes) -> str:
    """Where data file *relative* (under compiler/rules/data/) lives, parsed from *raw*."""
    return f"data/{relative}.{_digest('ruamel.yaml safe', relative, raw)}.py"


def code(relative: str, *, last: str) -> CodeType | None:
    """The code of prebuilt file *relative*, from the byte-code Python keeps beside it while that
    is current; None when the package has no such file, it cannot be read, or it is not whole (it
    never assigns *last*, the name its last line of code sets: a file cut short may still be
    Python)."""
    path = FOLDER / relative
    loader = SourceFileLoader(path.name, str(path))
    try:
        code = loader.get_code(loader.name)
    except Exception:  # absent, unreadable, damaged (the file, or the byte-code Python kept of it)
        return None
    return code if code is not None and last in code.co_names else None


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()[:16]
