"""Image references are read the way Docker reads them; bad ones say which part is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unhazzle.compiler.images.credentials import credentials_for
from unhazzle.compiler.images.reference import BadReference, parse_reference
from unhazzle.compiler.images.registry import parse_challenge

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "api", "repository", "tag", "digest"),
    [
        ("redis", "docker.io", "registry-1.docker.io", "library/redis", "latest", None),
        ("redis:7.2-alpine", "docker.io", "registry-1.docker.io", "library/redis", "7.2-alpine", None),
        ("bitnami/redis:7", "docker.io", "registry-1.docker.io", "bitnami/redis", "7", None),
        ("docker.io/redis", "docker.io", "registry-1.docker.io", "library/redis", "latest", None),
        ("index.docker.io/acme/web:1", "docker.io", "registry-1.docker.io", "acme/web", "1", None),
        ("ghcr.io/acme/shop-web:1.4.2", "ghcr.io", "ghcr.io", "acme/shop-web", "1.4.2", None),
        ("localhost:5000/web", "localhost:5000", "localhost:5000", "web", "latest", None),
        ("localhost/web:2", "localhost", "localhost", "web", "2", None),
        ("127.0.0.1:5000/a/b/c:x", "127.0.0.1:5000", "127.0.0.1:5000", "a/b/c", "x", None),
        (f"ghcr.io/acme/api@{DIGEST}", "ghcr.io", "ghcr.io", "acme/api", None, DIGEST),
        (f"ghcr.io/acme/api:1.0@{DIGEST}", "ghcr.io", "ghcr.io", "acme/api", "1.0", DIGEST),
    ],
)
def test_reference_parses_like_docker(text, registry, api, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.api_host, ref.repository, ref.tag, ref.digest) == (
        registry,
        api,
        repository,
        tag,
        digest,
    )
    assert parse_reference(str(ref)) == ref


def test_reference_pinned_keeps_tag_and_adds_digest():
    ref = parse_reference("ghcr.io/acme/web:1.0").pinned(DIGEST)
    assert str(ref) == f"ghcr.io/acme/web:1.0@{DIGEST}"
    assert ref.reference == DIGEST


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "not an image reference"),
        ("Web:1", "not a repository name"),
        ("ghcr.io/acme/web:", "not a tag"),
        ("ghcr.io/acme/web@sha256:123", "not a sha256 digest"),
        ("ghcr.io/acme/web:-x", "not a tag"),
        (" web", "not an image reference"),
        ("bad_host:99999x/web", "not a registry host"),
    ],
)
def test_reference_bad_names_the_part(text, part):
    with pytest.raises(BadReference, match=part):
        parse_reference(text)


@given(st.text(max_size=80))
def test_reference_hostile_text_never_crashes(text):
    try:
        ref = parse_reference(text)
    except BadReference as exc:
        assert str(exc)
    else:
        assert parse_reference(str(ref)) == ref


def test_challenge_bearer_params():
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/redis:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/redis:pull",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    assert parse_challenge("") == ("", {})


def test_credentials_docker_hub_aliases_and_bad_entries(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(
        '{"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},'
        ' "bad.example": {"auth": "!!notbase64"}, "ghcr.io": {"username": "u", "password": "p"}}}'
    )
    hub = credentials_for("docker.io", config)
    assert hub is not None and (hub.username, hub.password) == ("user", "pass")
    assert "pass" not in repr(hub)
    assert credentials_for("bad.example", config) is None
    ghcr = credentials_for("ghcr.io", config)
    assert ghcr is not None and ghcr.username == "u"
    assert credentials_for("quay.io", config) is None
    config.write_text("not json")
    assert credentials_for("ghcr.io", config) is None
