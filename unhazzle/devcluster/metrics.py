"""The metrics API (metrics.k8s.io) on the local control plane: what unhazzle.devcluster.cluster adds.

The wiring is kwokctl's binary runtime (sigs.k8s.io/kwok v0.8.0, pkg/kwokctl/components/
metrics_server.go and manifest_converter.go), on loopback only:

- kwok emulates each node's kubelet resource metrics (the `Metric` object below) at
  /metrics/nodes/<node>/metrics/resource on its server; every node carries the annotation that tells
  metrics-server that path, and its status names 127.0.0.1 and kwok's port (kwok's --node-ip and
  --node-port), which metrics-server uses with --kubelet-use-node-status-port.
- How busy an instance is comes from kwok's `ClusterResourceUsage`: the annotations
  `kwok.x-k8s.io/usage-cpu` / `usage-memory` on the instance, else 1m CPU and 1 MiB.
- The API server's aggregator reaches metrics-server through an APIService whose Service is an
  ExternalName `127.0.0.1` (Endpoints may not hold loopback addresses, so no
  --enable-aggregator-routing), verifying its serving certificate (SAN metrics-server.kube-system.svc)
  against our CA; it authenticates itself with a front-proxy client certificate and passes the
  caller's identity in request headers, which metrics-server trusts from that certificate only.

Pure: argv, objects and certificate extensions; devcluster starts, registers and waits.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

BINARY = "metrics-server"
NAMESPACE = "kube-system"
SERVICE = "metrics-server"
APISERVICE = "v1beta1.metrics.k8s.io"
PODS_PATH = "/apis/metrics.k8s.io/v1beta1/pods"
# The smallest resolution metrics-server accepts; CPU is a rate, so it shows after two scrapes.
RESOLUTION = "10s"
USAGE_CPU = "kwok.x-k8s.io/usage-cpu"
USAGE_MEMORY = "kwok.x-k8s.io/usage-memory"
PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"
PROXY_CLIENT = "front-proxy-client"  # the CN metrics-server accepts identity headers from

# (file stem in pki/, subject, X.509v3 extensions) for the two certificates this wiring needs.
CERTS = (
    (
        "metrics-server",
        "/CN=metrics-server",
        f"subjectAltName=DNS:{SERVICE}.{NAMESPACE}.svc,IP:127.0.0.1\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    ),
    (
        PROXY_CLIENT,
        f"/CN={PROXY_CLIENT}",
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    ),
)


def available(bin_dir: Path) -> bool:
    """metrics-server is optional: older caches built before it still start a plane without it."""
    return (bin_dir / BINARY).is_file()


def apiserver_flags(pki: Path) -> list[str]:
    """The aggregator's side: who may assert identities, and the certificate it proxies with."""
    return [
        f"--requestheader-client-ca-file={pki / 'ca.crt'}",
        f"--requestheader-allowed-names={PROXY_CLIENT}",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={pki / (PROXY_CLIENT + '.crt')}",
        f"--proxy-client-key-file={pki / (PROXY_CLIENT + '.key')}",
    ]


def argv(bin_dir: Path, pki: Path, *, port: int, kubeconfig: Path) -> list[str]:
    return [
        str(bin_dir / BINARY), "--bind-address=127.0.0.1", f"--secure-port={port}",
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--tls-cert-file={pki / 'metrics-server.crt'}",
        f"--tls-private-key-file={pki / 'metrics-server.key'}",
        # kwok's per-node endpoint: 127.0.0.1 at the port in the node's status, serving a
        # certificate from our CA (kwokctl uses --kubelet-insecure-tls; we can verify).
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'admin.crt'}",
        f"--kubelet-client-key={pki / 'admin.key'}",
        f"--metric-resolution={RESOLUTION}", "--kubelet-request-timeout=5s", "--v=1",
    ]  # fmt: skip


# kwok's kustomize/metrics/resource/metrics-resource.yaml: (series, dimension, kind, CEL value).
_CPU, _MEMORY = 'pod.CumulativeUsage("cpu", container.name)', 'pod.Usage("memory", container.name)'
SERIES = (
    ("scrape_error", "node", "gauge", "0"),
    ("container_start_time_seconds", "container", "gauge", "pod.SinceSecond()"),
    ("container_cpu_usage_seconds_total", "container", "counter", _CPU),
    ("container_memory_working_set_bytes", "container", "gauge", _MEMORY),
    ("pod_cpu_usage_seconds_total", "pod", "counter", 'pod.CumulativeUsage("cpu")'),
    ("pod_memory_working_set_bytes", "pod", "gauge", 'pod.Usage("memory")'),
    ("node_cpu_usage_seconds_total", "node", "counter", 'node.CumulativeUsage("cpu")'),
    ("node_memory_working_set_bytes", "node", "gauge", 'node.Usage("memory")'),
)
_POD = (("namespace", "pod.metadata.namespace"), ("pod", "pod.metadata.name"))
LABELS = {"container": (("container", "container.name"), *_POD), "pod": _POD, "node": ()}


def _series(name: str, dimension: str, kind: str, value: str) -> dict[str, Any]:
    labels = [{"name": label, "value": expr} for label, expr in LABELS[dimension]]
    return {"name": name, "dimension": dimension, "kind": kind, "help": name, "value": value} | (
        {"labels": labels} if labels else {}
    )


def _from_annotation(key: str, default: str) -> dict[str, str]:
    found = "pod.metadata.annotations"
    return {"expression": f'"{key}" in {found} ? Quantity({found}["{key}"]) : Quantity("{default}")'}


def kwok_config() -> list[dict[str, Any]]:
    """kwok's metrics emulation: the kubelet's resource metrics, and usage from annotations."""
    usage = {"cpu": _from_annotation(USAGE_CPU, "1m"), "memory": _from_annotation(USAGE_MEMORY, "1Mi")}
    return [
        {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Metric",
         "metadata": {"name": "metrics-resource"},
         "spec": {"path": "/metrics/nodes/{nodeName}/metrics/resource",
                  "metrics": [_series(*row) for row in SERIES]}},
        {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterResourceUsage",
         "metadata": {"name": "usage-from-annotation"}, "spec": {"usages": [{"usage": usage}]}},
    ]  # fmt: skip


def node_annotations(node: str) -> dict[str, str]:
    return {PATH_ANNOTATION: f"/metrics/nodes/{node}/metrics/resource"}


def objects(pki: Path, *, port: int) -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) to create, in order: the Service, then the APIService on it."""
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE},
        "spec": {"type": "ExternalName", "externalName": "127.0.0.1"},
    }  # fmt: skip
    ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
    apiservice = {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": APISERVICE},
        "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "caBundle": ca,
                 "service": {"name": SERVICE, "namespace": NAMESPACE, "port": port},
                 "groupPriorityMinimum": 100, "versionPriority": 100},
    }  # fmt: skip
    return [
        (f"/api/v1/namespaces/{NAMESPACE}/services", service),
        ("/apis/apiregistration.k8s.io/v1/apiservices", apiservice),
    ]
