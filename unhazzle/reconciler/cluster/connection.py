"""Why a cluster connection file (a kubeconfig) cannot be used, in plain words.

Both doors to the cluster (client.py, observe/reads.py) ask here when kubeconfig.py refuses a
file: a file that is missing, a folder or not a connection file at all is said so before the
loader's own reason (which is about what is inside one). Reads one file, so it is the same answer
from every command.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from unhazzle.shared import readlimit

HOW = "give --kubeconfig FILE or set KUBECONFIG"


def chosen(path: str | None) -> str | None:
    """The file a command uses: *path*, else the first of $KUBECONFIG, else ~/.kube/config when
    it exists; None means the cluster's own service account (running inside the cluster)."""
    if path:
        return path
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    default = Path("~/.kube/config").expanduser()
    return first or (str(default) if default.exists() else None)


def problem(path: str | None, context: str | None = None) -> str | None:
    """What is wrong with the connection file at *path* (None: none was found), or None when
    nothing obvious is and the loader's own reason is the best there is."""
    if path is None:
        return f"none found (not inside a cluster, and no ~/.kube/config); {HOW}"
    try:
        text = readlimit.read_text(path, readlimit.CONNECTION_FILE)
    except FileNotFoundError:
        return f"no such file; {HOW}"
    except IsADirectoryError:
        return "a folder, not a cluster connection file"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read it: {readlimit.reason(exc)}"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list) or not doc["clusters"]:
        return "not a cluster connection file (it names no cluster)"
    names = [c.get("name") for c in doc.get("contexts") or [] if isinstance(c, dict)]
    if context and context not in names:
        return f"no context named '{context}'; it has {', '.join(map(str, names)) or 'none'}"
    return None


def reason(path: str | None, exc: BaseException, context: str | None = None) -> str:
    """Why the connection file at *path* cannot be used: ours when we can tell, else the
    loader's own (also when no file was used: the service account's), on one line."""
    return (problem(path, context) if path else None) or " ".join(str(exc).split())


# What urllib3's nested wrappers mean (their text also carries the request's path, which is
# full of Kubernetes words); first match wins.
_NO_ANSWER = (
    ("refused", "connection refused"),
    ("timed out", "timed out"),
    ("name or service not known", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("certificate", "its certificate is not trusted"),
    ("ssl", "the secure connection failed"),
    ("reset by peer", "the connection was cut"),
    ("remote end closed", "the connection was cut"),
    ("unreachable", "no route to it"),
)


def no_answer(server: str, exc: BaseException) -> str:
    """One plain line for a request that got no answer from the cluster at *server*."""
    text = str(exc).lower()
    reason = next((plain for key, plain in _NO_ANSWER if key in text), "no connection")
    return f"the cluster at {server} does not answer ({reason})"
