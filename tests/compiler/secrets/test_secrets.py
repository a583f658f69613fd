"""`unhazzle secrets`: values encrypted with age to the spec's keys, names readable, never printed;
interchangeable with the `age` command-line tool; checked by validate; delivered as ciphertext."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, ROOT
from tests.support.agekeys import generate_identity
from unhazzle.compiler.editing.secrets import secrets_for_environment
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.compiler.secrets.delivery import (
    diff_stores,
    secrets_checksum,
    secrets_json,
)
from unhazzle.compiler.secrets.ops import set_values
from unhazzle.compiler.secrets.store import SecretStore, StoredSecret, dump_store, parse_store
from unhazzle.errors import InputError, OperationError
from unhazzle.shared import age
from unhazzle.shared.names import SECRETS_CHECKSUM
from unhazzle.shared.sealed import decrypt as decrypt_secrets_json

SPEC = """\
version: 1
project: shop
region: fsn1
secrets:
  recipients: [{key}]
environments:
  production: {{}}
  staging: {{}}
apps:
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
    secrets: [SESSION_KEY]
    databases: [main]
  worker:
    image: ghcr.io/acme/worker:1.0
databases:
  main:
    provider: aiven
    region: aws-eu-central-1
    secret: DATABASE_URL
"""
TRICKY = {
    "SESSION_KEY": " spaces, \"quotes\", 'single', a=b=c, $HOME `cmd` \\ back\nsecond line\n\tté 漢字 🔑 ",
    "DATABASE_URL": "postgres://u:p%40ss@db.example.com:5432/shop?sslmode=require",
}


def keygen(path: Path) -> str:
    """A real key from `age-keygen`; returns its public key."""
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    return subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def project(tmp_path):
    key = tmp_path / "cluster.agekey"
    public = keygen(key)
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(SPEC.format(key=public), encoding="utf-8")
    return spec, key, public


def import_json(cli, spec: Path, values: dict[str, str], *, app: str = "web", env: str = "production"):
    data = spec.parent / f"{app}-{env}.json"
    data.write_text(json.dumps(values), encoding="utf-8")
    return cli("secrets", "import", str(data), "--app", app, "--env", env, "--spec", str(spec))


def store_file(spec: Path, env: str = "production") -> Path:
    return spec.parent / "unhazzle.secrets" / f"{env}.yaml"


def age_decrypt(ciphertext: str, key: Path) -> str:
    out = subprocess.run(
        ["age", "-d", "-i", str(key)], input=ciphertext.encode(), check=True, capture_output=True
    )
    return out.stdout.decode("utf-8")


def test_secrets_import_stores_names_and_ciphertext_only(cli, project):
    spec, key, public = project
    result = import_json(cli, spec, TRICKY)
    assert result.code == 0, result.err
    assert result.out == f"{store_file(spec)}: web: added DATABASE_URL, SESSION_KEY\n"
    text = store_file(spec).read_text(encoding="utf-8")
    assert "SESSION_KEY:" in text and "DATABASE_URL:" in text and public in text
    assert "postgres" not in text and "quotes" not in text
    store = parse_store(text, name="production.yaml", environment="production")
    assert store.recipients == (public,)
    assert {name: age_decrypt(s.ciphertext, key) for name, s in store.apps["web"].items()} == TRICKY


def test_secrets_file_is_one_block_per_value(cli, project):
    spec, _, _ = project
    import_json(cli, spec, TRICKY)
    lines = store_file(spec).read_text(encoding="utf-8").splitlines()
    assert lines[2:8] == [
        "format: 1",
        "environment: production",
        "recipients:",
        f"  - {project[2]}",
        "apps:",
        "  web:",
    ]
    assert lines[8] == "    DATABASE_URL:" and lines[10] == "      value: |"
    assert lines[11] == "        -----BEGIN AGE ENCRYPTED FILE-----"


def test_secrets_encrypted_by_age_cli_decrypt_with_us(project):
    _, key, public = project
    value = "from the age CLI: ünïcode\nand = signs "
    armored = subprocess.run(
        ["age", "-a", "-r", public], input=value.encode(), check=True, capture_output=True
    ).stdout.decode()
    store = SecretStore(
        "production", (public,), {"web": {"SESSION_KEY": StoredSecret(armored, "2026-01-01")}}
    )
    parsed = parse_store(dump_store(store), name="production.yaml", environment="production")
    plain = decrypt_secrets_json(secrets_json(parsed) or "", key.read_text())
    assert plain == {"web": {"SESSION_KEY": value}}


def test_secrets_set_reads_the_value_from_stdin(cli, project, monkeypatch):
    spec, key, _ = project
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"p@ss word=1 'x'\n")))
    result = cli("secrets", "set", "web", "SESSION_KEY", "--env", "staging", "--spec", str(spec))
    assert result.code == 0, result.err
    store = parse_store(store_file(spec, "staging").read_bytes(), name="s", environment="staging")
    assert age_decrypt(store.apps["web"]["SESSION_KEY"].ciphertext, key) == "p@ss word=1 'x'"
    assert "p@ss" not in result.out + result.err


def test_secrets_set_has_no_value_argument(cli, project):
    spec, _, _ = project
    result = cli(
        "secrets", "set", "web", "SESSION_KEY", "hunter2", "--env", "production", "--spec", str(spec)
    )
    assert result.code == 2 and "unrecognized arguments" in result.err


def test_secrets_unset_and_list(cli, project):
    spec, _, _ = project
    import_json(cli, spec, {"SESSION_KEY": "v1", "OLD": "v2"})
    listed = cli("secrets", "list", "--spec", str(spec))
    assert listed.code == 0
    rows = [line.split() for line in listed.out.splitlines()]
    assert rows[:3] == [
        ["production", "web", "DATABASE_URL", "missing"],
        ["production", "web", "OLD", "unused", rows[1][4]],
        ["production", "web", "SESSION_KEY", "set", rows[2][4]],
    ]
    assert rows[3:] == [
        ["staging", "web", "DATABASE_URL", "missing"],
        ["staging", "web", "SESSION_KEY", "missing"],
    ]
    assert "v1" not in listed.out + listed.err
    as_json = json.loads(cli("secrets", "list", "--output", "json", "--spec", str(spec)).out)["secrets"]
    assert [(r["environment"], r["name"], r["state"]) for r in as_json][:3] == [
        ("production", "DATABASE_URL", "missing"), ("production", "OLD", "unused"), ("production", "SESSION_KEY", "set"),
    ]  # fmt: skip
    assert as_json[2]["updated"] == rows[2][4] and "v1" not in json.dumps(as_json)
    result = cli("secrets", "unset", "web", "OLD", "NOPE", "--env", "production", "--spec", str(spec))
    assert result.code == 0 and "removed OLD" in result.out and "no stored secret NOPE" in result.err
    assert "OLD" not in store_file(spec).read_text()


def test_validate_fails_naming_environment_app_secret_and_fix(cli, project):
    spec, _, _ = project
    import_json(cli, spec, {"SESSION_KEY": "x"})
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec}:13:15: error: environment staging, app web: secret SESSION_KEY has no value; "
        "set it with `unhazzle secrets set web SESSION_KEY --env staging`",
        f"{spec}:21:13: error: environment production, database main: secret DATABASE_URL has no value; "
        "set it once, for every app that uses the database, with `unhazzle secrets set web DATABASE_URL --env production`",
        f"{spec}:21:13: error: environment staging, database main: secret DATABASE_URL has no value; "
        "set it once, for every app that uses the database, with `unhazzle secrets set web DATABASE_URL --env staging`",
    ]


def test_a_database_secret_is_set_once_for_every_app_that_uses_the_database(cli, write_spec, tmp_path):
    """One shared database, three apps: one import sets its URL for all of them, and a missing
    one is one error per environment, not one per app."""
    text = (
        "version: 1\nproject: shop\nregion: fsn1\n"
        "secrets: {recipients: [age144sd36nzp875tu0323z8dxn92zd3vm4u2thh5cmu54m0kv2m83kqwvak3j]}\n"
        "environments:\n  production: {}\n"
        "databases:\n  main: {provider: supabase, region: aws-eu-central-1, secret: DATABASE_URL}\n"
        "apps:\n"
        + "".join(
            f"  {a}:\n    image: ghcr.io/acme/{a}:1.0\n    databases: [main]\n"
            for a in ("api", "web", "worker")
        )
    )
    spec = write_spec(text)
    missing = cli("validate", str(spec))
    assert missing.code == 2 and len(missing.err.splitlines()) == 1, missing.err
    assert "database main: secret DATABASE_URL has no value; set it once" in missing.err
    result = import_json(
        cli,
        spec,
        {"DATABASE_URL": "postgresql://u:p@db.example:5432/app?sslmode=require"},
        app="web",
        env="production",
    )
    assert "api: DATABASE_URL set too (the same database)" in result.out
    assert "worker: DATABASE_URL set too (the same database)" in result.out
    assert cli("validate", str(spec)).code == 0


def test_validate_passes_with_every_value_and_warns_on_unused(cli, project):
    spec, _, _ = project
    for env in ("production", "staging"):
        import_json(cli, spec, {"SESSION_KEY": "a", "DATABASE_URL": "b"}, env=env)
    stored = import_json(cli, spec, {"LEFTOVER": "c"}, app="worker", env="staging")
    result = cli("validate", str(spec))
    assert result.code == 0, result.err
    line = store_file(spec, "staging").read_text().splitlines().index("    LEFTOVER:") + 1
    advice = (
        "environment staging: app worker does not list secret LEFTOVER: add it to apps.worker.secrets "
        "to use it, or remove the value with `unhazzle secrets unset worker LEFTOVER --env staging`"
    )
    assert result.err == f"{store_file(spec, 'staging')}:{line}:5: warning: {advice}\n"
    assert advice in stored.err  # the same advice when it was set


def test_missing_secrets_folder_fails_validate_but_plan_warns(cli, project):
    spec, _, _ = project
    assert cli("validate", str(spec)).code == 2
    plan = cli("plan", str(spec), "--output", "json")
    assert plan.code == 0
    warnings = json.loads(plan.out)["warnings"]
    assert {
        "app": "web",
        "environment": "staging",
        "environments": ["staging"],
        "message": "secret SESSION_KEY has no value yet; set it with "
        "`unhazzle secrets set web SESSION_KEY --env staging`",
    } in warnings


def test_recipients_must_be_age_public_keys(cli, write_spec):
    bad_checksum = "age1" + "q" * 58
    spec = write_spec(
        SPEC.format(key=bad_checksum).replace("    secrets: [SESSION_KEY]\n    databases: [main]\n", "")
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    assert f"{spec}:5:16: error:" in result.err and "is not an age public key" in result.err
    spec = write_spec(SPEC.format(key="ssh-ed25519 AAAA"))
    assert cli("validate", str(spec)).code == 2


def test_secrets_import_without_recipients_is_a_located_error(cli, write_spec):
    spec = write_spec(SPEC.format(key="x").replace("secrets:\n  recipients: [x]\n", ""))
    result = import_json(cli, spec, {"SESSION_KEY": "x"})
    assert result.code == 2
    assert result.err.startswith(
        f"{spec}:5:3: error: environment production has no keys to encrypt secrets to"
    )


def test_secrets_import_where_the_secrets_folder_is_a_file_is_a_located_error(cli, project):
    spec, _, _ = project
    blocker = spec.parent / "unhazzle.secrets"
    blocker.write_text("junk\n", encoding="utf-8")
    result = import_json(cli, spec, {"SESSION_KEY": "x"})
    assert result.code == 2, result.err
    assert result.err.startswith(f"{blocker}:1:1: error: this is a file, but secret values are kept")
    assert "internal error" not in result.err
    assert blocker.read_text(encoding="utf-8") == "junk\n"
    assert [p.name for p in spec.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_rekey_reencrypts_to_the_new_recipient_list(cli, project, tmp_path):
    spec, key, public = project
    import_json(cli, spec, TRICKY)
    before = parse_store(store_file(spec).read_bytes(), name="s", environment="production")
    teammate = tmp_path / "teammate.agekey"
    spec.write_text(spec.read_text().replace(f"[{public}]", f"[{public}, {keygen(teammate)}]"))
    refused = import_json(cli, spec, {"SESSION_KEY": "new"})
    assert refused.code == 2 and "run `unhazzle secrets rekey --env production` first" in refused.err
    assert "other keys than the spec lists" in cli("validate", str(spec)).err
    result = cli("secrets", "rekey", "--env", "production", "--identity", str(key), "--spec", str(spec))
    assert result.code == 0, result.err
    after = parse_store(store_file(spec).read_bytes(), name="s", environment="production")
    assert len(after.recipients) == 2
    for name, secret in after.apps["web"].items():
        assert age_decrypt(secret.ciphertext, teammate) == TRICKY[name] == age_decrypt(secret.ciphertext, key)
        assert secret.updated == before.apps["web"][name].updated
        assert secret.ciphertext != before.apps["web"][name].ciphertext


def test_rekey_with_a_key_that_cannot_read_fails_and_keeps_the_file(cli, project, tmp_path):
    spec, _, _ = project
    import_json(cli, spec, TRICKY)
    before = store_file(spec).read_bytes()
    keygen(tmp_path / "stranger.agekey")
    result = cli(
        "secrets",
        "rekey",
        "--env",
        "production",
        "--identity",
        str(tmp_path / "stranger.agekey"),
        "--spec",
        str(spec),
    )
    assert result.code == 2 and "apps.web.DATABASE_URL: cannot be decrypted" in result.err
    assert store_file(spec).read_bytes() == before
    assert cli("secrets", "rekey", "--env", "production", "--spec", str(spec)).code == 2


def test_render_annotates_apps_with_secrets_by_ciphertext(cli, project):
    spec, _, _ = project
    import_json(cli, spec, {"SESSION_KEY": "a", "DATABASE_URL": "b"})
    files = render_plan(compile_file(spec).plan)
    assert SECRETS_CHECKSUM in files["production/web.yaml"]
    assert SECRETS_CHECKSUM not in files["production/worker.yaml"]
    assert render_plan(compile_file(spec).plan) == files  # deterministic
    import_json(cli, spec, {"SESSION_KEY": "a"})  # same value, new ciphertext: a restart, by design
    assert render_plan(compile_file(spec).plan)["production/web.yaml"] != files["production/web.yaml"]
    assert render_plan(compile_file(spec).plan)["staging/web.yaml"] == files["staging/web.yaml"]


def test_secrets_json_holds_ciphertext_for_used_secrets_only(cli, project):
    spec, key, public = project
    import_json(cli, spec, {"SESSION_KEY": "a", "UNUSED": "b"})
    store = compile_file(spec).stores["production"]
    text = secrets_json(store, {"web": ["SESSION_KEY", "DATABASE_URL"]})
    assert text is not None
    data = json.loads(text)
    assert (
        data["format"] == 1
        and data["recipients"] == [public]
        and list(data["apps"]["web"]) == ["SESSION_KEY"]
    )
    assert data["apps"]["web"]["SESSION_KEY"].startswith(age.ARMOR_BEGIN)
    assert decrypt_secrets_json(text, key.read_text()) == {"web": {"SESSION_KEY": "a"}}
    assert secrets_json(store, {"worker": []}) is None


def test_decrypt_secrets_json_with_the_wrong_key_names_the_secret(cli, project, tmp_path):
    spec, _, _ = project
    import_json(cli, spec, {"SESSION_KEY": "a"})
    text = secrets_json(compile_file(spec).stores["production"]) or ""
    keygen(tmp_path / "other.agekey")
    with pytest.raises(OperationError, match=r"^_secrets.json: apps.web.SESSION_KEY: cannot be decrypted"):
        decrypt_secrets_json(text, (tmp_path / "other.agekey").read_text())
    with pytest.raises(OperationError, match="not an age secret key"):
        decrypt_secrets_json(text, "AGE-SECRET-KEY-1NOPE")


def test_diff_stores_names_added_removed_and_changed(project):
    _, _, public = project
    old, _ = set_values(
        SecretStore("production"), "web", {"A": "1", "B": "2"}, recipients=[public], today="d"
    )
    new, _ = set_values(old, "web", {"B": "2", "C": "3"}, recipients=[public], today="d")
    new = SecretStore(
        "production", new.recipients, {"web": {k: v for k, v in new.apps["web"].items() if k != "A"}}
    )
    changes = [
        (c.environment, c.app, c.name, c.change)
        for c in diff_stores({"production": old}, {"production": new})
    ]
    assert changes == [
        ("production", "web", "A", "removed"),
        ("production", "web", "B", "changed"),
        ("production", "web", "C", "added"),
    ]
    assert diff_stores({"production": old}, {"production": old}) == []


def test_secrets_checksum_depends_on_names_and_ciphertext():
    assert secrets_checksum({"A": "x"}) == secrets_checksum({"A": "x\n"})
    assert (
        len({secrets_checksum({"A": "x"}), secrets_checksum({"B": "x"}), secrets_checksum({"A": "y"})}) == 3
    )


@pytest.mark.parametrize(
    "text",
    [
        "format: 2\napps: {}\n",
        "format: 1\napps:\n  web:\n    A: {updated: '2026-01-01', value: plaintext}\n",
        "format: 1\napps:\n  web:\n    1A: {}\n",
        "format: 1\nrecipients: 3\napps: []\n",
        "- a\n",
        "format: 1\nenvironment: staging\n",
        "format: 1\nextra: 1\n",
    ],
)
def test_hostile_secrets_file_is_a_located_error(text):
    with pytest.raises(InputError) as caught:
        parse_store(text, name="production.yaml", environment="production")
    assert all(p.file == "production.yaml" for p in caught.value.problems)


REGION_LINE = SPEC.splitlines().index("region: fsn1") + 1


def test_every_broken_secrets_file_is_reported_in_words_with_the_spec(cli, project):
    spec, _, _ = project
    for env in ("production", "staging"):
        store_file(spec, env).parent.mkdir(exist_ok=True)
        store_file(spec, env).write_text("garbage: [\n", encoding="utf-8")
    unclosed = (
        "1:10: error: the '[' opened here is not closed with ']', or a ',' is missing between its items"
    )
    folder = spec.parent / "unhazzle.secrets"
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{folder}/production.yaml:{unclosed}",
        f"{folder}/staging.yaml:{unclosed}",
    ]
    spec.write_text(spec.read_text().replace("region: fsn1", "region: xx"), encoding="utf-8")
    assert cli("validate", str(spec)).err.splitlines() == [
        f"{folder}/production.yaml:{unclosed}",
        f"{folder}/staging.yaml:{unclosed}",
        f"{spec}:{REGION_LINE}:9: error: region: 'xx' is not allowed; choose fsn1 | nbg1 | hel1",
    ]


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True)
VALUES = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
IDENTITY, PUBLIC = generate_identity()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=5))
def test_secret_values_round_trip_exactly(values):
    store, _ = set_values(SecretStore("production"), "web", values, recipients=[PUBLIC], today="2026-01-01")
    parsed = parse_store(dump_store(store), name="production.yaml", environment="production")
    assert decrypt_secrets_json(secrets_json(parsed) or "", IDENTITY) == {"web": values}


def test_canary_values_never_leave_the_secrets_files(cli, project, monkeypatch, tmp_path):
    spec, _, _ = project
    canaries = {
        env: {"SESSION_KEY": f"Qz8{env}Kw7f3a9", "DATABASE_URL": f"postgres://u:Pw{env}b41cX@db"}
        for env in ("production", "staging")
    }
    for env, values in canaries.items():
        import_json(cli, spec, values, env=env)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Vb0d2eYstdin")))
    cli("secrets", "set", "worker", "EXTRA", "--env", "staging", "--spec", str(spec))
    for data in spec.parent.glob("*.json"):
        data.unlink()  # the user's own input files: they hold the canaries by definition
    outputs = []
    for debug in ([], ["--debug"]):
        for args in (
            ["validate", str(spec)],
            ["plan", str(spec)],
            ["plan", str(spec), "--output", "json"],
            ["render", str(spec), "--out", str(tmp_path / "out")],
            ["explain", str(spec), "web"],
            ["secrets", "list", "--spec", str(spec)],
            ["secrets", "rekey", "--env", "staging", "--identity", str(project[1]), "--spec", str(spec)],
        ):
            result = cli(*debug, *args)
            assert result.code == 0, (args, result.err)
            outputs += [result.out, result.err]
    written = [p.read_bytes().decode("utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    haystack = "\n".join(outputs + written)
    assert "unhazzle.io/secrets-checksum" in haystack  # the scan did see the rendered files
    needles = [v for values in canaries.values() for v in values.values()]
    for needle in [*needles, "Vb0d2eYstdin", "7f3a9", "b41cX", "0d2eY"]:
        assert needle not in haystack


def test_secrets_import_warns_about_a_database_url_without_tls(cli, project):
    spec, _, _ = project
    result = import_json(
        cli, spec, {"SESSION_KEY": "a", "DATABASE_URL": "postgres://u:pw@db.example.com/shop"}
    )
    assert result.code == 0
    assert (
        "DATABASE_URL (database main) does not ask for TLS: the postgres:// URL has no sslmode; "
        "add sslmode=require (or verify-full) so TLS is required" in result.err
    )
    assert "pw@db" not in result.err
    result = import_json(
        cli, spec, {"DATABASE_URL": "postgres://u:pw@db.example.com/shop?sslmode=verify-full"}
    )
    assert "TLS" not in result.err


def test_secrets_import_judges_tls_by_the_url_scheme(cli, project):
    # One check decides (compiler/secrets/tls.py): an SRV MongoDB URL uses TLS unless told not
    # to, and sslmode=prefer still lets a PostgreSQL client fall back to plain text.
    spec, _, _ = project
    result = import_json(cli, spec, {"DATABASE_URL": "mongodb+srv://u:pw@cluster.example.net/shop"})
    assert result.code == 0 and "TLS" not in result.err
    result = import_json(cli, spec, {"DATABASE_URL": "postgres://u:pw@db.example.com/shop?sslmode=prefer"})
    assert "has sslmode=prefer; add sslmode=require" in result.err


def test_secrets_import_errors_never_quote_values(cli, project):
    spec, _, _ = project
    data = spec.parent / "bad.json"
    data.write_text('{"SESSION_KEY": "Zx9secretQ", "BAD KEY": "Zx9secretQ", "X": ["Zx9secretQ"]}')
    result = cli("secrets", "import", str(data), "--app", "web", "--env", "production", "--spec", str(spec))
    assert result.code == 2 and result.err.count("error:") == 2
    assert "Zx9secretQ" not in result.out + result.err
    assert not store_file(spec).exists()


def test_a_secret_value_holding_a_nul_is_refused_as_a_settings_is(cli, project, monkeypatch):
    # The app gets its secrets as settings, and no program can be given a NUL in one.
    spec, _, _ = project
    result = import_json(cli, spec, {"SESSION_KEY": "a\u0000b", "OTHER": "c\u0000"})
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{spec.parent / 'web-production.json'}:1:17: error: 'SESSION_KEY': holds a NUL character (\\0), "
        "which no program can be given; leave it out",
        f"{spec.parent / 'web-production.json'}:1:38: error: 'OTHER': holds a NUL character (\\0), "
        "which no program can be given; leave it out",
    ]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\x00b")))
    result = cli("secrets", "set", "web", "SESSION_KEY", "--env", "production", "--spec", str(spec))
    assert result.code == 2 and "SESSION_KEY: error: the value holds a NUL character" in result.err
    assert not store_file(spec).exists()


def test_secrets_import_says_the_files_problems_with_the_flags_at_once(cli, project):
    spec, _, _ = project
    data = spec.parent / "bad.json"
    data.write_text('{"bad key": "v", "OK": null}')
    result = cli("secrets", "import", str(data), "--app", "nope", "--env", "nope", "--spec", str(spec))
    assert result.code == 2
    assert {line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()} == {
        "no environment named 'nope'",
        "no app named 'nope'",
        "'bad key' is not a valid name: use letters, digits and '_', not starting with a digit",
        "'OK': the value is null",
    }
    assert not store_file(spec).exists()


def test_secrets_for_environment_and_the_names_that_changed(cli, project):
    spec, key, _ = project
    import_json(cli, spec, {"SESSION_KEY": "a", "NOT_LISTED": "b"})
    compiled = compile_file(spec)
    text = secrets_for_environment(compiled, "production")
    assert text is not None and decrypt_secrets_json(text, key.read_text()) == {"web": {"SESSION_KEY": "a"}}
    assert secrets_for_environment(compiled, "staging") is None
    changes = diff_stores({}, compiled.stores)
    assert [(c.environment, c.app, c.name, c.change) for c in changes] == [
        ("production", "web", "NOT_LISTED", "added"),
        ("production", "web", "SESSION_KEY", "added"),
    ]


def test_secrets_import_of_an_empty_object_changes_nothing(cli, project):
    spec, _, _ = project
    result = import_json(cli, spec, {})
    assert result.code == 0 and "nothing changed" in result.out
    assert not store_file(spec).exists()
    assert cli("secrets", "list", "--spec", str(spec)).code == 0
    assert dump_store(SecretStore("production", (), {"web": {}})).endswith("apps: {}\n")


def test_secrets_list_one_environment_and_files_for_unknown_environments(cli, project):
    spec, _, _ = project
    import_json(cli, spec, {"SESSION_KEY": "a"}, env="staging")
    (store_file(spec).parent / "qa.yaml").write_text("format: 1\n")
    result = cli("secrets", "list", "--env", "staging", "--spec", str(spec))
    assert result.code == 0
    assert [line.split()[:4] for line in result.out.splitlines()] == [
        ["staging", "web", "DATABASE_URL", "missing"],
        ["staging", "web", "SESSION_KEY", "set"],
    ]
    assert "qa.yaml:1:1: warning: the spec has no environment 'qa'; delete this file" in result.err


def test_example_project_validates_with_its_encrypted_values(cli):
    spec = EXAMPLES / "shop" / "unhazzle.yaml"
    assert cli("validate", str(spec)).code == 0
    compiled = compile_file(spec)
    key = (ROOT / "tests" / "fixtures" / "shop-cluster.agekey").read_text()
    plain = decrypt_secrets_json(secrets_for_environment(compiled, "production") or "", key)
    assert sorted(plain) == ["api", "web", "worker"]
    assert plain["web"]["SESSION_KEY"] == "example-session-key-production"
