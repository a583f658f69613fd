"""A real machine for the local cluster: instances really run.

containerd (with Debian's runc) runs the containers, the kubelet drives it, a bridge with the
standard CNI plugins gives every instance an address, kube-proxy makes Service addresses reach
instances, CoreDNS answers the Service names apps use (`http://api:8080`) and unhazzle.devcluster.policies
enforces network policies. All from the cache build.sh fills,
all state in `<state dir>/node`, all of it removed by `stop`: containers (every process in the
node's cgroups), mounts, the bridge and the netfilter tables.

The bridge, the Service address range and kube-proxy's netfilter table belong to the whole
machine, so one real node runs per machine; CLAIM records whose it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unhazzle.compiler.write import write_file_atomic
from unhazzle.devcluster.images import Image, Layout

if TYPE_CHECKING:
    from unhazzle.devcluster.cluster import ClusterState

NODE_NAME = "local-0"
BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr", "kubelet", "kube-proxy", "coredns", "pause")
CNI_PLUGINS = ("bridge", "host-local", "loopback")
BRIDGE = "unhz0"
SUBNET, GATEWAY = "10.244.0.0/24", "10.244.0.1"
SANDBOX_IMAGE = "unhazzle.local/pause:1"
CLUSTER_DOMAIN = "cluster.local"
CLAIM = Path("/run/unhazzle-real-node.json")
# Processes of the node, in the order they stop (the kubelet first, so it restarts nothing).
PROCESSES = ("network-policies", "coredns", "kube-proxy", "kubelet", "containerd")
# Every container of the node lives under this cgroup (the kubelet's cgroupRoot), so stopping
# the node can find each process even when containerd or a shim is already gone.
CGROUP_ROOT = "unhazzle-node"
CGROUP_V1 = Path("/sys/fs/cgroup")
# Our own NetworkPolicy enforcer (kube-network-policies needs a kernel feature these machines lack).
POLICIES_MODULE = "unhazzle.devcluster.policies"


class NodeUnavailable(RuntimeError):
    """This machine cannot run a real node; the message says why and what to do."""


def unavailable_reason(bin_dir: Path, state_dir: Path | None = None) -> str | None:
    """Why a real node cannot run here (for the cluster in *state_dir*), or None when it can."""
    if sys.platform != "linux":
        return "a real node needs Linux (namespaces, cgroups, a network bridge)"
    if os.geteuid() != 0:
        return "a real node needs root (containers, cgroups and a network bridge)"
    missing = [b for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]
    missing += [f"cni/{p}" for p in CNI_PLUGINS if not os.access(bin_dir / "cni" / p, os.X_OK)]
    if missing:
        return (f"node binaries missing from {bin_dir}: {', '.join(missing)}; build them with "
                "`unhazzle dev-cluster build`")  # fmt: skip
    tools = [t for t in ("runc", "nft", "ip", "mount", "umount") if shutil.which(t) is None]
    if tools:
        return f"{', '.join(tools)} not on PATH (Debian packages: runc nftables iproute2 mount)"
    if not (CGROUP_V1 / "memory").is_dir() and not (CGROUP_V1 / "cgroup.controllers").exists():
        return f"no cgroup hierarchy under {CGROUP_V1}"
    if state_dir is not None and (holder := _holder(state_dir)):
        return f"this computer's one real machine belongs to the local cluster in {holder}"
    return None


def _holder(state_dir: Path) -> str | None:
    """The state folder of another running cluster that holds the real node, if any."""
    with contextlib.suppress(OSError, ValueError):
        other = json.loads(CLAIM.read_text())
        if other.get("state_dir") != str(state_dir.resolve()) and _pid_alive(int(other.get("containerd", 0))):
            return str(other["state_dir"])
    return None


def node_dir(s: ClusterState) -> Path:
    return Path(s.state_dir) / "node"


# --- configuration files -----------------------------------------------------------------------


def _toml(value: Any) -> str:
    # JSON strings, lists and booleans are valid TOML literals.
    return json.dumps(value)


def containerd_config(s: ClusterState) -> str:
    d, bin_dir = node_dir(s), Path(s.bin_dir)
    tables: dict[str, dict[str, Any]] = {
        "plugins.'io.containerd.server.v1.grpc'": {"address": str(d / "containerd.sock")},
        "plugins.'io.containerd.server.v1.ttrpc'": {"address": str(d / "containerd.sock.ttrpc")},
        "plugins.'io.containerd.cri.v1.images'": {"snapshotter": "overlayfs"},
        "plugins.'io.containerd.cri.v1.images'.pinned_images": {"sandbox": SANDBOX_IMAGE},
        # Registries on loopback (the tests' registry) are reached over plain HTTP.
        "plugins.'io.containerd.cri.v1.images'.registry": {"config_path": str(d / "certs.d")},
        "plugins.'io.containerd.cri.v1.runtime'": {
            # Instances' network namespaces under the node's own folder, so stopping finds them.
            "netns_mounts_under_state_dir": True,
            "cdi_spec_dirs": [],
            # Without CAP_SYS_RESOURCE (as on these machines) no process may lower its OOM score
            # below containerd's: clamp instead of failing every sandbox.
            "restrict_oom_score_adj": True,
        },
        "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options": {
            "BinaryName": shutil.which("runc") or "runc",
            "Root": str(d / "runc"),
            "SystemdCgroup": False,  # no systemd here: cgroupfs, as the kubelet is told too
        },
        "plugins.'io.containerd.cri.v1.runtime'.cni": {
            "bin_dirs": [str(bin_dir / "cni")], "conf_dir": str(d / "cni" / "net.d"),
        },
        "plugins.'io.containerd.nri.v1.nri'": {"disable": True},
        "plugins.'io.containerd.internal.v1.opt'": {"path": str(d / "opt")},
        "plugins.'io.containerd.image-verifier.v1.bindir'": {"bin_dir": str(d / "verifiers")},
    }  # fmt: skip
    lines = ["version = 3", f"root = {_toml(str(d / 'containerd'))}",
             f"state = {_toml(str(d / 'containerd-state'))}", "imports = []", ""]  # fmt: skip
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"  {key} = {_toml(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def cni_config() -> dict[str, Any]:
    """One bridge for the node's instances; no masquerade: nothing here leaves the machine."""
    return {
        "cniVersion": "1.0.0",
        "name": "unhazzle",
        "plugins": [
            {
                "type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False,
                # An instance reaching its own Service must get the answer back through the bridge.
                "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": SUBNET, "gateway": GATEWAY}]],
                         "routes": [{"dst": "0.0.0.0/0"}]},
            },
        ],
    }  # fmt: skip


def kubelet_config(s: ClusterState) -> dict[str, Any]:
    d, pki = node_dir(s), Path(s.state_dir) / "pki"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The API server and metrics-server reach the kubelet at the node's address: the bridge's
        # (a kubelet refuses a loopback node address).
        "address": GATEWAY,
        "port": s.node_ports["kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": s.node_ports["kubelet_healthz"],
        "tlsCertFile": str(pki / "node-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "node-serving.key"),
        # No KUBE-FIREWALL and canary chains in the machine's iptables: kube-proxy uses nftables.
        "makeIPTablesUtilChains": False,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{d / 'containerd.sock'}",
        # This machine kind mounts cgroup v1; 1.35's kubelet refuses it unless told (KEP-5573).
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failSwapOn": False,
        "clusterDNS": [GATEWAY],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": "",  # instances see only the cluster's DNS: there is no outside world here
        "podLogsDir": str(d / "pod-logs"),
        "podCIDR": SUBNET,
        "maxPods": 110,
        "serializeImagePulls": False,
        # A development machine's disk is often fuller than a server's: do not evict for it.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "protectKernelDefaults": False,
        "logging": {"verbosity": 1},
    }  # fmt: skip


def coredns_corefile(kubeconfig: Path) -> str:
    return (
        f"{CLUSTER_DOMAIN}:53 {{\n"
        f"  bind {GATEWAY}\n  errors\n  cache 5\n"
        f"  kubernetes {CLUSTER_DOMAIN} {{\n    kubeconfig {kubeconfig}\n"
        "    pods insecure\n    ttl 5\n  }\n}\n"
    )


# --- processes ---------------------------------------------------------------------------------


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)
    if check and proc.returncode != 0:
        raise NodeUnavailable(f"{' '.join(argv)} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc


def _claim(s: ClusterState) -> None:
    """Take the machine's one real node, unless a running cluster holds it."""
    if holder := _holder(Path(s.state_dir)):
        raise NodeUnavailable(
            f"another local cluster's real node runs on this machine (state in {holder}); stop it "
            f"with `unhazzle dev-cluster down --state-dir {holder}` first"
        )
    _cleanup_machine()  # a crashed one's leftovers, if any: bridge, tables, cgroups
    CLAIM.write_text(json.dumps({"state_dir": str(Path(s.state_dir).resolve())}))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(s: ClusterState, spawn: Callable[[str, list[str]], None],
          wait_for: Callable[[str, Callable[[], bool], float, str], None],
          kubeconfig: Path, admin_kubeconfig: Path, ready: Callable[[], bool]) -> None:  # fmt: skip
    """Start the node's processes into the running control plane `s`: `spawn(name, argv)` starts
    one like the plane's own, `wait_for(what, check, timeout, log)` waits like the plane does,
    `kubeconfig` is the kubelet's identity, `ready()` tells when the Node reports Ready."""
    d, bin_dir = node_dir(s), Path(s.bin_dir)
    for sub in ("cni/net.d", "cni/ipam", "certs.d", "pod-logs", "kubelet"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "containerd.toml").write_text(containerd_config(s))
    spawn("containerd", [str(bin_dir / "containerd"), f"--config={d / 'containerd.toml'}",
                         "--log-level=warn"])  # fmt: skip
    _record_claim(s)
    wait_for("containerd", lambda: _ctr(s, "version", check=False).returncode == 0, 60, "containerd")
    _import_sandbox_image(s)
    conf = cni_config()
    conf["plugins"][0]["ipam"]["dataDir"] = str(d / "cni" / "ipam")
    # Atomically: containerd watches the folder and would read a half-written file (the temporary
    # name does not end in .conflist, so it is never read).
    write_file_atomic(d / "cni" / "net.d" / "10-unhazzle.conflist", json.dumps(conf, indent=2) + "\n")
    (d / "kubelet.yaml").write_text(json.dumps(kubelet_config(s), indent=2) + "\n")
    _make_cgroup_root()
    spawn("kubelet", [
        str(bin_dir / "kubelet"), f"--config={d / 'kubelet.yaml'}", f"--kubeconfig={kubeconfig}",
        f"--root-dir={d / 'kubelet'}", f"--cert-dir={d / 'kubelet' / 'pki'}",
        f"--hostname-override={NODE_NAME}", f"--node-ip={GATEWAY}",
        "--node-labels=unhazzle.dev/machine=real",
    ])  # fmt: skip
    spawn("kube-proxy", [
        str(bin_dir / "kube-proxy"), f"--kubeconfig={admin_kubeconfig}", "--proxy-mode=nftables",
        f"--hostname-override={NODE_NAME}", f"--cluster-cidr={SUBNET}",
        f"--healthz-bind-address=127.0.0.1:{s.node_ports['proxy_healthz']}",
        f"--metrics-bind-address=127.0.0.1:{s.node_ports['proxy_metrics']}",
        # Leave the machine's conntrack sizing alone: this is someone's computer, not a node.
        "--conntrack-max-per-core=0", "--v=1",
    ])  # fmt: skip
    wait_for(f"the real node {NODE_NAME} Ready", ready, 120, "kubelet")
    (d / "Corefile").write_text(coredns_corefile(admin_kubeconfig))
    spawn("coredns", [str(bin_dir / "coredns"), "-conf", str(d / "Corefile")])
    spawn("network-policies", [sys.executable, "-m", POLICIES_MODULE, f"--state-dir={s.state_dir}"])


def prepare(s: ClusterState) -> None:
    """Before the control plane starts: take the machine's one real node, and make the bridge
    (the CNI plugin adopts one of its name), whose address is the node's: the API server and the
    kubelet serve there, so instances reach the API server too."""
    _claim(s)
    _make_bridge()


def _make_bridge() -> None:
    if _run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
    _run("ip", "addr", "replace", f"{GATEWAY}/{SUBNET.split('/')[1]}", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")


def _make_cgroup_root() -> None:
    """The kubelet's cgroupRoot must exist in every hierarchy before it starts. In cgroup v1 a
    new cpuset has no CPUs or memory nodes until given its parent's."""
    for hierarchy in CGROUP_V1.iterdir():
        if hierarchy.name == "unified" or not (hierarchy / "cgroup.procs").exists():
            continue
        (hierarchy / CGROUP_ROOT).mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (hierarchy / CGROUP_ROOT / knob).write_text((hierarchy / knob).read_text())


def _record_claim(s: ClusterState) -> None:
    CLAIM.write_text(json.dumps({"state_dir": str(Path(s.state_dir).resolve()),
                                 "containerd": s.pids.get("containerd", 0)}))  # fmt: skip


def _ctr(s: ClusterState, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    d = node_dir(s)
    return _run(str(Path(s.bin_dir) / "ctr"), f"--address={d / 'containerd.sock'}",
                "--namespace=k8s.io", *args, check=check)  # fmt: skip


def _import_sandbox_image(s: ClusterState) -> None:
    """The pause program as the sandbox image every instance starts with: no registry is
    reachable, so it is imported, not pulled."""
    d = node_dir(s)
    layout = Layout(d / "images" / "pause")
    pause = (Path(s.bin_dir) / "pause").read_bytes()
    image = Image(user="65535:65535", entrypoint=["/pause"], env={}, files={"pause": (pause, 0o755)})
    layout.add("1", image, full_name=SANDBOX_IMAGE)
    archive = layout.archive(d / "images" / "pause.tar")
    _ctr(s, "images", "import", "--no-unpack=false", str(archive))
    # Pinned, so the kubelet's image garbage collection never takes it.
    _ctr(s, "images", "label", SANDBOX_IMAGE, "io.cri-containerd.pinned=pinned")


# --- stopping ----------------------------------------------------------------------------------


def stop(s: ClusterState, stop_processes: Callable[[list[int]], None]) -> None:
    """Stop the node and leave nothing behind: processes, containers, mounts, network."""
    for name in PROCESSES[:-1]:
        if name in s.pids:
            stop_processes([s.pids.pop(name)])
    _kill_containers()
    if "containerd" in s.pids:
        stop_processes([s.pids.pop("containerd")])
    _kill_shims(node_dir(s))
    _unmount_under(node_dir(s))
    _cleanup_machine()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(CLAIM.read_text()).get("state_dir") == str(Path(s.state_dir).resolve()):
            CLAIM.unlink()


def _node_cgroups() -> Iterator[Path]:
    """The node's cgroup folders in every hierarchy, deepest first."""
    roots = [p / CGROUP_ROOT for p in CGROUP_V1.iterdir() if (p / CGROUP_ROOT).is_dir()] \
        if CGROUP_V1.is_dir() else []  # fmt: skip
    for root in roots:
        yield from sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        yield root


def _kill_containers() -> None:
    """SIGKILL every process in the node's cgroups (instances, whatever containerd did), then
    remove the cgroups. Freezing first would be neater; killing until empty is enough."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pids = {int(pid) for group in _node_cgroups() for pid in _read(group / "cgroup.procs").split()}
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    for group in _node_cgroups():
        with contextlib.suppress(OSError):
            group.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _kill_shims(d: Path) -> None:
    """containerd's shims outlive it by design; ours name our containerd's socket."""
    needle = str(d / "containerd.sock").encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and b"containerd-shim" in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(proc.name), signal.SIGKILL)


def _unmount_under(d: Path) -> None:
    """Every mount below the node's folder (overlay roots, volumes, network namespaces), deepest
    first; lazily, since a dying process may still hold one for a moment."""
    prefix = str(d.resolve()) + "/"
    points = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = fields[4].replace("\\040", " ")
            if point.startswith(prefix):
                points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        _run("umount", "-l", point, check=False)


def _cleanup_machine() -> None:
    """The machine-wide parts: the bridge and kube-proxy's tables."""
    _run("ip", "link", "delete", BRIDGE, check=False)
    for family in ("ip", "ip6"):
        _run("nft", "delete", "table", family, "kube-proxy", check=False)
    _run("nft", "delete", "table", "inet", "unhazzle-policies", check=False)
    _remove_iptables_chains()
    _kill_containers()


def _remove_iptables_chains() -> None:
    """The KUBE-* chains the kubelet makes in iptables anyway (its canaries, in both families)."""
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = _run(tool, "-t", table, "-S", check=False).stdout.splitlines()
            for rule in rules:  # jumps from the machine's own chains first
                if rule.startswith("-A ") and "-j KUBE-" in rule and not rule.split()[1].startswith("KUBE-"):
                    _run(tool, "-t", table, *rule.replace("-A ", "-D ", 1).split(), check=False)
            chains = [r.split()[1] for r in rules if r.startswith("-N KUBE-")]
            for verb in ("-F", "-X"):
                for chain in chains:
                    _run(tool, "-t", table, verb, chain, check=False)
