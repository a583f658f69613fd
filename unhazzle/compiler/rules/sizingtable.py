"""The sizing rules table (compiler/rules/data/sizing.yaml), loaded and checked once."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from unhazzle.compiler.rules.datafiles import read_data


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    why: str


class WorkloadRow(_Row):
    cpu: float = Field(gt=0)
    cpu_limit_factor: float = Field(ge=1)
    memory_mb: int = Field(gt=0)


class TrafficRow(_Row):
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class PatternRow(_Row):
    max_factor: float = Field(ge=1)
    scale_up_cooldown_s: int = Field(ge=0, le=3600)
    scale_down_cooldown_s: int = Field(ge=0, le=3600)
    scale_down_percent: int = Field(gt=0, le=100)


class LatencyRow(_Row):
    target_cpu_percent: int = Field(gt=0, le=100)
    min_instances_serving: int = Field(ge=1)
    readiness_period_s: int = Field(ge=1)


class StartupRow(_Row):
    budget_s: int = Field(gt=0)
    period_s: int = Field(gt=0)
    scale_up_pods: int = Field(ge=1)
    scale_up_percent: int = Field(ge=0)
    scale_up_period_s: int = Field(gt=0, le=1800)
    spare_when_spiky: int = Field(ge=0)


class Checks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    readiness_failures: int = Field(ge=1)
    readiness_timeout_s: int = Field(ge=1)
    liveness_period_s: int = Field(ge=1)
    liveness_failures: int = Field(ge=1)
    liveness_timeout_s: int = Field(ge=1)


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    traffic: str
    latency: str
    workload_with_port: str
    workload_without_port: str
    startup: str
    pattern: str


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    defaults: Defaults
    workload: dict[str, WorkloadRow]
    traffic: dict[str, TrafficRow]
    pattern: dict[str, PatternRow]
    latency: dict[str, LatencyRow]
    startup: dict[str, StartupRow]
    checks: Checks


@cache
def sizing_rules() -> Rules:
    """The packaged rules; a broken table is a bug caught by its own test, not user input."""
    return Rules.model_validate(read_data("sizing.yaml"))
