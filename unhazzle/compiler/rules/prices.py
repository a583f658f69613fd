"""The dated price tables (compiler/rules/data/prices/<date>.yaml), loaded, checked and chosen by date.

Rules as data: a newer price list is a new file named after its effective date, never a code
change. Every price names its source, and says when it is an estimate rather than a quoted figure.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from unhazzle.compiler.rules.datafiles import parse_cached, read_data

Location = Literal["fsn1", "nbg1", "hel1"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    url: str = Field(pattern=r"^https://")
    note: str = Field(min_length=1)


class Price(_Strict):
    """One price in euros a month, net of VAT, with where it came from."""

    eur_month: float = Field(ge=0)
    source: str
    estimate: bool = False


class ServerType(Price):
    vcpu: int = Field(ge=1)
    memory_gb: float = Field(gt=0)
    arch: Literal["x86", "arm"]


class PriceTable(_Strict):
    effective: dt.date
    currency: Literal["EUR"]
    locations: list[Location] = Field(min_length=1)
    volume_min_gb: int = Field(ge=1)
    sources: dict[str, Source] = Field(min_length=1)
    server_types: dict[str, ServerType] = Field(min_length=1)
    volume_gb_month: Price
    load_balancers: dict[str, Price] = Field(min_length=1)
    primary_ipv4: Price

    @model_validator(mode="after")
    def _sources_known(self) -> PriceTable:
        for name, price in self.priced():
            if price.source not in self.sources:
                raise ValueError(f"{name}: unknown source '{price.source}'; add it under sources:")
        return self

    def priced(self) -> list[tuple[str, Price]]:
        """Every price with its name, for checks and for listing the estimates."""
        return [
            *((f"server_types.{k}", v) for k, v in self.server_types.items()),
            ("volume_gb_month", self.volume_gb_month),
            *((f"load_balancers.{k}", v) for k, v in self.load_balancers.items()),
            ("primary_ipv4", self.primary_ipv4),
        ]


def parse_table(text: str | bytes, *, name: str) -> PriceTable:
    """One table from its YAML text; the file name must be its effective date."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _checked(parse_cached(raw), name=name)


def _checked(data: Any, *, name: str) -> PriceTable:
    table = PriceTable.model_validate(data)
    if name.removesuffix(".yaml") != table.effective.isoformat():
        raise ValueError(f"{name}: file name must be its effective date, {table.effective}.yaml")
    return table


def _folder() -> Any:
    return resources.files("unhazzle.compiler.rules").joinpath("data/prices")


@cache
def table_dates() -> tuple[dt.date, ...]:
    """The effective dates of the bundled tables, from their file names, oldest first."""
    names = (f.name for f in _folder().iterdir() if f.name.endswith(".yaml"))
    return tuple(sorted(dt.date.fromisoformat(name.removesuffix(".yaml")) for name in names))


@cache
def load_table(effective: dt.date) -> PriceTable:
    name = f"{effective.isoformat()}.yaml"
    return _checked(read_data(f"prices/{name}"), name=name)


def table_for(day: dt.date) -> PriceTable:
    """The newest table in effect on *day* (the oldest one for days before every table). Only
    that table is read: the file names carry the dates."""
    dates = table_dates()
    return load_table(max((d for d in dates if d <= day), default=dates[0]))
