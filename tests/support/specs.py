"""Small specs the volume tests of the compiler and of the cluster share, and edits of them."""

from __future__ import annotations

import re

SMALL = """\
version: 1
project: shop
region: fsn1
environments:
  production: {}
  staging: {}
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
  cache:
    image: redis:7.2-alpine
    port: 6379
    volume: {size: 5GB, path: /data}
"""


def renamed(text: str, old: str, new: str) -> str:
    return text.replace(f"\n  {old}:\n", f"\n  {new}:\n").replace(f"apps.{old}.", f"apps.{new}.")


def without_app(text: str, app: str) -> str:
    return re.sub(rf"\n  {app}:\n(    .*\n|\n)*", "\n", text, count=1)


def without_volume(text: str) -> str:
    return text.replace("    volume: {size: 5GB, path: /data}\n", "")
