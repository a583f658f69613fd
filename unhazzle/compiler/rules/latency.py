"""Database latency guidance from a table of estimated round trips (compiler/rules/data/latency.yaml).

Pure lookups over data loaded once. The figures are estimates from distance, not measurements;
every message says so.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from unhazzle.compiler.rules.datafiles import read_data
from unhazzle.compiler.spec.model import Database


class RegionRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    city: str
    fsn1: int = Field(ge=0)
    nbg1: int = Field(ge=0)
    hel1: int = Field(ge=0)

    def from_location(self, location: str) -> int:
        return int(getattr(self, location))


class LatencyTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    method: str
    warn_above_ms: int = Field(gt=0)
    regions: dict[str, RegionRow] = Field(min_length=1)


@cache
def latency_table() -> LatencyTable:
    return LatencyTable.model_validate(read_data("latency.yaml"))


def _family(region: str) -> str:
    return region.split("-", 1)[0]


def lookup(region: str, table: LatencyTable) -> str | None:
    """The table's name for *region*; Supabase's bare AWS codes (eu-central-1) are AWS regions."""
    for name in (region, f"aws-{region}"):
        if name in table.regions:
            return name
    return None


def latency_warning(name: str, db: Database, location: str, table: LatencyTable | None = None) -> str | None:
    """A warning when database *name* is far (estimated) from *location*, or its region unknown."""
    table = table or latency_table()
    region = lookup(db.region, table)
    if region is None:
        return (
            f"database '{name}': region '{db.region}' is not in the latency table, so its round trip "
            f"from {location} is unknown; aim for under {table.warn_above_ms} ms"
        )
    if db.provider == "supabase" and _family(region) != "aws":
        return (
            f"database '{name}': Supabase runs in AWS regions (such as eu-central-1), and "
            f"'{db.region}' is not one; give the region its project runs in"
        )
    rtt = table.regions[region].from_location(location)
    if rtt <= table.warn_above_ms:
        return None

    def said(region_name: str) -> str:  # in the spec's own words: Supabase's codes stay bare
        return region_name.removeprefix("aws-") if region != db.region else region_name

    family = _family(region)
    options = [(row.from_location(location), n) for n, row in table.regions.items() if _family(n) == family]
    best_rtt, best = min(options)
    advice = (
        f"; {said(best)} ({table.regions[best].city}) would be about {best_rtt} ms"
        if best_rtt < rtt
        else "; no region of that provider is closer"
    )
    return (
        f"database '{name}' in {said(region)} ({table.regions[region].city}) is about {rtt} ms round "
        f"trip from {location} (estimate from distance), over {table.warn_above_ms} ms{advice}"
    )
