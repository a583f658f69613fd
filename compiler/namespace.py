"""Where an environment lives in the shared cluster: one namespace per project environment."""

from __future__ import annotations

MAX_NAMESPACE = 63  # a namespace name is a DNS label


def namespace_for(project: str, environment: str) -> str:
    return f"{project}-{environment}"
