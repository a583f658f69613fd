"""Jobs and release steps in the spec: what compiles, and every mistake located, at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import MINIMAL, Result

RunCli = Callable[..., Result]
WriteSpec = Callable[[str], Path]

JOBS = (
    MINIMAL
    + """\
    env: {LOG_LEVEL: info}
    release: {command: ["./manage.py", "migrate"]}
jobs:
  report:
    image: ghcr.io/acme/web:1.0
    command: ["./manage.py", "report"]
    schedule: "0 3 * * *"
    timezone: Europe/Berlin
    env: {API: "${apps.web.url}"}
"""
)


def test_a_job_and_a_release_step_compile_into_the_plan(cli: RunCli, write_spec: WriteSpec) -> None:
    result = cli("plan", str(write_spec(JOBS)), "--output", "json")
    assert result.code == 0, result.err
    env = json.loads(result.out)["environments"][0]
    [job] = env["jobs"]
    assert job["schedule"] == "0 3 * * *" and job["timezone"] == "Europe/Berlin"
    assert job["runs_a_month"] == pytest.approx(30.4, abs=0.1)
    assert job["timeout_s"] == 3600 and job["retries"] == 0 and job["overlap"] is False
    assert job["cost_eur_month"]["max"] > 0 and job["cost_eur_run"] > 0
    assert env["apps"][0]["release_step"]["command"] == ["./manage.py", "migrate"]
    assert env["apps"][0]["release_step"]["timeout_s"] == 600
    # A job's monthly cost is part of its environment's.
    apps_max = sum(a["cost_eur_month"]["max"] for a in env["apps"])
    assert env["cost_eur_month"]["max"] == pytest.approx(apps_max + job["cost_eur_month"]["max"], abs=0.011)


def test_a_job_inherits_shared_settings_and_environment_overrides(cli: RunCli, write_spec: WriteSpec) -> None:
    text = JOBS.replace("environments:\n  production: {}\n", "env: {REGION: eu}\nenvironments:\n  production:\n"
                        "    jobs:\n      report: {schedule: '@weekly', env: {EXTRA: '1'}}\n")  # fmt: skip
    spec = write_spec(text)
    out = spec.parent / "out"
    assert cli("render", str(spec), "--out", str(out)).code == 0
    job = (out / "production" / "report.yaml").read_text()
    assert 'schedule: "@weekly"' in job and 'timeZone: "Europe/Berlin"' in job
    assert (
        '"REGION"' in job
        and '"EXTRA"' in job
        and '"http://web.shop-production.svc.cluster.local:8080"' in job
    )
    explained = cli("explain", str(spec), "report")
    assert explained.code == 0, explained.err
    assert "about 4 times a month" in explained.out
    assert "from environments.production.jobs.report.env" in explained.out and "from env" in explained.out


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ('schedule: "0 3 * * *"', 'schedule: "0 25 * * *"', "jobs.report.schedule: hour 25 is out of range"),
        ('schedule: "0 3 * * *"', 'schedule: "0 0 30 2 *"', "never runs: no month has that day"),
        ('schedule: "0 3 * * *"', 'schedule: "every day"', "has 2 fields; a schedule has five"),
        ("timezone: Europe/Berlin", "timezone: Europe/Atlantis", "'Europe/Atlantis' is not a time zone"),
        ("timezone: Europe/Berlin", "timezone: Europe", "jobs.report.timezone: 'Europe' is not a time zone"),
        ("timezone: Europe/Berlin", 'timezone: " "', "jobs.report.timezone: ' ' is not a time zone"),
        ("timezone: Europe/Berlin", "timezone: " + "x" * 300, "jobs.report.timezone: 'xxxx"),
        ('schedule: "0 3 * * *"', 'schedule: " "', "jobs.report.schedule: ' ' has 0 fields"),
        ('schedule: "0 3 * * *"', 'schedule: "\u0661 3 * * *"', "jobs.report.schedule: '\u0661' is not a minute"),
        ("  report:\n", "  web:\n", "jobs.web: an app has that name too"),
        ('command: ["./manage.py", "report"]', "command: ./manage.py", "command"),
        ('schedule: "0 3 * * *"', 'schedule: "0 3 * * *"\n    timeout: 9d', "jobs.report.timeout: '9d' is too large: must be at most 7d"),
        ('schedule: "0 3 * * *"', 'schedule: "0 3 * * *"\n    timeout: soon', "'soon' is not a duration"),
        ('schedule: "0 3 * * *"', 'schedule: "0 3 * * *"\n    retries: 11', "retries"),
        ('schedule: "0 3 * * *"', 'schedule: "0 3 * * *"\n    replicas: 2', "unknown key 'replicas'"),
        ('API: "${apps.web.url}"', 'API: "${apps.nope.url}"', "names no app 'nope'"),
        ('release: {command: ["./manage.py", "migrate"]}', "release: {command: []}", "release.command"),
        ('release: {command: ["./manage.py", "migrate"]}', 'release: {command: [x], timeout: 7h}',
         "release.timeout"),
    ],
)  # fmt: skip
def test_a_job_mistake_is_a_located_error(
    cli: RunCli, write_spec: WriteSpec, change: str, where: str, says: str
) -> None:
    assert change in JOBS
    result = cli("validate", str(write_spec(JOBS.replace(change, where, 1))))
    assert result.code == 2, result.out
    assert says in result.err, result.err
    assert all(line.split(":")[1].isdigit() for line in result.err.strip().splitlines())
    assert "Traceback" not in result.err


def test_every_job_mistake_at_once_and_an_override_of_no_job(cli: RunCli, write_spec: WriteSpec) -> None:
    text = JOBS.replace('"0 3 * * *"', '"0 3 * *"').replace("timezone: Europe/Berlin", "timezone: Nowhere")
    text = text.replace("environments:\n  production: {}\n",
                        "environments:\n  production:\n    jobs:\n      reprot: {retries: 1}\n")  # fmt: skip
    result = cli("validate", str(write_spec(text)))
    assert result.code == 2
    assert "schedule has five" in result.err and "'Nowhere' is not a time zone" in result.err
    assert (
        "environments.production.jobs: no job named 'reprot' to change (did you mean 'report'?)" in result.err
    )


def test_a_huge_command_is_refused_not_rendered(cli: RunCli, write_spec: WriteSpec) -> None:
    text = JOBS.replace('["./manage.py", "report"]', json.dumps(["x" * 20_000]))
    result = cli("validate", str(write_spec(text)))
    assert result.code == 2 and "at most 16384 characters" in result.err, result.err
    text = JOBS.replace('["./manage.py", "report"]', json.dumps(["x"] * 300))
    result = cli("validate", str(write_spec(text)))
    assert result.code == 2 and "has too many entries: at most 256" in result.err, result.err
