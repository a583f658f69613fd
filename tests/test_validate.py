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
