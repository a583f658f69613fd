"""What to connect to and how to prove who we are: a kubeconfig read as kubectl reads it, or the
service account of the pod we run in.

Why our own: the `kubernetes` library's loader drags its ~700 generated model modules, jsonschema
and requests-oauthlib into every command that talks to a cluster (0.3 s and 24 MB before the first
request). What we need of it is small and stable, and written down by client-go (clientcmd's
loading rules, rest.InClusterConfig), which this follows:
- the file given, else every file of $KUBECONFIG (os.pathsep-separated) merged -- the first file
  to define a cluster, user or context name wins, and so does the first current-context -- else
  ~/.kube/config;
- relative paths in a file are relative to that file's folder;
- the context asked for, else current-context; its cluster's server, CA, TLS and proxy settings
  and its user's credentials (credentials.py keeps them fresh).
Every refusal is an `Unusable` in plain words; connection.py adds the file's name and its own
words for the files that are not connection files at all.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from unhazzle.reconciler.cluster import connection
from unhazzle.reconciler.cluster.credentials import Credentials, Plugin, TokenFile, Unusable
from unhazzle.shared import readlimit

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
PROXY_SCHEMES = ("http", "https")

Entry = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """One API server and how to reach it."""

    server: str  # scheme://host:port, no trailing slash
    ca_pem: str | None = None  # None: the system's trusted authorities
    verify: bool = True  # False: insecure-skip-tls-verify
    tls_server_name: str | None = None  # the name to expect in the server's certificate
    proxy_url: str | None = None
    credentials: Credentials = field(default_factory=Credentials)


def files(explicit: str | None) -> list[Path]:
    """The files to read, in order: the one given, else $KUBECONFIG's (those that exist, as
    client-go skips missing ones), else ~/.kube/config when it exists."""
    if explicit:
        return [Path(explicit)]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:  # os.path.exists never raises: a name too long is skipped as a missing one
        return [Path(p) for p in dict.fromkeys(listed) if os.path.exists(p)]
    default = Path("~/.kube/config").expanduser()
    return [default] if default.exists() else []


def inside_cluster(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("KUBERNETES_SERVICE_HOST") and environ.get("KUBERNETES_SERVICE_PORT"))


def find(kubeconfig: str | None, context: str | None = None, *, in_cluster_first: bool = False) -> Settings:
    """The settings for a command: *kubeconfig*; else, when *in_cluster_first* (the reconciler,
    which normally runs in a pod) and inside a cluster, the service account; else the default
    files; else the service account."""
    if kubeconfig:
        return from_files(files(kubeconfig), context)
    if in_cluster_first and inside_cluster():
        return in_cluster()
    found = files(None)
    if found:
        return from_files(found, context)
    if inside_cluster():
        return in_cluster()
    raise Unusable(f"none found (not inside a cluster, and no ~/.kube/config); {connection.HOW}")


def in_cluster(environ: Mapping[str, str] = os.environ, folder: Path = SERVICE_ACCOUNT) -> Settings:
    """The pod's service account, as rest.InClusterConfig: the API server's Service address from
    the environment, the token (re-read as the kubelet rotates it) and CA from *folder*."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise Unusable("not inside a cluster (KUBERNETES_SERVICE_HOST/PORT are not set)")
    token = folder / "token"
    if not token.is_file():
        raise Unusable(f"inside a cluster, but the service account token {token} is missing")
    ca = _read(folder / "ca.crt", "the service account's CA")
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return Settings(f"https://{host}:{port}", ca_pem=ca, credentials=Credentials(token_file=TokenFile(token)))


def from_files(paths: list[Path], context: str | None) -> Settings:
    """The settings of *context* (else current-context) in the merge of *paths*."""
    merged: dict[str, dict[str, Entry]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    for path in paths:
        doc = _load(path)
        current = current or str(doc.get("current-context") or "")
        for section, entries in merged.items():
            for name, entry in _named(doc, section, path.parent).items():
                entries.setdefault(name, entry)
    name = context or current
    if not name:
        raise Unusable("it names no current context; give --context NAME")
    if name not in merged["contexts"]:
        raise Unusable(f"no context named '{name}'; it has {', '.join(merged['contexts']) or 'none'}")
    ctx = merged["contexts"][name]
    cluster = merged["clusters"].get(str(ctx.get("cluster") or ""))
    if cluster is None:
        raise Unusable(f"the context '{name}' names a cluster '{ctx.get('cluster')}' that is not defined")
    user = merged["users"].get(str(ctx.get("user") or ""), {})  # none: no credentials, as client-go
    return _settings(cluster, user)


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(readlimit.read_text(path, readlimit.CONNECTION_FILE), Loader=_LOADER)
    except OSError as exc:
        raise Unusable(f"cannot read it: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise Unusable("not a cluster connection file (it is not YAML)") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise Unusable("not a cluster connection file (it names no cluster)")
    return doc


def _named(doc: dict[str, Any], section: str, folder: Path) -> dict[str, Entry]:
    """name -> entry of one section ("clusters" -> each `cluster`), with the file's folder kept
    to resolve its relative paths."""
    items = doc.get(section) or []
    if not isinstance(items, list):
        raise Unusable(f"not a cluster connection file ({section} is not a list)")
    found: dict[str, Entry] = {}
    for item in items:
        body = item.get(section[:-1]) if isinstance(item, dict) else None
        if isinstance(item, dict) and item.get("name") and isinstance(body or {}, dict):
            found.setdefault(str(item["name"]), {**(body or {}), "_folder": folder})
    return found


def _settings(cluster: Entry, user: Entry) -> Settings:
    folder: Path = cluster["_folder"]
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise Unusable("the cluster has no server address")
    proxy = str(cluster.get("proxy-url") or "") or None
    if proxy and proxy.split("://", 1)[0].lower() not in PROXY_SCHEMES:
        raise Unusable(f"proxy-url {proxy}: only http and https proxies are supported, not SOCKS")
    ca = _pem(cluster, "certificate-authority", folder, "the cluster's CA")
    return Settings(
        server,
        ca_pem=ca,
        verify=not cluster.get("insecure-skip-tls-verify"),
        tls_server_name=str(cluster.get("tls-server-name") or "") or None,
        proxy_url=proxy,
        credentials=_credentials(user, cluster={**cluster, "server": server, "ca": ca}),
    )


def _credentials(user: Entry, *, cluster: Entry) -> Credentials:
    folder = Path(user.get("_folder") or cluster["_folder"])
    if user.get("auth-provider"):
        name = (user["auth-provider"] or {}).get("name", "?")
        raise Unusable(
            f"the user signs in with the '{name}' auth-provider, which kubectl no longer supports; "
            "use an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin) instead"
        )
    cert = _pem(user, "client-certificate", folder, "the client certificate")
    key = _pem(user, "client-key", folder, "the client key")
    if bool(cert) != bool(key):
        raise Unusable("the user has a client certificate without its key, or a key without its certificate")
    token_file = str(user.get("tokenFile") or "")
    return Credentials(
        token=str(user.get("token") or "") or None,
        token_file=TokenFile(_resolve(token_file, folder)) if token_file else None,
        basic=(str(user["username"]), str(user.get("password") or "")) if user.get("username") else None,
        cert=(cert.encode(), key.encode()) if cert and key else None,
        plugin=_plugin(user["exec"], folder, cluster) if user.get("exec") else None,
    )


def _plugin(spec: Any, folder: Path, cluster: Entry) -> Plugin:
    if not isinstance(spec, dict) or not spec.get("command"):
        raise Unusable("the user's exec credential plugin names no command")
    version = str(spec.get("apiVersion") or "")
    if version not in EXEC_VERSIONS:
        raise Unusable(
            f"the exec credential plugin's apiVersion '{version}' is not one of {', '.join(EXEC_VERSIONS)}"
        )
    if spec.get("interactiveMode") == "Always":
        raise Unusable("the exec credential plugin needs a terminal (interactiveMode: Always); we have none")
    command = str(spec["command"])
    if os.sep in command:  # "./bin/login" is relative to the file; a bare name is looked up in PATH
        command = str(_resolve(command, folder))
    env = {str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or [] if isinstance(e, dict)}
    info: dict[str, Any] = {"interactive": False}
    if spec.get("provideClusterInfo"):
        info["cluster"] = _cluster_info(cluster)
    return Plugin(
        command=command,
        args=[str(a) for a in spec.get("args") or []],
        env=env,
        api_version=version,
        exec_info={"apiVersion": version, "kind": "ExecCredential", "spec": info},
        install_hint=str(spec.get("installHint") or ""),
    )


def _cluster_info(cluster: Entry) -> dict[str, Any]:
    """The cluster as an ExecCredential's spec.cluster (client-go's clientauthentication.Cluster)."""
    info: dict[str, Any] = {"server": cluster["server"]}
    if cluster.get("ca"):
        info["certificate-authority-data"] = base64.b64encode(cluster["ca"].encode()).decode()
    for key in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url"):
        if cluster.get(key):
            info[key] = cluster[key]
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = ext.get("extension")
    return info


def _pem(entry: Entry, key: str, folder: Path, what: str) -> str | None:
    """`key-data` (base64 PEM) wins over `key` (a file), as in client-go."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unusable(f"{key}-data is not base64-encoded PEM") from None
    path = entry.get(key)
    return _read(_resolve(str(path), folder), what) if path else None


def _read(path: Path, what: str) -> str:
    try:
        return readlimit.read_text(path, readlimit.CONNECTION_FILE)
    except (OSError, UnicodeDecodeError) as exc:
        raise Unusable(f"cannot read {what} {path}: {readlimit.reason(exc)}") from None


def _resolve(path: str, folder: Path) -> Path:
    return Path(path) if os.path.isabs(path) else folder / path


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
