"""`unhazzle logs APP` without --env reads every environment the app runs in, as its help says;
--follow and --instance need one. The cluster is replaced by a stand-in for what the API server
answers (the real one is exercised by tests/cluster/test_observe_cluster.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MINIMAL
from unhazzle.observe import reads

TWO = MINIMAL.replace("  production: {}\n", "  production: {}\n  staging: {}\n")


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two instances of web in each environment, each printing one line."""

    def pods(_reader: Any, namespace: str, app: str, *, job: bool = False) -> list[dict[str, Any]]:
        return [
            {
                "metadata": {
                    "name": f"{app}-7d4b9c6f5-{namespace[-3:]}{n}",
                    "creationTimestamp": f"2026-12-05T00:0{n}:00Z",
                }
            }
            for n in (1, 2)
        ]

    def log_lines(_reader: Any, namespace: str, pod: str, **_: Any) -> list[bytes]:
        return [f"2026-12-05T01:00:0{pod[-1]}Z hello from {namespace}".encode()]

    monkeypatch.setattr(reads, "connect", lambda *_a, **_k: object())
    monkeypatch.setattr(reads, "pods", pods)
    monkeypatch.setattr(reads, "log_lines", log_lines)


def test_logs_without_env_reads_every_environment(cli: Any, write_spec: Any, cluster: None) -> None:
    spec = write_spec(TWO)
    result = cli("logs", "web", "--spec", str(spec))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 4
    assert {line.split("]")[0].split("/")[0] for line in lines} == {"[production", "[staging"}
    assert any("hello from shop-staging" in line for line in lines)
    one = cli("logs", "web", "--env", "staging", "--spec", str(spec))
    assert one.code == 0 and all("/" not in line.split("]")[0] for line in one.out.splitlines())


@pytest.mark.parametrize("flag", [["--follow"], ["--instance", "1"]])
def test_logs_follow_or_one_instance_needs_one_environment(
    cli: Any, write_spec: Any, cluster: None, flag: list[str]
) -> None:
    result = cli("logs", "web", *flag, "--spec", str(write_spec(TWO)))
    assert result.code == 2
    assert "runs in several environments (production, staging)" in result.err and "add --env" in result.err


@pytest.mark.parametrize(("instance", "code"), [("2", 0), ("\u00b2", 2), ("\u0662", 2), ("9" * 5000, 2)])
def test_logs_instance_is_its_number_in_ascii_digits_or_its_id(
    cli: Any, write_spec: Any, cluster: None, instance: str, code: int
) -> None:
    # '\u00b2' passes isdigit() and then int() refuses it; '\u0662' is 2 only to Python
    result = cli("logs", "web", "--env", "staging", "--instance", instance, "--spec", str(write_spec(TWO)))
    assert result.code == code, result.err
    assert code == 0 or f"--instance: error: web has no instance '{instance[:60]}" in result.err
