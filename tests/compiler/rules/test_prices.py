"""The price tables are data: each bundled table loads, names its sources, and is chosen by date."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from unhazzle.compiler.rules.cluster import cluster_settings
from unhazzle.compiler.rules.prices import parse_table, table_dates, table_for

FOLDER = resources.files("unhazzle.compiler.rules").joinpath("data/prices")
TABLES = sorted(f.name for f in FOLDER.iterdir() if f.name.endswith(".yaml"))


@pytest.mark.parametrize("name", TABLES)
def test_price_table_loads(name):
    text = resources.files("unhazzle.compiler.rules").joinpath(f"data/prices/{name}").read_text("utf-8")
    table = parse_table(text, name=name)
    assert table.effective.isoformat() == name.removesuffix(".yaml")
    assert cluster_settings().node_type in table.server_types
    assert cluster_settings().load_balancer_type in table.load_balancers
    for label, price in table.priced():
        source = table.sources[price.source]
        assert source.url.startswith("https://"), label
        # an estimate says so in its source note, so nobody takes it for a quoted price
        assert not price.estimate or "ESTIMATE" in source.note, label


def test_price_tables_cover_the_2026_changes():
    dates = table_dates()
    assert dt.date(2026, 4, 1) in dates and dt.date(2026, 6, 15) in dates


@pytest.mark.parametrize(
    ("day", "effective"),
    [
        (dt.date(2025, 1, 1), dt.date(2025, 10, 1)),  # before every table: the oldest
        (dt.date(2026, 3, 31), dt.date(2025, 10, 1)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 1)),
        (dt.date(2026, 6, 14), dt.date(2026, 4, 1)),
        (dt.date(2026, 6, 15), dt.date(2026, 6, 15)),
        (dt.date(2030, 1, 1), dt.date(2026, 6, 15)),
    ],
)
def test_price_table_chosen_by_date(day, effective):
    assert table_for(day).effective == effective


def test_price_table_rejects_unknown_source_and_wrong_name():
    text = resources.files("unhazzle.compiler.rules").joinpath(f"data/prices/{TABLES[-1]}").read_text("utf-8")
    with pytest.raises(ValueError, match="unknown source"):
        parse_table(text.replace("source: api-fsn1-2026-05-27", "source: nowhere", 1), name=TABLES[-1])
    with pytest.raises(ValueError, match="file name must be its effective date"):
        parse_table(text, name="2020-01-01.yaml")
