"""Digest pinning: every image tag resolved to the digest it points at now, so rendered manifests
(and the environment repo) record exactly what runs, `repo:tag@sha256:...`, while people still
read the tag.

`pin_plan` is pure (the resolver is passed in); `pin_digests` is the edge that asks the registry,
for `render --pin-digests`, `plan --pin-digests` and publish.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from unhazzle.compiler.images.reference import ImageRef, parse_reference
from unhazzle.compiler.planning.plan import AppPlan, JobPlan, Plan, without_image_warnings

if TYPE_CHECKING:  # httpx is imported only when a registry is asked
    from unhazzle.compiler.images.registry import RegistryOptions

Resolver = Callable[[ImageRef], str]  # a reference -> the sha256 digest it points at
Pinned = TypeVar("Pinned", AppPlan, JobPlan)


def pin_plan(plan: Plan, resolve: Resolver) -> Plan:
    """*plan* with each tag-only image replaced by `image@digest`; each image is resolved once,
    and images already pinned by digest are left as written."""
    pinned: dict[str, str] = {}

    def pinned_image(image: str) -> str:
        ref = parse_reference(image)
        if ref.digest:
            return image
        if image not in pinned:
            pinned[image] = f"{image}@{resolve(ref)}"
        return pinned[image]

    def pin(entry: Pinned) -> Pinned:
        """An app's or a job's plan with its image pinned (its spec is `.app` or `.job`)."""
        field = "app" if isinstance(entry, AppPlan) else "job"
        spec = getattr(entry, field)
        image = pinned_image(spec.image)
        if image == spec.image:
            return entry
        warnings = without_image_warnings(entry.warnings, spec.image)  # it names one version now
        pinned_spec = spec.model_copy(update={"image": image})
        return dataclasses.replace(entry, warnings=warnings, **{field: pinned_spec})

    envs = [
        dataclasses.replace(env, apps=[pin(app) for app in env.apps], jobs=[pin(job) for job in env.jobs])
        for env in plan.environments
    ]
    return dataclasses.replace(plan, environments=envs)


def pin_digests(plan: Plan, options: RegistryOptions | None = None) -> Plan:
    """Resolve every tag in *plan* through its registry (logins from Docker's config file);
    registry failures raise RegistryError (exit 1)."""
    from unhazzle.compiler.images.registry import Registry

    with Registry(options) as registry:
        return pin_plan(plan, registry.digest)


def split_pinned(image: str) -> tuple[str, str | None]:
    """`repo:tag@sha256:...` -> (`repo:tag`, `sha256:...`), for showing both."""
    name, sep, digest = image.partition("@")
    return (name, digest) if sep else (image, None)
