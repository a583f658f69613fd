"""What the plan costs in euros a month, net of VAT, at minimum and at maximum scale.

Pure: a plan and a price table in, costs out. The model (README, "Cost in euros"):
- a node's monthly price is split between its vCPUs and its GB of memory in the ratio of
  OpenCost's default base prices, as OpenCost does when a provider quotes only a node's total;
- one instance costs its CPU and memory *requests* at those rates, to the cent;
- a volume costs its requested size, raised to Hetzner's 10 GB minimum (that is what gets billed);
- a public app pays its share of the load balancer and its IPv4 address;
- a month is 730 hours (Hetzner's monthly prices already are);
- a scheduled job's run costs its CPU and memory for its whole timeout (an upper bound: a run
  that ends sooner costs less), and a month of it, that times its runs in an average month;
  the same bound counts at minimum and at maximum scale.
Sums are exact in cents (Decimal), so an app's cost at N+1 instances is its cost at N plus one
instance, to the cent.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from unhazzle.compiler.planning.plan import AppPlan, JobPlan, Plan
from unhazzle.compiler.planning.sizing import RunSize
from unhazzle.compiler.rules.cluster import ClusterSettings, cluster_settings
from unhazzle.compiler.rules.prices import PriceTable, table_for

HOURS_PER_MONTH = 730
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value: float) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True)
class Rates:
    """The unit prices one cost run uses, and where they came from."""

    table: dt.date
    node_type: str
    node_vcpu: int
    node_memory_gb: float
    node_reserved_vcpu: float  # what the cluster keeps of each server for itself
    node_reserved_mb: int
    node_eur_month: Decimal
    vcpu_eur_month: Decimal
    gb_eur_month: Decimal
    volume_gb_eur_month: Decimal
    volume_min_gb: int
    public_eur_month: Decimal
    estimates: tuple[str, ...]


def rates_for(table: PriceTable, settings: ClusterSettings) -> Rates:
    """Unit prices from the cluster's node type, split the OpenCost way."""
    node = table.server_types[settings.node_type]
    split = settings.cost_split
    weight = node.vcpu * _dec(split.cpu_vcpu_hour) + _dec(node.memory_gb) * _dec(split.ram_gb_hour)
    scale = _dec(node.eur_month) / weight
    lb = table.load_balancers[settings.load_balancer_type]
    shared = (
        _dec(lb.eur_month) + _dec(table.primary_ipv4.eur_month)
    ) / settings.public_apps_per_load_balancer
    used = {
        f"server_types.{settings.node_type}": node,
        "volume_gb_month": table.volume_gb_month,
        f"load_balancers.{settings.load_balancer_type}": lb,
        "primary_ipv4": table.primary_ipv4,
    }
    return Rates(
        table=table.effective,
        node_type=settings.node_type,
        node_vcpu=node.vcpu,
        node_memory_gb=node.memory_gb,
        node_reserved_vcpu=settings.node_reserved.cpu,
        node_reserved_mb=settings.node_reserved.memory_mb,
        node_eur_month=_dec(node.eur_month),
        vcpu_eur_month=scale * _dec(split.cpu_vcpu_hour),
        gb_eur_month=scale * _dec(split.ram_gb_hour),
        volume_gb_eur_month=_dec(table.volume_gb_month.eur_month),
        volume_min_gb=table.volume_min_gb,
        public_eur_month=cents(shared),
        estimates=tuple(name for name, price in used.items() if price.estimate),
    )


def current_rates(day: dt.date | None = None) -> Rates:
    """Unit prices from the price table in effect on *day* (the cluster's pinned date, or today);
    the tables are data read once, like the sizing rules."""
    settings = cluster_settings()
    return rates_for(table_for(day or settings.price_date or dt.date.today()), settings)


@dataclass(frozen=True)
class AppCost:
    instance: Decimal  # one instance for a month
    volume: Decimal
    public: Decimal
    min_instances: int
    max_instances: int

    @property
    def min(self) -> Decimal:
        return self.instance * self.min_instances + self.volume + self.public

    @property
    def max(self) -> Decimal:
        return self.instance * self.max_instances + self.volume + self.public


@dataclass(frozen=True)
class JobCost:
    run: Decimal  # one run for its whole timeout: at most this (not rounded: often below a cent)
    month: Decimal  # that, times the runs of an average month


@dataclass(frozen=True)
class EnvCost:
    apps: dict[str, AppCost]
    jobs: dict[str, JobCost] = field(default_factory=dict)

    @property
    def jobs_month(self) -> Decimal:
        return sum((j.month for j in self.jobs.values()), Decimal(0))

    @property
    def min(self) -> Decimal:
        return sum((a.min for a in self.apps.values()), Decimal(0)) + self.jobs_month

    @property
    def max(self) -> Decimal:
        return sum((a.max for a in self.apps.values()), Decimal(0)) + self.jobs_month


@dataclass(frozen=True)
class PlanCost:
    rates: Rates
    environments: dict[str, EnvCost]

    def total(self, envs: list[str] | None = None) -> tuple[Decimal, Decimal]:
        """(min, max) over *envs* (default: every environment)."""
        chosen = [self.environments[e] for e in (envs if envs is not None else self.environments)]
        return sum((e.min for e in chosen), Decimal(0)), sum((e.max for e in chosen), Decimal(0))


def app_cost(app: AppPlan, rates: Rates) -> AppCost:
    s = app.sizing
    memory_gb = Decimal(s.memory_request_mb) / 1024
    instance = cents(_dec(s.cpu_request) * rates.vcpu_eur_month + memory_gb * rates.gb_eur_month)
    volume = Decimal(0)
    if app.app.volume:
        gb = max(math.ceil(app.app.volume.size / 1024), rates.volume_min_gb)
        volume = cents(gb * rates.volume_gb_eur_month)
    return AppCost(
        instance=instance,
        volume=volume,
        public=rates.public_eur_month if app.app.public else Decimal(0),
        min_instances=s.min_instances,
        max_instances=s.max_instances,
    )


def run_cost(size: RunSize, seconds: int, rates: Rates) -> Decimal:
    """What something that runs to completion costs for `seconds` (a fraction of a cent, often)."""
    memory_gb = Decimal(size.memory_mb) / 1024
    month = _dec(size.cpu_request) * rates.vcpu_eur_month + memory_gb * rates.gb_eur_month
    return month * Decimal(seconds) / (HOURS_PER_MONTH * 3600)


def job_cost(job: JobPlan, rates: Rates) -> JobCost:
    run = run_cost(job.size, job.job.timeout, rates)
    month = run * _dec(job.runs_a_month)
    if not job.job.overlap:  # one run at a time: never more than one instance all month
        month = min(month, run_cost(job.size, int(HOURS_PER_MONTH * 3600), rates))
    return JobCost(run=run, month=cents(month))


def price_plan(plan: Plan, rates: Rates) -> PlanCost:
    """The cost of every app and job of every environment."""
    envs = {
        env.name: EnvCost(
            {app.name: app_cost(app, rates) for app in env.apps},
            {job.name: job_cost(job, rates) for job in env.jobs},
        )
        for env in plan.environments
    }
    return PlanCost(rates=rates, environments=envs)


def cost_json(low: Decimal, high: Decimal) -> dict[str, float]:
    return {"min": float(cents(low)), "max": float(cents(high))}


def small_eur(value: Decimal) -> str:
    """A cost that may be below a cent: 0.0040 EUR, else to the cent."""
    return f"{value:.4f}" if Decimal(0) < value < Decimal("0.01") else f"{cents(value)}"
