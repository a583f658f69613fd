"""Where an environment lives in the shared cluster: one namespace per project environment."""

from __future__ import annotations

MAX_NAMESPACE = 63  # a namespace name is a DNS label


def namespace_for(project: str, environment: str) -> str:
    return f"{project}-{environment}"


# Namespaces a project environment must never land in: Kubernetes reserves kube-*, and the
# shared cluster's own parts run in these (the reconciler, the ingress controller, cert-manager).
PLATFORM_NAMESPACES = frozenset({"unhazzle-system", "ingress-nginx", "cert-manager"})


def reserved(namespace: str) -> bool:
    """Whether *namespace* belongs to Kubernetes or the platform, not to a project."""
    return namespace.startswith("kube-") or namespace in PLATFORM_NAMESPACES or namespace == "default"


# The identity the reconciler applies each environment as (reconciler/sync/rbac.py): the guard refuses
# a folder that names an object after it, so an app of that name is refused here first.
APPLIER_NAME = "unhazzle-applier"
RESERVED_APP_NAMES = frozenset({APPLIER_NAME})
