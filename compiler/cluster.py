"""The shared cluster's settings (compiler/data/cluster.yaml), loaded and checked once."""

from __future__ import annotations

from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML


class ClusterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ingress_class: str
    ingress_namespace: str
    cluster_issuer: str
    base_domain: str
    run_as_user: int = Field(ge=1)


@cache
def cluster_settings() -> ClusterSettings:
    text = resources.files("unhazzle.compiler").joinpath("data/cluster.yaml").read_text("utf-8")
    return ClusterSettings.model_validate(YAML(typ="safe").load(text))
