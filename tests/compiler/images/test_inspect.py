"""`unhazzle inspect IMAGE`: an image's ports, user, settings and digest, read from a real registry
on loopback (Docker and OCI media types, indexes, anonymous, basic and Bearer logins, TLS)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import MINIMAL
from tests.support.registries import PASSWORD, USER, login


def test_inspect_docker_image_shows_everything(cli, plain_registry, docker_config):
    ref = plain_registry.ref("acme/web:1.0")
    result = cli("inspect", ref)
    assert result.code == 0, result.err
    out = result.out
    assert out.splitlines()[0] == ref
    assert f"digest       {plain_registry.digests['acme/web:1.0']}" in out
    assert "ports        8080/tcp" in out
    assert "user         1000:1000" in out
    assert 'entrypoint   ["/app/server"]' in out
    assert 'command      ["--listen", ":8080"]' in out
    assert "healthcheck  wget -qO- http://localhost:8080/healthz (every 30 s, 3 retries)" in out
    assert "env          LOG_LEVEL=info" in out
    assert "label        org.opencontainers.image.source=https://example.com/acme/web" in out
    assert "compressed (1 layer)" in out
    assert "note:" not in out


def test_inspect_json_output_for_scripts(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/web:1.0"), "--output", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["digest"] == plain_registry.digests["acme/web:1.0"]
    assert data["ports"] == ["8080/tcp"]
    assert data["user"] == {"name": "1000:1000", "root": False}
    assert data["env"] == {"PATH": "/usr/local/bin:/usr/bin:/bin", "LOG_LEVEL": "info"}
    assert data["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert data["healthcheck"]["interval_s"] == 30
    assert data["compressed_size"] > 0 and data["layers"] == 1


def test_inspect_oci_image_with_two_ports(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/ports:1.0"), "--output", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["ports"] == ["8080/tcp", "9090/tcp"]
    assert data["media_type"] == "application/vnd.oci.image.manifest.v1+json"


def test_inspect_root_user_warns(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/root:1.0"))
    assert result.code == 0, result.err
    assert "user         root (none set)" in result.out
    assert "note: the image runs as root; Unhazzle runs every app as an unprivileged user" in result.out


def test_inspect_index_picks_linux_amd64(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/multi:1.0"), "--output", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["digest"] == plain_registry.digests["acme/multi:1.0"]
    assert data["platform"] == "linux/amd64"
    assert data["env"]["ARCH"] == "amd64"
    assert data["platforms"] == ["linux/amd64", "linux/arm64"]
    assert data["manifest_digest"] != data["digest"]


def test_inspect_index_platform_flag(cli, plain_registry, docker_config):
    result = cli(
        "inspect", plain_registry.ref("acme/multi:1.0"), "--platform", "linux/arm64", "--output", "json"
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["env"]["ARCH"] == "arm64"


def test_inspect_index_missing_platform_is_one_line(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/multi:1.0"), "--platform", "linux/s390x")
    assert result.code == 1
    assert result.err == (
        f"{plain_registry.ref('acme/multi:1.0')}: has no linux/s390x image "
        "(it has: linux/amd64, linux/arm64); choose one with --platform\n"
    )


def test_inspect_by_digest(cli, plain_registry, docker_config):
    digest = plain_registry.digests["acme/ports:1.0"]
    result = cli("inspect", f"{plain_registry.host}/acme/ports@{digest}", "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["digest"] == digest


def test_inspect_missing_tag(cli, plain_registry, docker_config):
    ref = plain_registry.ref("acme/web:nope")
    result = cli("inspect", ref)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"{ref}: no such tag 'nope' in {plain_registry.host}/acme/web (it has: 1.0)\n"


def test_inspect_unknown_image(cli, plain_registry, docker_config):
    ref = plain_registry.ref("acme/nothing:1.0")
    result = cli("inspect", ref)
    assert result.code == 1
    assert result.err == f"{ref}: unknown image: {plain_registry.host}/acme/nothing does not exist\n"


def test_inspect_unreachable_registry(cli, docker_config):
    from tests.support.registries import free_port

    ref = f"127.0.0.1:{free_port()}/acme/web:1.0"
    result = cli("inspect", ref)
    assert result.code == 1
    assert result.err.startswith(f"{ref}: registry 127.0.0.1:") and "is unreachable" in result.err
    assert result.err.count("\n") == 1


def test_inspect_bad_reference_is_bad_input(cli):
    result = cli("inspect", "Not An/Image::")
    assert result.code == 2
    assert result.err.startswith("IMAGE: error: 'Not An/Image::'")


@pytest.mark.parametrize(
    ("ca", "said"),
    [
        ("missing.pem", "cannot read it: No such file or directory"),
        (".", "cannot read it: Is a directory"),
        ("/dev/zero", "cannot read it: larger than 16 MB"),
        ("notes.txt", "holds no PEM certificate"),
    ],
)
def test_a_ca_file_that_is_no_ca_file_is_bad_input_named_so(cli, tmp_path, monkeypatch, ca, said, write_spec):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    result = cli("inspect", "127.0.0.1:1/acme/web:1", "--ca-file", ca)
    assert result.code == 2 and result.err.startswith(f"--ca-file: error: {ca}: {said}"), result.err
    spec = write_spec(MINIMAL)
    result = cli("render", str(spec), "--out", str(tmp_path / "out"), "--pin-digests", "--ca-file", ca)
    assert result.code == 2 and result.err.startswith(f"--ca-file: error: {ca}: {said}"), result.err
    assert not (tmp_path / "out").exists()


def test_inspect_basic_auth_and_tls_with_login(cli, secure_registry, docker_config):
    login(docker_config, secure_registry.host)
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref, "--ca-file", str(secure_registry.ca_file), "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["digest"] == secure_registry.digests["acme/web:1.0"]
    assert PASSWORD not in result.out + result.err


def test_a_ca_bundle_with_a_byte_order_mark_and_comments_in_any_language_is_read(
    cli, secure_registry, docker_config, tmp_path
):
    login(docker_config, secure_registry.host)
    bundle = tmp_path / "bundle.pem"
    comment = "# Issuer: Főtanúsítvány\n".encode() + "# café\n".encode("latin-1")
    bundle.write_bytes(b"\xef\xbb\xbf" + comment + secure_registry.ca_file.read_bytes())
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref, "--ca-file", str(bundle), "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["digest"] == secure_registry.digests["acme/web:1.0"]


def test_inspect_basic_auth_without_login_is_unauthorised(cli, secure_registry, docker_config):
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref, "--ca-file", str(secure_registry.ca_file))
    assert result.code == 1
    assert result.err == (
        f"{ref}: unauthorised: the registry wants a login; run `docker login {secure_registry.host}`\n"
    )


def test_inspect_basic_auth_wrong_password(cli, secure_registry, docker_config):
    login(docker_config, secure_registry.host, password="wrong-password")
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref, "--ca-file", str(secure_registry.ca_file))
    assert result.code == 1
    assert result.err == (
        f"{ref}: unauthorised: the registry refused the login for {secure_registry.host} "
        "in Docker's config file\n"
    )


def test_inspect_tls_untrusted_without_ca(cli, secure_registry, docker_config):
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref)
    assert result.code == 1
    assert result.err == (
        f"{ref}: the TLS certificate of {secure_registry.host} is not trusted; give its CA with --ca-file\n"
    )


def test_inspect_tls_ca_from_ssl_cert_file(cli, secure_registry, docker_config, monkeypatch):
    login(docker_config, f"https://{secure_registry.host}/v2/")
    monkeypatch.setenv("SSL_CERT_FILE", str(secure_registry.ca_file))
    result = cli("inspect", secure_registry.ref("acme/multi:1.0"), "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["platform"] == "linux/amd64"


def test_inspect_bearer_token_anonymous(cli, token_registry, docker_config):
    registry, server = token_registry
    result = cli("inspect", registry.ref("acme/ports:1.0"), "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["digest"] == registry.digests["acme/ports:1.0"]
    assert "repository:acme/ports:pull" in server.scopes


def test_inspect_bearer_token_with_login(cli, token_registry, docker_config):
    registry, _ = token_registry
    login(docker_config, registry.host)
    result = cli("inspect", registry.ref("private/web:1.0"), "--output", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["digest"] == registry.digests["private/web:1.0"]


def test_inspect_bearer_token_refused_without_login(cli, token_registry, docker_config):
    registry, _ = token_registry
    ref = registry.ref("private/web:1.0")
    result = cli("inspect", ref)
    assert result.code == 1
    assert (
        result.err == f"{ref}: unauthorised: the registry wants a login; run `docker login {registry.host}`\n"
    )


def test_inspect_credentials_never_printed(cli, token_registry, docker_config):
    registry, _ = token_registry
    login(docker_config, registry.host, password="do-not-print-me")
    result = cli("--debug", "inspect", registry.ref("private/web:1.0"))
    assert "do-not-print-me" not in result.out + result.err


@pytest.mark.parametrize("platform", ["linux", "linux amd64", "a/b/c/d"])
def test_inspect_bad_platform_is_bad_input(cli, platform):
    result = cli("inspect", "127.0.0.1:1/a:b", "--platform", platform)
    assert result.code == 2 and result.err.startswith("--platform: error:")


def test_inspect_tampered_manifest_is_refused(cli, tampering_registry, docker_config):
    ref = tampering_registry.ref("acme/web:1.0")
    result = cli("inspect", ref)
    assert result.code == 1
    digest = tampering_registry.digests["acme/web:1.0"]
    assert result.err.startswith(f"{ref}: the manifest's digest is sha256:")
    assert result.err.endswith(f", but {digest} was expected\n")


def test_inspect_tampered_manifest_by_digest_is_refused(cli, tampering_registry, docker_config):
    digest = tampering_registry.digests["acme/ports:1.0"]
    result = cli("inspect", f"{tampering_registry.host}/acme/ports@{digest}")
    assert result.code == 1 and f"but {digest} was expected" in result.err


def test_registry_fixture_leaves_no_process(tmp_path):
    import socket

    from tests.support.registries import running_registry

    with running_registry(tmp_path) as host:
        port = int(host.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def credential_helper(folder, monkeypatch, host: str) -> None:
    """A real `docker-credential-unhazzletest` program on PATH, speaking Docker's helper protocol."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-unhazzletest"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        f'if [ "$1" = get ] && [ "$server" = "{host}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
        'else echo "credentials not found in native keychain"; exit 1; fi\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_inspect_login_from_credential_store(cli, secure_registry, docker_config, monkeypatch):
    credential_helper(docker_config, monkeypatch, secure_registry.host)
    (docker_config / "config.json").write_text('{"credsStore": "unhazzletest"}')
    ref = secure_registry.ref("acme/web:1.0")
    result = cli("inspect", ref, "--ca-file", str(secure_registry.ca_file))
    assert result.code == 0, result.err
    assert PASSWORD not in result.out


def test_inspect_login_from_credential_helper_per_registry(cli, token_registry, docker_config, monkeypatch):
    registry, _ = token_registry
    credential_helper(docker_config, monkeypatch, registry.host)
    (docker_config / "config.json").write_text(json.dumps({"credHelpers": {registry.host: "unhazzletest"}}))
    result = cli("inspect", registry.ref("private/web:1.0"))
    assert result.code == 0, result.err


def test_inspect_credential_helper_without_login_is_unauthorised(
    cli, token_registry, docker_config, monkeypatch
):
    registry, _ = token_registry
    credential_helper(docker_config, monkeypatch, "elsewhere.example")
    (docker_config / "config.json").write_text('{"credsStore": "unhazzletest"}')
    result = cli("inspect", registry.ref("private/web:1.0"))
    assert result.code == 1 and "unauthorised" in result.err


def test_inspect_index_text_names_platform_and_its_manifest(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/multi:1.0"), "--platform", "linux/arm64")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[1] == f"  digest       {plain_registry.digests['acme/multi:1.0']}"
    assert lines[2] == "  platform     linux/arm64 (the image has linux/amd64, linux/arm64)"
    assert lines[3].startswith("  manifest     sha256:") and lines[3] != lines[1].replace(
        "digest  ", "manifest"
    )
    assert "env          ARCH=arm64" in result.out


def test_inspect_names_the_folders_an_image_writes_to(cli, plain_registry, docker_config):
    result = cli("inspect", plain_registry.ref("acme/writes:1.0"))
    assert result.code == 0, result.err
    assert "volumes      /tmp, /var/cache/nginx, /var/lib/app/" in result.out
    assert (
        "note: it writes to /var/cache/nginx, /var/lib/app; give the app writable: [/var/cache/nginx, /var/lib/app]"
        in result.out
    )
