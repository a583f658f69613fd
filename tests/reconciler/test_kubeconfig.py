"""Connection settings read as kubectl reads them (cluster/kubeconfig.py, cluster/credentials.py):
real files in a temp folder, real credential plugin scripts, and in-cluster service accounts
from folders of our own. The requests themselves are in test_transport.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.kubeconfigs import PluginScript, b64, config, one, write
from unhazzle.errors import OperationError
from unhazzle.reconciler.cluster import credentials, kubeconfig
from unhazzle.reconciler.cluster.client import connect
from unhazzle.reconciler.cluster.credentials import CredentialsFailed, Unusable

# -- which file, which context ---------------------------------------------------------------


def test_kubeconfig_list_is_merged_first_file_wins_each_name_and_the_current_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(tmp_path / "a", config(
        current="a", clusters={"shared": {"server": "https://first:6443"}},
        users={"shared": {"token": "first-token"}}, contexts={"a": ("shared", "shared")},
    ))  # fmt: skip
    second = write(tmp_path / "b", config(
        current="b", clusters={"shared": {"server": "https://second:6443"}, "own": {"server": "https://own:6443"}},
        users={"shared": {"token": "second-token"}, "own": {"token": "own-token"}},
        contexts={"b": ("own", "own"), "mixed": ("shared", "own")},
    ))  # fmt: skip
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(missing), str(second)]))

    chosen = kubeconfig.find(None)
    assert (chosen.server, chosen.credentials.authorization()) == ("https://first:6443", "Bearer first-token")
    own = kubeconfig.find(None, "b")  # a context only the second file has
    assert (own.server, own.credentials.authorization()) == ("https://own:6443", "Bearer own-token")
    mixed = kubeconfig.find(None, "mixed")  # the second file's context, the first file's cluster
    assert (mixed.server, mixed.credentials.authorization()) == ("https://first:6443", "Bearer own-token")


def test_an_explicit_file_is_the_only_one_read_and_home_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write(home / ".kube" / "config", config(current="h", clusters={"h": {"server": "https://home"}}, contexts={"h": ("h", "")}))  # fmt: skip
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert kubeconfig.find(None).server == "https://home"
    assert kubeconfig.find(str(one(tmp_path))).server == "https://k.example:6443"  # no trailing slash


def test_the_context_asked_for_wins_over_the_current_one_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "config", config(
        current="dev", clusters={"dev": {"server": "https://dev"}, "prod": {"server": "https://prod"}},
        contexts={"dev": ("dev", "x"), "prod": ("prod", "x"), "broken": ("gone", "x")},
    ))  # fmt: skip
    assert kubeconfig.find(str(path)).server == "https://dev"
    assert kubeconfig.find(str(path), "prod").server == "https://prod"
    with pytest.raises(Unusable, match=r"^no context named 'qa'; it has dev, prod, broken$"):
        kubeconfig.find(str(path), "qa")
    with pytest.raises(Unusable, match=r"^the context 'broken' names a cluster 'gone' that is not defined$"):
        kubeconfig.find(str(path), "broken")


def test_relative_paths_are_relative_to_the_file_that_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    (folder / "pki").mkdir(parents=True)
    (folder / "pki" / "ca.crt").write_text("CA PEM")
    (folder / "pki" / "token").write_text("from-the-file\n")
    path = one(folder, cluster={"server": "https://k", "certificate-authority": "pki/ca.crt"},
               user={"tokenFile": "pki/token"})  # fmt: skip
    monkeypatch.chdir(tmp_path)  # not the file's folder
    settings = kubeconfig.find(str(path))
    assert settings.ca_pem == "CA PEM"
    assert settings.credentials.authorization() == "Bearer from-the-file"


def test_inline_data_wins_over_a_file_and_is_decoded(tmp_path: Path) -> None:
    path = one(tmp_path, cluster={"server": "https://k", "certificate-authority": "nowhere.crt",
                                  "certificate-authority-data": b64("INLINE CA")},
               user={"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")})  # fmt: skip
    settings = kubeconfig.find(str(path))
    assert settings.ca_pem == "INLINE CA"
    assert settings.credentials.client_cert() == (b"CERT", b"KEY")
    assert settings.credentials.authorization() is None  # a client certificate says who we are


@pytest.mark.parametrize(
    ("cluster", "user", "reason"),
    [
        ({"server": "https://k", "certificate-authority-data": "not base64!"}, {},
         "certificate-authority-data is not base64-encoded PEM"),
        ({"server": "https://k", "certificate-authority": "missing.crt"}, {}, "cannot read the cluster's CA"),
        ({"server": ""}, {}, "the cluster has no server address"),
        ({"server": "https://k", "proxy-url": "socks5://proxy:1080"}, {}, "only http and https proxies"),
        ({"server": "https://k"}, {"client-certificate-data": b64("CERT")}, "a client certificate without its key"),
        ({"server": "https://k"}, {"auth-provider": {"name": "gcp"}},
         "'gcp' auth-provider, which kubectl no longer supports; use an exec credential plugin"),
        ({"server": "https://k"}, {"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}},
         "apiVersion 'client.authentication.k8s.io/v1alpha1' is not one of"),
    ],
    ids=["bad-data", "missing-ca", "no-server", "socks", "cert-no-key", "auth-provider", "old-exec"],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused_in_plain_words(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unusable) as refused:
        kubeconfig.find(str(one(tmp_path, cluster=cluster, user=user)))
    assert reason in str(refused.value)


def test_a_refused_setting_reaches_the_user_as_one_line_naming_the_file(tmp_path: Path) -> None:
    path = one(tmp_path, user={"auth-provider": {"name": "azure"}})
    with pytest.raises(OperationError) as refused:
        connect(str(path))
    assert str(refused.value).startswith(
        f"{path}: cannot load cluster settings: the user signs in with the 'azure'"
    )


# -- credentials that change -----------------------------------------------------------------


def test_a_token_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    settings = kubeconfig.find(str(one(tmp_path, user={"tokenFile": str(token)})))
    assert settings.credentials.authorization() == "Bearer first"
    token.write_text("second, rotated")
    assert settings.credentials.authorization() == "Bearer second, rotated"


def test_a_token_file_is_read_again_every_minute_even_if_it_looks_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("aaaa")
    source = credentials.TokenFile(token)
    assert source.token(now=0.0) == "aaaa"
    stat = token.stat()
    token.write_text("bbbb")  # same size; put the old times back: nothing to see
    os.utime(token, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert source.token(now=30.0) == "aaaa"
    assert source.token(now=credentials.REREAD_S) == "bbbb"


def test_the_service_account_inside_a_cluster(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token-1")
    (tmp_path / "ca.crt").write_text("SA CA")
    environ = {"KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"}
    settings = kubeconfig.in_cluster(environ, tmp_path)
    assert (settings.server, settings.ca_pem) == ("https://[fd00:10:96::1]:443", "SA CA")
    assert settings.credentials.authorization() == "Bearer sa-token-1"
    (tmp_path / "token").write_text("sa-token-2")  # the kubelet rotated it
    assert settings.credentials.authorization() == "Bearer sa-token-2"
    v4 = kubeconfig.in_cluster(
        {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, tmp_path
    )
    assert v4.server == "https://10.96.0.1:443"


def test_the_service_account_is_refused_plainly_when_a_part_is_missing(tmp_path: Path) -> None:
    with pytest.raises(Unusable, match="KUBERNETES_SERVICE_HOST/PORT are not set"):
        kubeconfig.in_cluster({}, tmp_path)
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(Unusable, match=r"service account token .*token is missing"):
        kubeconfig.in_cluster(environ, tmp_path)


# -- exec credential plugins -----------------------------------------------------------------


def test_an_exec_plugin_runs_once_and_its_token_is_kept_until_it_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = PluginScript(tmp_path)
    monkeypatch.chdir("/")  # the command ./bin/login is relative to the kubeconfig, not here
    creds = kubeconfig.find(str(plugin.kubeconfig())).credentials
    assert plugin.runs() == []  # not before it is needed
    assert creds.authorization() == "Bearer token-1"
    assert creds.authorization() == "Bearer token-1"
    assert len(plugin.runs()) == 1
    later = time.time() + 61  # past the expirationTimestamp
    creds.clock = lambda: later
    assert creds.authorization() == "Bearer token-2"
    creds.clock = time.time  # token-2 is good for a minute from now
    assert creds.authorization() == "Bearer token-2"
    assert creds.refresh() is True  # the server answered 401: run it again
    assert creds.authorization() == "Bearer token-3"
    assert len(plugin.runs()) == 3


def test_an_exec_plugin_gets_its_args_env_and_the_cluster_info(tmp_path: Path) -> None:
    plugin = PluginScript(tmp_path)
    kubeconfig.find(str(plugin.kubeconfig())).credentials.prepare()
    (run,) = plugin.runs()
    assert run["args"] == ["--fast"] and run["env"] == "ci"
    assert run["info"] == {
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
        "spec": {"interactive": False, "cluster": {
            "server": "https://k:6443", "certificate-authority-data": b64("CA"), "config": {"audience": "k"}}},
    }  # fmt: skip


def test_an_exec_plugin_without_provide_cluster_info_gets_no_cluster(tmp_path: Path) -> None:
    plugin = PluginScript(tmp_path)
    kubeconfig.find(str(plugin.kubeconfig(cluster_info=False))).credentials.prepare()
    assert plugin.runs()[0]["info"]["spec"] == {"interactive": False}


def test_a_failing_exec_plugin_is_one_plain_line_with_what_it_said(tmp_path: Path) -> None:
    plugin = PluginScript(tmp_path, fail=True)
    path = plugin.kubeconfig()
    with pytest.raises(OperationError) as refused:
        connect(str(path))
    assert str(refused.value) == (
        f"{path}: cannot load cluster settings: the credential plugin '{tmp_path}/bin/login' failed (exit 3): "
        "your sign-in expired; run login again"
    )


def test_a_missing_exec_plugin_says_how_to_install_it(tmp_path: Path) -> None:
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "no-such-login-tool",
             "installHint": "brew install no-such-login-tool"}  # fmt: skip
    settings = kubeconfig.find(str(one(tmp_path, user={"exec": exec_})))
    with pytest.raises(CredentialsFailed, match=r"'no-such-login-tool' is not installed; brew install"):
        settings.credentials.prepare()
