"""`unhazzle secrets keygen`: the first secret of a new project needs no age tooling: a key file
of its own, its public key in the spec, and the values readable with real `age`."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINIMAL

SPEC = MINIMAL.replace("    port: 8080\n", "    port: 8080\n    secrets: [SESSION_KEY]\n").replace(
    "region: fsn1\n", "region: fsn1\n\n# The environments.\n"
)


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "unhazzle.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_keygen_writes_a_private_key_file_and_adds_its_public_key_to_the_spec(
    cli: Any, spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("secrets", "keygen", "--spec", str(spec))
    assert result.code == 0, result.err
    key = tmp_path / "config" / "unhazzle" / "keys" / "shop.agekey"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, text=True, check=True
    ).stdout.strip()
    text = spec.read_text()
    assert f"secrets:\n  recipients: [{public}]\n\n# The environments.\nenvironments:" in text  # comment kept
    assert f"--secrets-key-file {key}" in result.out

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hunter2")))
    assert cli("secrets", "set", "web", "SESSION_KEY", "--env", "production", "--spec", str(spec)).code == 0
    stored = (spec.parent / "unhazzle.secrets" / "production.yaml").read_text()
    armored = stored[stored.index("-----BEGIN AGE") : stored.index("-----END AGE ENCRYPTED FILE-----") + 32]
    armored = "\n".join(line.strip() for line in armored.splitlines()) + "\n"
    plain = subprocess.run(
        ["age", "-d", "-i", str(key)], input=armored, capture_output=True, text=True, check=True
    )
    assert plain.stdout == "hunter2"


def test_keygen_through_a_symlinked_spec_adds_the_key_to_its_target(
    cli: Any, spec: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(spec.name)
    assert cli("secrets", "keygen", "--spec", str(link)).code == 0
    assert link.is_symlink() and "recipients: [age1" in spec.read_text()


def test_keygen_never_overwrites_a_key(cli: Any, spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.agekey"
    out.write_text("AGE-SECRET-KEY-1 something precious\n")
    result = cli("secrets", "keygen", "--spec", str(spec), "--out", str(out))
    assert result.code == 2 and "is never overwritten" in result.err
    assert out.read_text() == "AGE-SECRET-KEY-1 something precious\n" and "recipients" not in spec.read_text()


def test_keygen_for_one_environment(cli: Any, spec: Path, tmp_path: Path) -> None:
    result = cli(
        "secrets", "keygen", "--spec", str(spec), "--env", "production", "--out", str(tmp_path / "k")
    )
    assert result.code == 0, result.err
    assert "  production:\n    secrets: {recipients: [age1" in spec.read_text()


def test_keygen_for_an_environment_whose_keys_are_an_alias_adds_to_that_environment_only(
    cli: Any, spec: Path, tmp_path: Path
) -> None:
    team = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    public = next(line.split(": ")[1] for line in team.splitlines() if "public key" in line)
    shared = f"    secrets: &keys {{recipients: [{public}]}}\n  staging:\n    secrets: *keys\n"
    spec.write_text(SPEC.replace("  production: {}\n", "  production:\n" + shared), encoding="utf-8")
    refused = cli(
        "secrets", "keygen", "--spec", str(spec), "--env", "production", "--out", str(tmp_path / "j")
    )
    assert refused.code == 2, refused.err  # production's keys are staging's too: a key there reads both
    assert refused.err.startswith(f"{spec}:8:5: error: environments.production.secrets is shared with")
    assert not (tmp_path / "j").exists()
    result = cli("secrets", "keygen", "--spec", str(spec), "--env", "staging", "--out", str(tmp_path / "k"))
    assert result.code == 0, result.err
    text = spec.read_text()
    assert f"    secrets: &keys {{recipients: [{public}]}}\n" in text  # production's keys as they were
    assert f"    secrets: {{recipients: [{public}, age1" in text


def test_without_a_key_setting_a_secret_says_to_make_one(
    cli: Any, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hunter2")))
    result = cli("secrets", "set", "web", "SESSION_KEY", "--env", "production", "--spec", str(spec))
    assert result.code == 2 and "make one with `unhazzle secrets keygen`" in result.err
