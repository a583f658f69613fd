"""`python -m bench` (`make bench`): every benchmark module in this folder, one after another."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if not module.startswith("_"):
            print(f"== bench.{module}")
            importlib.import_module(f"bench.{module}").main()


if __name__ == "__main__":
    main()
