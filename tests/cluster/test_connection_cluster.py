"""Connecting to the real API server over TLS (cluster/kubeconfig.py, credentials.py, transport.py):
client certificates as files, as inline data and from a credential plugin; a merged $KUBECONFIG;
tls-server-name; a server certificate we must not trust; a service account token as a pod has it."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from unhazzle.observe import reads
from unhazzle.reconciler.cluster import kubeconfig
from unhazzle.reconciler.cluster.client import ClusterError, connect
from unhazzle.reconciler.cluster.transport import Transport
from unhazzle.reconciler.objects import Ref

DEFAULT = Ref("v1", "Namespace", "", "default")
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}

pytestmark = pytest.mark.cluster


def admin(cluster: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(cluster.kubeconfig).read_text())
    return doc


def write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def who(transport: Transport) -> str:
    answer = transport.request(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=REVIEW, timeout=10
    )
    assert answer.status == 201, answer.data
    return str(json.loads(answer.data)["status"]["userInfo"]["username"])


def test_client_certificate_files_and_inline_data_both_connect(cluster: Any, tmp_path: Path) -> None:
    doc = admin(cluster)
    assert connect(str(cluster.kubeconfig)).get(DEFAULT) is not None
    user, entry = doc["users"][0]["user"], doc["clusters"][0]["cluster"]
    for key in ("client-certificate", "client-key"):
        user[f"{key}-data"] = base64.b64encode(Path(user.pop(key)).read_bytes()).decode()
    entry["certificate-authority-data"] = base64.b64encode(
        Path(entry.pop("certificate-authority")).read_bytes()
    ).decode()
    inline = write(tmp_path / "inline", doc)
    assert connect(inline).get(DEFAULT) is not None
    assert reads.connect(inline).get("/version", where="version")["major"] == "1"


def test_a_kubeconfig_list_merges_the_cluster_of_one_file_with_the_user_of_another(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = admin(cluster)
    users = write(tmp_path / "users", {**doc, "clusters": [], "current-context": ""})
    clusters = write(tmp_path / "clusters", {**doc, "users": [], "contexts": []})
    monkeypatch.setenv("KUBECONFIG", f"{users}:{clusters}")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert connect(None, "unhazzle-dev").get(DEFAULT) is not None


def test_tls_server_name_is_the_name_checked_in_the_servers_certificate(cluster: Any, tmp_path: Path) -> None:
    doc = admin(cluster)
    doc["clusters"][0]["cluster"]["tls-server-name"] = "kubernetes.default.svc"  # one of its names
    assert connect(write(tmp_path / "right", doc)).get(DEFAULT) is not None
    doc["clusters"][0]["cluster"]["tls-server-name"] = "elsewhere.example"
    with pytest.raises(ClusterError, match=r"does not answer \(its certificate is not trusted\)"):
        connect(write(tmp_path / "wrong", doc), timeout=5).get(DEFAULT)


def test_a_server_certificate_from_another_authority_is_refused_unless_told_to_skip(
    cluster: Any, tmp_path: Path
) -> None:
    doc = admin(cluster)
    entry = doc["clusters"][0]["cluster"]
    # A real certificate, but not of the authority that signed the server's: the client's own.
    entry["certificate-authority"] = doc["users"][0]["user"]["client-certificate"]
    with pytest.raises(ClusterError, match=r"does not answer \(its certificate is not trusted\)"):
        connect(write(tmp_path / "other-ca", doc), timeout=5).get(DEFAULT)
    del entry["certificate-authority"]
    entry["insecure-skip-tls-verify"] = True
    assert connect(write(tmp_path / "skip", doc)).get(DEFAULT) is not None


def test_a_credential_plugin_can_hand_out_the_client_certificate(cluster: Any, tmp_path: Path) -> None:
    doc = admin(cluster)
    user = doc["users"][0]["user"]
    plugin = tmp_path / "cert-plugin"
    plugin.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json
        print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                          "status": {{"clientCertificateData": open({user['client-certificate']!r}).read(),
                                      "clientKeyData": open({user['client-key']!r}).read()}}}}))
    """))  # fmt: skip
    plugin.chmod(0o755)
    doc["users"][0]["user"] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}
    }
    assert connect(write(tmp_path / "plugin", doc)).get(DEFAULT) is not None


def test_a_pods_service_account_token_and_ca(cluster: Any, tmp_path: Path) -> None:
    cluster.kubectl("create", "serviceaccount", "probe", "-n", "default", check=False)
    token = cluster.kubectl("create", "token", "probe", "-n", "default").stdout.strip()
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_bytes(
        Path(admin(cluster)["clusters"][0]["cluster"]["certificate-authority"]).read_bytes()
    )
    port = cluster.server.rsplit(":", 1)[1]
    settings = kubeconfig.in_cluster(
        {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}, folder
    )
    assert who(Transport(settings)) == "system:serviceaccount:default:probe"
