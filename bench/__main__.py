"""Run every benchmark (`make bench`)."""

from __future__ import annotations

import sys

from bench import render


def main() -> int:
    return render.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
