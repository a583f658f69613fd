"""`unhazzle validate`: one OK line for a good spec; every problem at once, located, exit 2."""

from __future__ import annotations

from tests.conftest import EXAMPLES, MINIMAL


def test_validate_example_prints_one_ok_line(cli):
    result = cli("validate", str(EXAMPLES / "shop" / "unhazzle.yaml"))
    assert result.code == 0
    assert result.out.count("\n") == 1 and "OK" in result.out
    assert result.err == ""


def test_validate_reports_every_error_located(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("region: fsn1", "region: fsn2").replace("port: 8080", "port: 8080\n    imgae: x")
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines == [
        f"{spec}:3:9: error: region: 'fsn2' is not allowed; choose fsn1 | nbg1 | hel1 (did you mean 'fsn1'?)",
        f"{spec}:10:5: error: apps.web: unknown key 'imgae' (did you mean 'image'?)",
    ]


def test_validate_reference_to_an_app_without_port_in_one_environment(cli, write_spec):
    spec = write_spec(
        MINIMAL.replace("production: {}", "production: {}\n  staging:\n    apps:\n      api: {port: null}")
        + "    env: {API_URL: '${apps.api.url}'}\n  api:\n    image: nginx\n    port: 9000\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:13:20: error: '${{apps.api.url}}': app 'api' has no port in staging, "
        "so it has no address there"
    ]
