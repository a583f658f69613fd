"""What the spec writes into one object stays within what the cluster stores of an object: each
app's, release step's and job's own text (settings with references expanded, command, arguments,
each `$` twice, UTF-8) is at most 1 MB, else a located error naming the environment."""

from __future__ import annotations

from tests.conftest import MINIMAL

LIMIT_SAID = (
    "(each $ counts twice); the cluster keeps one object within 1.5 MB, so they may come to 1 MB: "
    "keep large text in a file the app reads, or in a secret"
)


def _validate(cli, write_spec, text: str):
    result = cli("validate", str(spec := write_spec(text)))
    return spec, result


def test_aliases_that_repeat_a_long_text_past_the_limit_are_a_located_error(cli, write_spec):
    # 16 KB of `$`, repeated 64 times: 1 MB as written, 2 MB as rendered (each `$` doubled)
    args = "[&b '" + "$" * 16_000 + "', " + ", ".join(["*b"] * 63) + "]"
    spec, result = _validate(cli, write_spec, MINIMAL + f"    args: {args}\n")
    assert result.code == 2
    assert result.err.strip() == (
        f"{spec}:7:3: error: apps.web: its settings, command and arguments come to 2.0 MB in production "
        + LIMIT_SAID
    )


def test_references_count_as_the_addresses_they_expand_to(cli, write_spec):
    # 16 characters written, 50 rendered: 30,000 of them are 0.5 MB as written, 1.5 MB rendered
    value = "${apps.web.url} " * 30_000
    _, result = _validate(cli, write_spec, MINIMAL + f"    env: {{A: '{value}'}}\n")
    assert result.code == 2
    assert "apps.web: its settings, command and arguments come to 1.5 MB in production" in result.err


def test_the_release_step_is_an_object_of_its_own(cli, write_spec):
    # 0.6 MB of arguments and 0.6 MB of release command: two objects, each within the limit
    part = "'" + "a" * 16_000 + "'"
    text = MINIMAL + "    args: [" + ", ".join([part] * 40) + "]\n"
    text += "    release: {command: [" + ", ".join([part] * 40) + "]}\n"
    _, result = _validate(cli, write_spec, text)
    assert result.code == 0, result.err


def test_text_is_measured_as_the_utf8_the_cluster_stores(cli, write_spec):
    # 300,000 CJK characters are 0.9 MB of UTF-8 (1.8 MB as JSON escapes, which is not stored)
    _, result = _validate(cli, write_spec, MINIMAL + "    env: {CJK: '" + "漢" * 300_000 + "'}\n")
    assert result.code == 0, result.err
    _, result = _validate(cli, write_spec, MINIMAL + "    env: {CJK: '" + "漢" * 400_000 + "'}\n")
    assert " come to 1.2 MB in production " in result.err


def test_a_shared_setting_counts_in_every_app_and_job_and_names_its_environment(cli, write_spec):
    text = MINIMAL.replace(
        "production: {}", "production: {}\n  staging: {env: {CERTS: '" + "c" * 1_100_000 + "'}}"
    )
    text += "jobs:\n  nightly: {image: 'x:1', schedule: '@daily'}\n"
    _, result = _validate(cli, write_spec, text)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert [line.split(": error: ")[1].split(" come to ")[0] for line in lines] == [
        "apps.web: its settings, command and arguments",
        "jobs.nightly: its settings, command and arguments",
    ]
    assert all(" come to 1.1 MB in staging " in line for line in lines)
