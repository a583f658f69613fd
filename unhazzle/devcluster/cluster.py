"""A local Kubernetes control plane for trying unhazzle without a cloud.

It runs the real components (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) plus
kwok, which fakes nodes and the kubelet so pods are scheduled and become Running, and, when built,
metrics-server for the metrics API (wired as unhazzle.devcluster.metrics describes). The binaries are
built by ``unhazzle/devcluster/builder/build.sh`` into a cache keyed by Kubernetes version; this module only
locates and runs them. Everything listens on 127.0.0.1 only.

State (certificates, etcd data, logs, process ids, the admin kubeconfig) lives in one directory,
so ``up`` and ``down`` can run in different processes: ``python -m unhazzle.devcluster.cluster up``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unhazzle.devcluster import metrics as devmetrics
from unhazzle.devcluster import node as realnode
from unhazzle.shared import readlimit
from unhazzle.shared.names import MANAGED_BY, OURS, PLATFORM_NAMESPACE

# Must match unhazzle/devcluster/builder/versions.env (a test checks): the cache is keyed by this version.
K8S_VERSION = "v1.35.4"
# kubectl is not run here, but build.sh builds one matching the server for tests and humans.
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)
# Shipped in the package (so `pip install unhazzle` users can build too): `unhazzle dev-cluster build`.
BUILD_SCRIPT = Path(__file__).parent / "builder" / "build.sh"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
# The local plane's only disks: host directories, made by the controller manager on demand.
LOCAL_DISKS = "local-host-path"
# kwok only drives nodes carrying this annotation, so it never touches a node it did not fake.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
DEFAULT_NODES = ("kwok-node-0", "kwok-node-1")
# What a real node listens on (127.0.0.1 only), chosen like the plane's ports.
NODE_PORTS = ("kubelet", "kubelet_healthz", "proxy_healthz", "proxy_metrics")
STATE_FILE = "cluster.json"


class DevClusterError(RuntimeError):
    """The control plane could not be found, started or reached; the message says why."""


@dataclass
class ClusterState:
    """What ``down`` and a restart need: ports chosen at ``up`` and the running process ids."""

    state_dir: str
    bin_dir: str
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    scheduler_port: int
    kwok_port: int
    pids: dict[str, int]
    # 0 when the cache has no metrics-server (built before it was added): no metrics API then.
    metrics_server_port: int = 0
    # The real node's ports (kubelet, kube-proxy, ...); empty when the machines are simulated.
    node_ports: dict[str, int] = field(default_factory=dict)
    # Where the API server listens: loopback, or with a real node the node's bridge address, so
    # that instances (the reconciler installed in the cluster) reach it too.
    address: str = "127.0.0.1"
    # The controller manager's requests a second to the API server; 0: its own default (20, burst
    # 30), which sets the pace at which a large fleet's instances are made (the benchmarks raise it).
    controller_qps: int = 0

    @property
    def server(self) -> str:
        return f"https://{self.address}:{self.apiserver_port}"

    def save(self) -> None:
        path = Path(self.state_dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)  # atomic: a concurrent `down` never reads half a file

    @classmethod
    def load(cls, state_dir: Path) -> ClusterState | None:
        path = state_dir / STATE_FILE
        if not os.path.exists(path):  # False, not an error, for a name too long
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(**data)


# --- locating binaries -------------------------------------------------------------------------


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "unhazzle" / "dev-cluster"


def cache_bin_dir(version: str = K8S_VERSION) -> Path:
    """Where build.sh puts the binaries; UNHAZZLE_K8S_CACHE moves the whole cache."""
    root = os.environ.get("UNHAZZLE_K8S_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "unhazzle" / "k8s")
    return Path(root) / version / "bin"


def kwok_stages_dir(bin_dir: Path) -> Path:
    """build.sh copies kwok's default Stage objects next to the binaries."""
    return bin_dir.parent / "kwok-stages"


def find_binaries(bin_dir: Path | None = None) -> Path:
    """Return the directory holding every control-plane binary, or say how to build them."""
    where = bin_dir or Path(os.environ.get("UNHAZZLE_K8S_BIN") or cache_bin_dir())
    missing = [b for b in BINARIES if not os.access(where / b, os.X_OK)]
    if not list(kwok_stages_dir(where).glob("*.yaml")):
        missing.append(f"kwok stages ({kwok_stages_dir(where)})")
    if missing:
        raise DevClusterError(
            f"control-plane binaries missing from {where}: {', '.join(missing)}. "
            "Build them with `unhazzle dev-cluster build` "
            "(needs Go; 15-20 minutes the first time, cached afterwards)."
        )
    return where


# --- certificates ------------------------------------------------------------------------------


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DevClusterError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _ec_key(path: Path) -> None:
    # P-256 keys: generated instantly, and accepted for serving, client and service-account use.
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(path))
    path.chmod(0o600)


def signed_cert(pki: Path, name: str, subject: str, extensions: str) -> None:
    """Make pki/<name>.{key,crt} signed by pki/ca with the given X.509v3 extensions."""
    _ec_key(pki / f"{name}.key")
    csr, ext = pki / f"{name}.csr", pki / f"{name}.ext"
    ext.write_text(extensions + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl("req", "-new", "-key", str(pki / f"{name}.key"), "-subj", subject, "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey",
        str(pki / "ca.key"), "-CAcreateserial", "-days", "3650", "-sha256",
        "-extfile", str(ext), "-out", str(pki / f"{name}.crt"),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def make_pki(pki: Path) -> None:
    """CA, serving certs, admin client cert and service-account key pair (idempotent)."""
    if (pki / "admin.crt").exists():
        _apiserver_cert(pki)
        return  # a restart keeps the CA, so kubeconfigs handed out earlier stay valid
    pki.mkdir(parents=True, exist_ok=True)
    _ec_key(pki / "ca.key")
    _openssl(
        "req", "-x509", "-new", "-key", str(pki / "ca.key"), "-subj", "/CN=unhazzle-dev-ca",
        "-days", "3650", "-sha256", "-out", str(pki / "ca.crt"),
        # Explicit CA extensions: strict X.509 checkers (newer Pythons) require them.
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _apiserver_cert(pki)
    # Serving certificate for kwok's fake kubelet API, which the API server calls for logs.
    signed_cert(
        pki, "kubelet", "/CN=kwok-kubelet",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        "keyUsage=digitalSignature\n",
    )  # fmt: skip
    # O=system:masters makes the admin a cluster superuser without any RBAC objects.
    signed_cert(
        pki, "admin", "/O=system:masters/CN=unhazzle-admin",
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    )  # fmt: skip
    _ec_key(pki / "sa.key")
    _openssl("ec", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def _apiserver_cert(pki: Path) -> None:
    """The API server's serving certificate, made again when the addresses it must name change
    (a plane of an older version did not serve on the real node's bridge)."""
    service_ip = "10.96.0.1"  # first address of SERVICE_CIDR: the in-cluster `kubernetes` Service
    sans = (
        f"IP:127.0.0.1,IP:{realnode.GATEWAY},IP:{service_ip},DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    )
    record = pki / "apiserver.sans"
    if (pki / "apiserver.crt").exists() and record.exists() and record.read_text() == sans:
        return
    signed_cert(
        pki, "apiserver", "/CN=kube-apiserver",
        f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    )  # fmt: skip
    record.write_text(sans)


def make_metrics_pki(pki: Path) -> None:
    """The metrics API's certificates, each made once (also in a state dir made before them)."""
    for name, subject, extensions in devmetrics.CERTS:
        if not (pki / f"{name}.crt").exists():
            signed_cert(pki, name, subject, extensions)


def write_kubeconfig(path: Path, server: str, pki: Path, user: str = "admin") -> None:
    """A kubeconfig for the client certificate pki/<user>.crt (the admin's unless told);
    JSON is valid YAML, so no YAML writer is needed."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "unhazzle-dev",
                "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": "unhazzle-admin",
                "user": {
                    "client-certificate": str(pki / f"{user}.crt"),
                    "client-key": str(pki / f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "unhazzle-dev",
                "context": {"cluster": "unhazzle-dev", "user": "unhazzle-admin"},
            }
        ],
        "current-context": "unhazzle-dev",
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)


# --- processes ---------------------------------------------------------------------------------


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; macOS starts at 49152, so this is below either way


def free_port(taken: frozenset[int] = frozenset()) -> int:
    """A free loopback port below the kernel's ephemeral range. A port from `bind(0)` comes from
    that range, so between choosing it and a component listening on it, any outgoing connection
    (the API server dialling etcd, a client dialling the API server) may take it as its source
    port and the component dies with "address already in use"; ports below the range are only
    ever taken by someone listening on purpose."""
    low = max(_ephemeral_low(), 2048)
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        if port not in taken and _port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # a crowded range: any free port
        s.bind(("127.0.0.1", 0))
        fallback: int = s.getsockname()[1]
        return fallback


def _die_with_parent() -> None:
    # Runs in the child before exec: ask Linux to SIGKILL it when the parent dies, so a crashed
    # or SIGKILLed test run leaves no orphans even though no finalizer or atexit hook ran.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def spawn(name: str, argv: Sequence[str], log_dir: Path, tie_to_parent: bool) -> int:
    """Start one component in its own session (own process group) with output to its log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if tie_to_parent and sys.platform == "linux" else None,
        )
    return proc.pid


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False  # kill(-1, 0) would probe every process we may signal: never "alive"
    try:
        # Reap it if it is our own zombie child; otherwise kill(0) tells if it exists.
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    if pid <= 0:
        return  # killpg(0) would signal our own process group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_processes(pids: Sequence[int], grace: float = 10.0) -> None:
    """SIGTERM each component's process group together, SIGKILL what lingers past `grace`.

    Together, because each component takes a few seconds to shut down gracefully.
    """
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        _signal_group(pid, signal.SIGKILL)
    while any(_alive(p) for p in pids) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


def _log_tail(state_dir: Path, name: str, lines: int = 15) -> str:
    path = state_dir / "logs" / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- talking to the components -----------------------------------------------------------------


def _admin_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return ctx


def _unverified_context() -> ssl.SSLContext:
    # controller-manager and scheduler serve /healthz with a self-signed certificate of their own.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def http_status(url: str, ctx: ssl.SSLContext | None = None, timeout: float = 3.0) -> int:
    """HTTP status of a GET, or 0 when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as err:
        return err.code
    except (OSError, ssl.SSLError):
        return 0


def api_request(
    state: ClusterState, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """One call to the API server as the admin user: (status, decoded JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(state.server + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    ctx = _admin_context(Path(state.state_dir) / "pki")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_for(what: str, check: Callable[[], bool], timeout: float, state_dir: Path, log: str) -> None:
    """Poll `check` until true; fail with the component's log tail on timeout or its exit."""
    state = ClusterState.load(state_dir)
    pid = state.pids.get(log) if state else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not _alive(pid):
            # No point waiting out the timeout for a process that is already gone.
            raise DevClusterError(
                f"{log} exited while waiting for {what}; last lines of {log}.log:\n"
                + _log_tail(state_dir, log)
            )
        time.sleep(0.25)
    raise DevClusterError(
        f"timed out after {timeout:.0f}s waiting for {what}; last lines of {log}.log:\n"
        + _log_tail(state_dir, log)
    )


# --- component command lines -------------------------------------------------------------------


def etcd_argv(s: ClusterState) -> list[str]:
    d = Path(s.state_dir)
    client, peer = f"http://127.0.0.1:{s.etcd_port}", f"http://127.0.0.1:{s.etcd_peer_port}"
    return [
        f"{s.bin_dir}/etcd", "--name=dev", f"--data-dir={d / 'etcd'}",
        f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=dev={peer}", "--log-level=warn",
        # A throwaway local cluster: skipping fsync makes writes (and the tests) much faster.
        "--unsafe-no-fsync",
    ]  # fmt: skip


def apiserver_argv(s: ClusterState) -> list[str]:
    pki = Path(s.state_dir) / "pki"
    return [
        f"{s.bin_dir}/kube-apiserver",
        f"--etcd-servers=http://127.0.0.1:{s.etcd_port}",
        f"--bind-address={s.address}", f"--advertise-address={s.address}",
        f"--secure-port={s.apiserver_port}", f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC", "--allow-privileged=true",
        # kwok serves the kubelet API with a certificate from our CA: verify it like a kubelet's.
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'admin.crt'}",
        f"--kubelet-client-key={pki / 'admin.key'}",
        "--kubelet-preferred-address-types=InternalIP",
        "--profiling=false", "--v=1",
        *devmetrics.apiserver_flags(pki),
    ]  # fmt: skip


def controller_manager_argv(s: ClusterState, kubeconfig: Path) -> list[str]:
    pki = Path(s.state_dir) / "pki"
    return [
        f"{s.bin_dir}/kube-controller-manager", f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={s.controller_manager_port}",
        f"--cert-dir={pki / 'controller-manager'}", "--leader-elect=false",
        f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
        "--use-service-account-credentials=true",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--v=1",
        # Volumes for apps that ask for one: the controller manager's own host-path provisioner
        # (development only, one machine) behind the default StorageClass made in _storage_class.
        "--enable-hostpath-provisioner",
        *([f"--kube-api-qps={s.controller_qps}", f"--kube-api-burst={2 * s.controller_qps}"]
          if s.controller_qps else []),
    ]  # fmt: skip


def scheduler_argv(s: ClusterState, kubeconfig: Path) -> list[str]:
    pki = Path(s.state_dir) / "pki"
    return [
        f"{s.bin_dir}/kube-scheduler", f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={s.scheduler_port}",
        f"--cert-dir={pki / 'scheduler'}", "--leader-elect=false", "--v=1",
    ]  # fmt: skip


def kwok_argv(s: ClusterState, kubeconfig: Path) -> list[str]:
    key, value = KWOK_NODE_ANNOTATION
    pki = Path(s.state_dir) / "pki"
    return [
        f"{s.bin_dir}/kwok", f"--kubeconfig={kubeconfig}",
        # Our own config file (never ~/.kwok/kwok.yaml) with kwokctl's default "fast" stages:
        # nodes turn Ready and pods Running (and Ready) as soon as they are scheduled.
        f"--config={Path(s.state_dir) / 'kwok.yaml'}",
        "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={key}={value}",
        f"--cidr={POD_CIDR}", "--node-ip=127.0.0.1",
        # kwok plays every node's kubelet API (logs, exec) on this port; the API server calls it
        # over TLS as it would a kubelet, with a serving certificate from our CA (SAN 127.0.0.1).
        f"--server-address=127.0.0.1:{s.kwok_port}", f"--node-port={s.kwok_port}",
        f"--tls-cert-file={pki / 'kubelet.crt'}", f"--tls-private-key-file={pki / 'kubelet.key'}",
        "--node-lease-duration-seconds=40",
    ]  # fmt: skip


def write_kwok_config(state_dir: Path, bin_dir: Path) -> None:
    """kwok config: the default stages, and every container "logs" logs/containers.log."""
    logs = state_dir / "logs" / "containers.log"
    logs.parent.mkdir(parents=True, exist_ok=True)
    if not logs.exists():
        # CRI log format, which is what kwok (like a kubelet) reads and `kubectl logs` strips.
        logs.write_text(
            "2025-01-01T00:00:00.000000000Z stdout F fake container log line from kwok\n"
            "2025-01-01T00:00:01.000000000Z stderr F edit this file to change what logs show\n"
        )
    config = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": {"name": "all-pods"},
        "spec": {"logs": [{"logsFile": str(logs), "follow": True}]},
    }
    # The standalone kwok has no built-in stages; without Node and Pod stages it exits.
    stages = [f.read_text() for f in sorted(kwok_stages_dir(bin_dir).glob("*.yaml"))]
    extra = [config, *devmetrics.kwok_config()]  # metrics emulation: cheap, so always on
    docs = [*stages, *(json.dumps(doc, indent=2) + "\n" for doc in extra)]
    (state_dir / "kwok.yaml").write_text("---\n".join(docs))


# --- lifecycle ---------------------------------------------------------------------------------


def kubeconfig_path(state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / "kubeconfig"


def _start(s: ClusterState, name: str, argv: list[str], tie_to_parent: bool) -> None:
    s.pids[name] = spawn(name, argv, Path(s.state_dir) / "logs", tie_to_parent)
    s.save()  # saved after every start so `down` can clean up a half-started cluster


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _new_state(state_dir: Path, bin_dir: Path, real_node: bool, controller_qps: int = 0) -> ClusterState:
    """Fresh ports, except that a restarted cluster keeps its old ones where they are free:
    etcd's data remembers its peer URL, and kubeconfigs handed out keep working."""
    old = ClusterState.load(state_dir)

    chosen: set[int] = set()

    def keep(previous: int) -> int:
        if not (previous and previous not in chosen and _port_is_free(previous)):
            previous = free_port(frozenset(chosen))
        chosen.add(previous)
        return previous

    def port(name: str) -> int:
        return keep(getattr(old, name, 0) if old else 0)

    def port_of(name: str) -> int:  # a real node's port
        return keep(old.node_ports.get(name, 0) if old else 0)

    return ClusterState(
        state_dir=str(state_dir), bin_dir=str(bin_dir), etcd_port=port("etcd_port"),
        etcd_peer_port=port("etcd_peer_port"), apiserver_port=port("apiserver_port"),
        controller_manager_port=port("controller_manager_port"),
        scheduler_port=port("scheduler_port"), kwok_port=port("kwok_port"), pids={},
        metrics_server_port=port("metrics_server_port") if devmetrics.available(bin_dir) else 0,
        node_ports={name: port_of(name) for name in NODE_PORTS} if real_node else {},
        address=realnode.GATEWAY if real_node else "127.0.0.1", controller_qps=controller_qps,
    )  # fmt: skip


def _node_manifest(name: str) -> dict[str, Any]:
    key, value = KWOK_NODE_ANNOTATION
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0",
                            **devmetrics.node_annotations(name)},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        # No taint, unlike kwok's examples: ordinary workloads must schedule here unchanged.
        # Roomy simulated machines, since a test session leaves many environments running and a
        # full node would leave instances pending for reasons no test is about; but each stays
        # under 60 vCPU, the size the status tests use for an app that fits nowhere.
        # Disk too: every app asks for room for /tmp and its writable folders.
        "status": {"allocatable": {"cpu": "56", "memory": "1Ti", "ephemeral-storage": "1Ti", "pods": "1000"},
                   "capacity": {"cpu": "56", "memory": "1Ti", "ephemeral-storage": "1Ti", "pods": "1000"}},
    }  # fmt: skip


def _register_node(s: ClusterState, name: str) -> None:
    """Create a simulated machine; one a plane of an older version made gets today's size (its
    disk, which apps now ask for)."""
    wanted = _node_manifest(name)
    status, _ = api_request(s, "POST", "/api/v1/nodes", wanted)
    if status == 409:
        _, live = api_request(s, "GET", f"/api/v1/nodes/{name}")
        live["status"] = {**live.get("status", {}), **wanted["status"]}
        status, _ = api_request(s, "PUT", f"/api/v1/nodes/{name}/status", live)
    if status not in (200, 201):
        raise DevClusterError(f"creating node {name} failed ({status})")


def _nodes_ready(s: ClusterState, names: Sequence[str]) -> bool:
    status, body = api_request(s, "GET", "/api/v1/nodes")
    if status != 200:
        return False
    ready = {
        n["metadata"]["name"]
        for n in body.get("items", [])
        for c in n.get("status", {}).get("conditions", [])
        if c.get("type") == "Ready" and c.get("status") == "True"
    }
    return set(names) <= ready


def _start_control_plane(s: ClusterState, tie: bool) -> None:
    d, pki = Path(s.state_dir), Path(s.state_dir) / "pki"
    _start(s, "etcd", etcd_argv(s), tie)
    wait_for("etcd", lambda: http_status(f"http://127.0.0.1:{s.etcd_port}/health") == 200,
             60, d, "etcd")  # fmt: skip
    _start(s, "kube-apiserver", apiserver_argv(s), tie)
    wait_for("kube-apiserver /readyz", lambda: http_status(
        f"{s.server}/readyz", _admin_context(pki)) == 200, 90, d, "kube-apiserver")  # fmt: skip
    kubeconfig = kubeconfig_path(d)
    _start(s, "kube-controller-manager", controller_manager_argv(s, kubeconfig), tie)
    _start(s, "kube-scheduler", scheduler_argv(s, kubeconfig), tie)
    _start(s, "kwok", kwok_argv(s, kubeconfig), tie)
    if s.metrics_server_port:
        _start(s, devmetrics.BINARY, devmetrics.argv(Path(s.bin_dir), pki,
               port=s.metrics_server_port, kubeconfig=kubeconfig), tie)  # fmt: skip


def _healthz_check(port: int) -> Callable[[], bool]:
    url = f"https://127.0.0.1:{port}/healthz"
    return lambda: http_status(url, _unverified_context()) == 200


def _wait_workers(s: ClusterState, nodes: Sequence[str], timeout: float) -> None:
    d = Path(s.state_dir)
    for port, name in ((s.controller_manager_port, "kube-controller-manager"),
                       (s.scheduler_port, "kube-scheduler")):  # fmt: skip
        wait_for(name, _healthz_check(port), timeout, d, name)
    wait_for("kwok", _healthz_check(s.kwok_port), timeout, d, "kwok")
    for node in nodes:
        _register_node(s, node)
    wait_for(f"kwok nodes {', '.join(nodes)} Ready", lambda: _nodes_ready(s, nodes), timeout, d,
             "kwok")  # fmt: skip
    # Pods are refused until the service-account controller made the namespace's `default` SA.
    wait_for("the default ServiceAccount", lambda: api_request(
        s, "GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        timeout, d, "kube-controller-manager")  # fmt: skip
    if s.metrics_server_port:
        wait_for(devmetrics.BINARY, _healthz_check(s.metrics_server_port), timeout, d,
                 devmetrics.BINARY)  # fmt: skip
        register_metrics_api(s)
        wait_metrics_api(s, timeout)


def wait_metrics_api(s: ClusterState, timeout: float) -> None:
    """Until the API server answers the metrics API (through its aggregator, from metrics-server)."""

    def answers() -> bool:
        try:
            return api_request(s, "GET", devmetrics.PODS_PATH)[0] == 200
        except ValueError:  # "service unavailable" as plain text while the aggregator catches up
            return False

    wait_for("the metrics API", answers, timeout, Path(s.state_dir), devmetrics.BINARY)


def register_metrics_api(s: ClusterState) -> None:
    """Point the API server's aggregator at metrics-server (after it serves, so the first
    availability check already succeeds rather than waiting for the next resync)."""
    pki = Path(s.state_dir) / "pki"
    for collection, obj in devmetrics.objects(pki, port=s.metrics_server_port):
        status, body = api_request(s, "POST", collection, obj)
        if status == 409:  # a restarted plane: same name, maybe another port
            name = obj["metadata"]["name"]
            status, body = api_request(s, "PUT", f"{collection}/{name}", _with_version(s, collection, obj))
        if status not in (200, 201):
            raise DevClusterError(f"registering the metrics API failed ({status}): {body.get('message')}")


def _with_version(s: ClusterState, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
    _, current = api_request(s, "GET", f"{collection}/{obj['metadata']['name']}")
    version = current.get("metadata", {}).get("resourceVersion")
    return obj | {"metadata": obj["metadata"] | {"resourceVersion": version}}


def _storage_class(s: ClusterState) -> None:
    """The default StorageClass: a volume claim is provisioned as a directory under /tmp, the
    stand-in for the cloud's disks (named as such: LOCAL_DISKS), so apps with volumes start."""
    body = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": LOCAL_DISKS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/host-path", "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }  # fmt: skip
    _create(s, "/apis/storage.k8s.io/v1/storageclasses", body, "the StorageClass")


def _platform_namespace(s: ClusterState) -> None:
    """Where the reconciler keeps its leader lease, as the install manifests make it in a real
    cluster (`unhazzle install-manifests`): without it every reconcile would wait, leaderless."""
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": PLATFORM_NAMESPACE, "labels": {MANAGED_BY: OURS}}}  # fmt: skip
    _create(s, "/api/v1/namespaces", body, f"the namespace {PLATFORM_NAMESPACE}")


def _create(s: ClusterState, collection: str, body: dict[str, Any], what: str) -> None:
    """Create *body* unless it exists (a restarted plane keeps its objects in etcd)."""
    status, reply = api_request(s, "POST", collection, body)
    if status not in (201, 409):
        raise DevClusterError(f"creating {what} failed ({status}): {reply.get('message')}")


def _runs_binary(pid: int, bin_dir: str) -> bool:
    """True if pid is alive and runs a program from bin_dir, or a component of ours written in
    Python (`python -m unhazzle.devcluster....`); `ps` works on Linux and macOS."""
    if not _alive(pid):
        return False
    proc = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    command = proc.stdout.strip()
    return command.startswith(bin_dir.rstrip("/") + "/") or f" -m {__package__}." in command


def running(state_dir: Path) -> ClusterState | None:
    """The cluster recorded in state_dir if its API server process is alive."""
    state = ClusterState.load(state_dir)
    if state and _runs_binary(state.pids.get("kube-apiserver", -1), state.bin_dir):
        return state
    return None


def up(
    state_dir: Path | None = None,
    nodes: Sequence[str] | None = None,
    bin_dir: Path | None = None,
    tie_to_parent: bool = False,
    timeout: float = 120.0,
    real_node: bool = False,
    controller_qps: int = 0,
) -> ClusterState:
    """Start (or find already running) the local control plane; return its state.

    Its machines are simulated (`nodes`, two by default) unless `real_node`: then one real
    machine runs the instances (unhazzle.devcluster.node) and none is simulated unless named.
    `tie_to_parent` makes the components die with the calling process (tests); the CLI leaves
    them running in the background until `down`. `controller_qps`: ClusterState's; a plane already
    running keeps its own.
    """
    d = (state_dir or default_state_dir()).resolve()
    nodes = (() if real_node else DEFAULT_NODES) if nodes is None else nodes
    if (existing := running(d)) is not None:
        if real_node and not existing.node_ports:
            raise DevClusterError(
                f"the dev cluster in {d} runs with simulated machines; stop it with "
                "`unhazzle dev-cluster down` to start it with a real one"
            )
        _platform_namespace(existing)  # a plane started by an older version may lack it,
        for node in nodes:  # and its machines today's size
            _register_node(existing, node)
        return existing
    down(d)  # leftovers of a crashed or half-started run
    binaries = find_binaries(bin_dir)
    if real_node and (reason := realnode.unavailable_reason(binaries)):
        raise DevClusterError(f"no real machine on this computer: {reason}")
    d.mkdir(parents=True, exist_ok=True)
    make_pki(d / "pki")
    make_metrics_pki(d / "pki")
    write_kwok_config(d, binaries)
    for attempt in range(3):
        s = _new_state(d, binaries, real_node, controller_qps)  # a port taken meanwhile is chosen anew
        write_kubeconfig(kubeconfig_path(d), s.server, d / "pki")
        try:
            if real_node:
                realnode.prepare(s)  # the bridge first: the API server listens on it
            _start_control_plane(s, tie_to_parent)
            _wait_workers(s, nodes, timeout)
            _storage_class(s)
            _platform_namespace(s)
            if real_node:
                _start_real_node(s, tie_to_parent)
            return s
        except (DevClusterError, realnode.NodeUnavailable) as err:
            down(d)
            # Someone else started listening on a chosen port meanwhile: try again.
            if attempt == 2 or "address already in use" not in str(err):
                raise DevClusterError(str(err)) from None
        except BaseException:
            down(d)
            raise
    raise AssertionError("unreachable")


def _start_real_node(s: ClusterState, tie: bool) -> None:
    d, pki = Path(s.state_dir), Path(s.state_dir) / "pki"
    if not (pki / "node.crt").exists():  # the kubelet's own identity, as the Node authorizer wants
        signed_cert(pki, "node", f"/O=system:nodes/CN=system:node:{realnode.NODE_NAME}",
                    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n")  # fmt: skip
    if not (pki / "node-serving.crt").exists():  # the kubelet serves at the node's address
        signed_cert(pki, "node-serving", f"/CN=system:node:{realnode.NODE_NAME}",
                    f"subjectAltName=IP:{realnode.GATEWAY}\nextendedKeyUsage=serverAuth\n"
                    "keyUsage=digitalSignature\n")  # fmt: skip
    kubelet_kubeconfig = d / "node-kubeconfig"
    write_kubeconfig(kubelet_kubeconfig, s.server, pki, user="node")
    realnode.start(
        s,
        spawn=lambda name, argv: _start(s, name, argv, tie),
        wait_for=lambda what, check, timeout, log: wait_for(what, check, timeout, d, log),
        kubeconfig=kubelet_kubeconfig,
        admin_kubeconfig=kubeconfig_path(d),
        ready=lambda: _nodes_ready(s, [realnode.NODE_NAME]),
    )


def down(state_dir: Path | None = None) -> bool:
    """Stop every component recorded in state_dir; True if something was running."""
    d = (state_dir or default_state_dir()).resolve()
    state = ClusterState.load(d)
    if state is None:
        return False
    # Only pids still running our binaries: after a reboot a recorded pid may be anyone's.
    pids = {name: pid for name, pid in state.pids.items() if _runs_binary(pid, state.bin_dir)}
    if state.node_ports:  # the real node first: its kubelet still needs the API server
        state.pids = pids
        realnode.stop(state, stop_processes)
        pids = dict(state.pids)
    # Clients first, etcd last, so the API server never loses its storage while still serving.
    stop_processes([pid for name, pid in pids.items() if name != "etcd"])
    stop_processes([pids.get("etcd", -1)])
    state.pids = {}
    state.save()
    return bool(pids)


def restart_apiserver(state: ClusterState, tie_to_parent: bool = False) -> None:
    """Stop and start kube-apiserver on the same port; all it knows must come back from etcd."""
    stop_processes([state.pids["kube-apiserver"]])
    _start(state, "kube-apiserver", apiserver_argv(state), tie_to_parent)
    pki = Path(state.state_dir) / "pki"
    wait_for("kube-apiserver /readyz after restart", lambda: http_status(
        f"{state.server}/readyz", _admin_context(pki)) == 200, 90, Path(state.state_dir),
        "kube-apiserver")  # fmt: skip


# --- command line ------------------------------------------------------------------------------


MACHINES = ("auto", "real", "simulated")


def build() -> int:
    """Build (or find cached) every binary the cluster runs: the script's own output, its status."""
    if shutil.which("go") is None:
        print(
            "error: building the local cluster needs Go (1.26 or newer): https://go.dev/dl/", file=sys.stderr
        )
        return 1
    return subprocess.run(["bash", str(BUILD_SCRIPT)], check=False).returncode


def up_as_asked(state_dir: Path, machines: str = "auto") -> tuple[ClusterState, str]:
    """`up` with real or simulated machines as asked ("auto": real where this computer can run
    one); returns the state and a sentence saying what runs the instances, and why."""
    if (existing := running(state_dir)) is not None:
        if machines == "real" and not existing.node_ports:
            up(state_dir, real_node=True)  # raises, saying how to restart it with a real one
        return existing, _machines_sentence(existing, "")
    reason = ""
    real = machines == "real"
    if machines == "auto":
        reason = realnode.unavailable_reason(find_binaries(), state_dir) or ""
        real = not reason
    state = up(state_dir, real_node=real)
    return state, _machines_sentence(state, reason)


def _machines_sentence(state: ClusterState, why_not_real: str) -> str:
    if state.node_ports:
        return (f"one real machine ({realnode.NODE_NAME}): instances really run, in containers "
                "(containerd and runc), and reach each other by app name")  # fmt: skip
    because = f" (no real machine: {why_not_real})" if why_not_real else ""
    return ("two simulated machines: instances are simulated too; they report running without "
            f"starting a container, and their logs are placeholders{because}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`up`, `down` or `kubeconfig` for the local control plane; returns the exit status."""
    parser = argparse.ArgumentParser(prog="unhazzle dev-cluster", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "kubeconfig", "build"])
    parser.add_argument("--state-dir", type=Path, default=None,
                        help=f"where state lives (default {default_state_dir()})")  # fmt: skip
    parser.add_argument("--machines", choices=MACHINES, default="auto",
                        help="what runs the instances: a real machine, simulated ones, or a real one "
                        "where this computer can run it (default)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        state_dir: Path = (args.state_dir or default_state_dir()).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop
        print(f"{args.state_dir}: {readlimit.reason(exc)}", file=sys.stderr)
        return 2
    try:
        if args.action == "build":
            return build()
        if args.action == "up":
            state, machines = up_as_asked(state_dir, args.machines)
            config = kubeconfig_path(state_dir)
            print(f"dev cluster running at {state.server}: {machines}")
            print("next:")
            print(f"  unhazzle reconcile --once --repo ENV_REPO --kubeconfig {config}")
            print(f"  unhazzle status --kubeconfig {config}")
        elif args.action == "down":
            print("dev cluster stopped" if down(state_dir) else "dev cluster was not running")
        elif running(state_dir) is None:
            print(f"no dev cluster running in {state_dir}; run `up` first", file=sys.stderr)
            return 1
        else:
            print(kubeconfig_path(state_dir))
    except DevClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
