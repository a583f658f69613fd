"""The shared cluster's settings (compiler/rules/data/cluster.yaml), loaded and checked once."""

from __future__ import annotations

import datetime as dt
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from unhazzle.compiler.rules.datafiles import read_data


class ClusterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ingress_class: str
    ingress_namespace: str
    cluster_issuer: str
    base_domain: str
    run_as_user: int = Field(ge=1)
    node_type: str = "cx33"
    load_balancer_type: str = "lb11"
    public_apps_per_load_balancer: int = Field(10, ge=1)
    price_date: dt.date | None = None
    cost_split: CostSplit = Field(default_factory=lambda: CostSplit())
    node_reserved: NodeReserved = Field(default_factory=lambda: NodeReserved())


class CostSplit(BaseModel):
    """OpenCost's base prices, used only for their ratio when splitting a node's price."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cpu_vcpu_hour: float = Field(0.031611, gt=0)
    ram_gb_hour: float = Field(0.004237, gt=0)


class NodeReserved(BaseModel):
    """What the cluster itself keeps of every server, which no instance can have."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cpu: float = Field(0.1, ge=0)
    memory_mb: int = Field(256, ge=0)


@cache
def cluster_settings() -> ClusterSettings:
    return ClusterSettings.model_validate(read_data("cluster.yaml"))
