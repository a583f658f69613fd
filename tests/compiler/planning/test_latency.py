"""Database latency guidance (an estimated table) and the TLS check of database URLs."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MINIMAL
from unhazzle.compiler.rules.latency import latency_table, latency_warning
from unhazzle.compiler.secrets.tls import tls_warning
from unhazzle.compiler.spec.model import Database


def test_latency_table_loads_and_says_it_is_an_estimate():
    table = latency_table()
    assert "estimate" in table.method and table.warn_above_ms == 20
    assert table.regions["aws-eu-central-1"].fsn1 <= 6  # Falkenstein-Frankfurt, about 5 ms


def _db(region: str) -> Database:
    return Database(provider="aiven", region=region, secret="DATABASE_URL")


def test_latency_near_region_has_no_warning():
    assert latency_warning("main", _db("aws-eu-central-1"), "fsn1") is None


def test_latency_far_region_warns_with_nearest_better_region_of_that_provider():
    message = latency_warning("main", _db("aws-eu-central-1"), "hel1")
    assert message is not None
    assert "about 22 ms round trip from hel1 (estimate from distance)" in message
    assert "aws-eu-north-1 (Stockholm) would be about 7 ms" in message


def test_latency_supabase_region_codes_read_as_aws_and_said_as_written():
    assert latency_warning("main", _db("eu-central-1"), "nbg1") is None
    supabase = Database(provider="supabase", region="eu-central-1", secret="DATABASE_URL")
    message = latency_warning("main", supabase, "hel1") or ""
    assert message.startswith("database 'main' in eu-central-1 (Frankfurt) is about 22 ms"), message
    assert message.endswith("; eu-north-1 (Stockholm) would be about 7 ms")
    assert "aws-" not in message


def test_latency_supabase_outside_aws_is_said():
    supabase = Database(provider="supabase", region="google-europe-west3", secret="DATABASE_URL")
    assert latency_warning("main", supabase, "fsn1") == (
        "database 'main': Supabase runs in AWS regions (such as eu-central-1), and "
        "'google-europe-west3' is not one; give the region its project runs in"
    )


def test_latency_unknown_region_warns_that_it_is_unknown():
    message = latency_warning("main", _db("mars-base-1"), "fsn1")
    assert message == (
        "database 'main': region 'mars-base-1' is not in the latency table, so its round trip "
        "from fsn1 is unknown; aim for under 20 ms"
    )


def test_latency_warning_appears_in_plan(cli, write_spec):
    text = MINIMAL.replace("port: 8080", "port: 8080\n    databases: [main]")
    text += "databases:\n  main: {provider: supabase, region: ap-southeast-1, secret: DATABASE_URL}\n"
    data = json.loads(cli("plan", str(write_spec(text)), "--output", "json").out)
    [warning] = [w for w in data["warnings"] if "database 'main'" in w["message"]]
    assert warning["app"] == "web"
    assert "; eu-central-1 (Frankfurt) would be about 5 ms" in warning["message"]  # as Supabase names it


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgres://u:p@db.example.com:5432/app", "no sslmode"),
        ("postgresql://db.example.com/app?sslmode=disable", "sslmode=disable"),
        ("postgres://db.example.com/app?sslmode=prefer", "sslmode=prefer"),
        ("redis://cache.example.com:6379", "use rediss://"),
        ("mysql://db.example.com/app", "ssl-mode=REQUIRED"),
        ("mongodb://db.example.com/app", "tls=true"),
        ("mongodb+srv://db.example.com/app?tls=false", "tls=true"),
        ("amqp://mq.example.com", "use amqps://"),
    ],
)
def test_tls_warning_for_urls_without_tls(url, fragment):
    message = tls_warning(url)
    assert message is not None and fragment in message
    assert "u:p" not in message  # never echoes credentials


@pytest.mark.parametrize(
    "url",
    [
        "postgres://db.example.com/app?sslmode=require",
        "postgresql://db.example.com/app?sslmode=verify-full",
        "rediss://cache.example.com:6380",
        "mysql://db.example.com/app?ssl-mode=REQUIRED",
        "mongodb+srv://db.example.com/app",
        "https://api.example.com",
    ],
)
def test_tls_warning_none_when_tls_required(url):
    assert tls_warning(url) is None


@pytest.mark.parametrize("url", ["", "not a url", "http://[::1", "\x00\x01", "postgres://%zz"])
def test_tls_warning_hostile_input_never_crashes(url):
    tls_warning(url)
