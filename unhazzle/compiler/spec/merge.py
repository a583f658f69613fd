"""Per-environment app overrides merged over the base app: mappings merge, lists replace."""

from __future__ import annotations

from typing import Any


def deep_merge(base: Any, override: Any) -> Any:
    """*override* laid over *base*; neither is modified."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


def badge_for(name: str) -> str:
    """The badge an environment gets from its name when the spec gives none."""
    for words, badge in (
        (("prod", "live"), "production"),
        (("stag", "qa", "uat", "test"), "staging"),
        (("preview", "review", "pr-"), "preview"),
    ):
        if any(word in name for word in words):
            return badge
    return "development"
