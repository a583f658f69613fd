"""What the spec writes into each app, release step and job stays within what the cluster keeps
of one: its settings (references expanded) and secrets with what each costs around its name, its
command and arguments, each `$` twice, as UTF-8: at most 1 MB, else a located error naming the
environment where it is largest."""

from __future__ import annotations

from tests.conftest import MINIMAL

LIMIT = "more than the 1 MB they may take of the 1.5 MB the cluster keeps for each"
ADVICE = "keep large text in a file the app reads, or in a secret"


def _validate(cli, write_spec, text: str):
    spec = write_spec(text)
    return spec, cli("validate", str(spec))


def test_aliases_that_repeat_a_long_text_past_the_limit_are_a_located_error(cli, write_spec):
    # 16 KB of `$`, repeated 64 times: 1 MB as written, 2 MB as rendered (each `$` doubled)
    args = "[&b '" + "$" * 16_000 + "', " + ", ".join(["*b"] * 63) + "]"
    spec, result = _validate(cli, write_spec, MINIMAL + f"    args: {args}\n")
    assert result.code == 2
    assert result.err.strip() == (
        f"{spec}:7:3: error: apps.web: its settings, secrets, command and arguments come to 2.0 MB in "
        f"production (each $ counts twice), {LIMIT} (the largest: the command or an argument, 32 KB): {ADVICE}"
    )


def test_references_count_as_the_addresses_they_expand_to(cli, write_spec):
    # 16 characters written, 50 rendered: 30,000 of them are 0.5 MB as written, 1.5 MB rendered
    value = "${apps.web.url} " * 30_000
    _, result = _validate(cli, write_spec, MINIMAL + f"    env: {{A: '{value}'}}\n")
    assert result.code == 2
    assert (
        "apps.web: its settings, secrets, command and arguments come to 1.5 MB in production, more"
        in result.err
    )


def test_the_release_step_is_measured_as_one_of_its_own(cli, write_spec):
    # 0.6 MB of arguments and 0.6 MB of release command: two, each within the limit
    part = "'" + "a" * 16_000 + "'"
    text = MINIMAL + "    args: [" + ", ".join([part] * 40) + "]\n"
    _, result = _validate(
        cli, write_spec, text + "    release: {command: [" + ", ".join([part] * 40) + "]}\n"
    )
    assert result.code == 0, result.err
    spec, result = _validate(
        cli, write_spec, text + "    release: {command: [" + ", ".join([part] * 70) + "]}\n"
    )
    assert result.err.strip() == (
        f"{spec}:7:3: error: apps.web: its release step's settings, secrets and command come to 1.1 MB in "
        f"production, {LIMIT} (the largest: the command or an argument, 16 KB): {ADVICE}"
    )


def test_text_is_measured_as_the_utf8_the_cluster_keeps(cli, write_spec):
    # 300,000 CJK characters are 0.9 MB of UTF-8 (1.8 MB as JSON escapes, which is not kept)
    _, result = _validate(cli, write_spec, MINIMAL + "    env: {CJK: '" + "漢" * 300_000 + "'}\n")
    assert result.code == 0, result.err
    _, result = _validate(cli, write_spec, MINIMAL + "    env: {CJK: '" + "漢" * 400_000 + "'}\n")
    assert " come to 1.2 MB in production, " in result.err


def test_each_setting_and_secret_costs_its_name_again_and_its_place(cli, write_spec):
    # 8,100 empty settings with 100-character names: 0.8 MB of names, 2.1 MB as kept
    names = "".join(f"      S{i:05d}{'x' * 94}: ''\n" for i in range(8_100))
    _, result = _validate(cli, write_spec, MINIMAL + "    env:\n" + names)
    assert " come to 2.1 MB in production, " in result.err
    assert "(the largest: the names of its 8100 settings, 2.1 MB)" in result.err  # not one of them
    secrets = ", ".join(f"S{i:05d}{'x' * 94}" for i in range(4_000))  # 4,000 secrets: 1.6 MB as kept
    _, result = _validate(cli, write_spec, MINIMAL + f"    secrets: [{secrets}]\n")
    assert " come to 1.6 MB in production, " in result.err
    assert "(the largest: its 4000 secrets, 1.6 MB)" in result.err


def test_a_shared_setting_counts_in_every_app_and_job_and_the_largest_environment_is_named(cli, write_spec):
    envs = (
        "production: {env: {CERTS: '"
        + "c" * 1_050_000
        + "'}}\n  staging: {env: {CERTS: '"
        + "c" * 1_200_000
        + "'}}"
    )
    text = MINIMAL.replace("production: {}", envs) + "jobs:\n  nightly: {image: 'x:1', schedule: '@daily'}\n"
    _, result = _validate(cli, write_spec, text)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert [line.split(": error: ")[1].split(" come to ")[0] for line in lines] == [
        "apps.web: its settings, secrets, command and arguments",
        "jobs.nightly: its settings, secrets, command and arguments",
    ]
    assert all(" come to 1.2 MB in staging, " in line for line in lines)
    assert all("(the largest: setting CERTS, 1.2 MB): " in line for line in lines)  # what to move out


def test_a_large_setting_is_located_where_the_environment_takes_it_from(cli, write_spec):
    # staging's own value, not the base app's name: that is the line to change
    big = "b" * 1_100_000
    overrides = f"  staging:\n    apps:\n      web:\n        env:\n          BIG: {big}\n"
    spec, result = _validate(
        cli, write_spec, MINIMAL.replace("  production: {}\n", "  production: {}\n" + overrides)
    )
    assert result.code == 2
    assert result.err.startswith(
        f"{spec}:10:11: error: apps.web: its settings, secrets, command and arguments"
    )
    assert "in staging" in result.err and "(the largest: setting BIG, 1.1 MB)" in result.err
