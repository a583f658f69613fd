"""The reconciler's door to the API server: plain dicts in and out, every request counted.

Why a wrapper over the transport (transport.py): the rest of the reconciler speaks plain dicts and
our own `ClusterError`, so no urllib3 exception leaks out, and every request passes one place where it is
counted (reads, dry-runs, writes) -- which is how the tests prove a no-change reconcile writes
nothing. Server-side apply goes through the raw PATCH with `application/apply-patch+yaml`
(JSON is YAML), field manager `unhazzle`, like `kubectl apply --server-side`.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import urllib3

from unhazzle.errors import OperationError
from unhazzle.reconciler.cluster import connection, decode, transport
from unhazzle.reconciler.cluster.credentials import Unusable
from unhazzle.reconciler.objects import Obj, Ref

FIELD_MANAGER = "unhazzle"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Transient answers worth another try; SSA and DELETE are idempotent, so a retry never doubles.
RETRY_STATUSES = frozenset({0, 429, 500, 502, 503, 504})
PAGE = 500  # objects per LIST page when listing to watch, as client-go's reflector pages
WATCH_SLACK_S = 90  # past a watch's timeoutSeconds: silence this long means the connection is dead
STREAM_READ = 64 * 1024


class ClusterError(OperationError):
    """A request the API server refused or never answered; `status` 0 means no answer."""

    def __init__(self, where: str, status: int, message: str) -> None:
        self.where = where
        self.status = status
        self.message = message  # the server's words, without where
        super().__init__(f"{where}: {message}")


class NotFound(ClusterError):
    """404: the object (or its namespace) does not exist."""


class Conflict(ClusterError):
    """409: a field-manager conflict or a stale resourceVersion."""


class Forbidden(ClusterError):
    """403: the identity the request was made as has no right to it."""


class Gone(ClusterError):
    """410: a WATCH asked for changes since a resourceVersion the server no longer keeps: list
    again (and watch from the new list's resourceVersion)."""


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API: its URL plural and whether it is namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str | None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace)}/{self.plural}"
        return f"{base}/{self.plural}"


class Client:
    """One API server connection. Thread-safe for the requests the reconciler makes."""

    def __init__(self, api: transport.Transport, *, timeout: float = 30.0, retries: int = 3) -> None:
        self._api = api
        self._timeout = timeout
        self._retries = retries
        self._resources: dict[tuple[str, str], Resource] = {}
        self._lock = threading.Lock()
        self._headers: dict[str, str] = {}
        self.requests: Counter[str] = Counter()
        self.user: str | None = None  # None: the identity of the credentials themselves

    @property
    def server(self) -> str:
        return self._api.server

    def impersonating(self, user: str) -> Client:
        """The same connection, acting as `user` (the `Impersonate-User` header): the API server
        authorizes each request against that user's rights, and also checks that ours include
        `impersonate` on it. Shares the connection pool, discovery cache and request counter."""
        other = Client.__new__(Client)
        other.__dict__.update(self.__dict__)
        other._headers = {"Impersonate-User": user}
        other.user = user
        return other

    def writes(self) -> int:
        """Requests that changed (or could have changed) something: not reads, not dry-runs."""
        with self._lock:  # (the watches' threads count theirs meanwhile)
            return sum(n for key, n in self.requests.items() if key in WRITE_METHODS)

    # -- discovery ---------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        key = (api_version, kind)
        if key not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self._request("GET", base, where=f"{kind} ({api_version})")
            with self._lock:
                for item in listing.get("resources", []):
                    if "/" not in item["name"]:
                        found = Resource(api_version, item["kind"], item["name"], item["namespaced"])
                        self._resources[(api_version, item["kind"])] = found
        if key not in self._resources:
            raise ClusterError(f"{kind} ({api_version})", 404, "the cluster does not serve this kind")
        return self._resources[key]

    def path(self, ref: Ref) -> str:
        res = self.resource(ref.api_version, ref.kind)
        return f"{res.collection(ref.namespace)}/{quote(ref.name)}"

    # -- verbs -------------------------------------------------------------------------------

    def get(self, ref: Ref) -> Obj | None:
        try:
            result: Obj = self._request("GET", self.path(ref), where=str(ref))
            return result
        except NotFound:
            return None

    def list_kind(
        self, api_version: str, kind: str, *, namespace: str | None = None, selector: str = ""
    ) -> list[Obj]:
        res = self.resource(api_version, kind)
        query = [("labelSelector", selector)] if selector else []
        body = self._request(
            "GET", res.collection(namespace), query=query, where=f"{kind}/{namespace or '*'}", label="LIST"
        )
        items: list[Obj] = body.get("items", [])
        for item in items:  # a list answer omits each item's kind and apiVersion
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def list_to_watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str,
        selector: str = "",
        keep: Callable[[Obj], Obj] = dict,
    ) -> tuple[list[Obj], str]:
        """A LIST to WATCH from, as client-go's reflector starts: every object, each passed
        through `keep` page by page (so only what the caller keeps stays in memory, never a
        whole list answer), and the resourceVersion of the list as a whole."""
        res = self.resource(api_version, kind)
        kept: list[Obj] = []
        more = ""
        while True:
            query = [("limit", str(PAGE)), *([("labelSelector", selector)] if selector else [])]
            query += [("continue", more)] if more else []
            body = self._request(
                "GET", res.collection(namespace), query=query, where=f"{kind}/{namespace}", label="LIST"
            )
            for item in body.get("items", []):
                kept.append(keep({"apiVersion": api_version, "kind": kind, **item}))
            meta = body.get("metadata") or {}
            more = str(meta.get("continue") or "")
            if not more:
                return kept, str(meta.get("resourceVersion", ""))

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str,
        resource_version: str,
        selector: str = "",
        timeout_seconds: int = 300,
    ) -> Stream:
        """A WATCH of changes since `resource_version`, with bookmarks, which the server ends
        after `timeoutSeconds` (the caller watches again from the last resourceVersion it saw).
        No retry here: the caller knows whether to watch again or list again (Gone)."""
        res = self.resource(api_version, kind)
        query = [("watch", "true"), ("resourceVersion", resource_version), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(timeout_seconds))]  # fmt: skip
        query += [("labelSelector", selector)] if selector else []
        where = f"{kind}/{namespace}"
        # No answer for a while past timeoutSeconds (bookmarks come about every minute): the
        # connection is dead without having been closed; reading gives up and the caller retries.
        timeout = (self._timeout, timeout_seconds + WATCH_SLACK_S)
        path = res.collection(namespace)
        response = self._send(
            "GET", path, query=query, body=None, headers=None, label="WATCH", timeout=timeout, stream=True
        )
        if response.status != 200:
            raise _error(where, response.status, self._read(response, path))
        return Stream(cast(urllib3.BaseHTTPResponse, response), where)  # a stream is urllib3's

    def apply(self, obj: Obj, *, dry_run: bool = False, force: bool = True, answer: bool = True) -> Obj:
        """Server-side apply. `force` takes back fields a manual edit took over (that is the
        point of self-healing); fields we never send -- the autoscaler's instance count -- are
        not ours and are never touched. `answer`=False: the caller needs only to know it was
        taken, so the stored object the server sends back is not decoded ({} is returned)."""
        ref = Ref.of(obj)
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        headers = {"Content-Type": "application/apply-patch+yaml"}
        result: Obj = self._request(
            "PATCH", self.path(ref), query=query, body=json.dumps(obj), headers=headers, where=str(ref),
            answer=answer,
        )  # fmt: skip
        return result

    def delete(self, ref: Ref, *, uid: str | None = None) -> None:
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:  # never delete a same-named object someone re-created since we looked
            body["preconditions"] = {"uid": uid}
        try:
            self._request("DELETE", self.path(ref), body=body, where=str(ref))
        except NotFound:
            return

    def create(self, obj: Obj) -> Obj:
        ref = Ref.of(obj)
        res = self.resource(ref.api_version, ref.kind)
        result: Obj = self._request("POST", res.collection(ref.namespace), body=obj, where=str(ref))
        return result

    def replace(self, obj: Obj) -> Obj:
        """PUT with the object's resourceVersion: optimistic concurrency (409 when stale)."""
        ref = Ref.of(obj)
        result: Obj = self._request("PUT", self.path(ref), body=obj, where=str(ref))
        return result

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        where: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        label: str = "",
        answer: bool = True,
    ) -> Any:
        dry = any(k == "dryRun" for k, _ in query or [])
        label = label or (f"{method} dry-run" if dry else method)
        attempt = 0
        while True:
            try:
                return self._once(
                    method, path, query=query, body=body, headers=headers, label=label, answer=answer
                )
            except ClusterError as err:
                passing = err.status in RETRY_STATUSES or quota_not_counted_yet(err)
                retryable = passing and method != "POST" and not refuses_object(err)
                if not retryable or attempt >= self._retries:
                    raise type(err)(where, err.status, _strip(str(err))) from None
                attempt += 1
                time.sleep(min(0.2 * 2**attempt, 2.0))

    def _once(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None,
        body: Any,
        headers: dict[str, str] | None,
        label: str,
        answer: bool = True,
    ) -> Any:
        response = self._send(
            method, path, query=query, body=body, headers=headers, label=label, timeout=self._timeout
        )
        data = self._read(response, path)
        if 200 <= response.status < 300:
            return decode.loads(data) if data and answer else {}
        raise _error(path, response.status, data)

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None,
        body: Any,
        headers: dict[str, str] | None,
        label: str,
        timeout: transport.Timeout,
        stream: bool = False,
    ) -> transport.Response:
        """The request sent and its answer's status and headers read; its body too unless *stream*."""
        hdrs = {"Accept": "application/json", "Content-Type": "application/json", **self._headers}
        hdrs.update(headers or {})
        with self._lock:
            self.requests[label] += 1
        try:
            return self._api.request(
                method, path, query=query, body=body, headers=hdrs, timeout=timeout, stream=stream
            )
        except Unusable as exc:  # the credentials could not be had (a plugin failed)
            raise ClusterError(path, 0, str(exc)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(path, 0, connection.no_answer(self.server, exc)) from None

    def _read(self, response: transport.Response, path: str) -> bytes:
        try:
            return response.data  # read now when streamed, kept when read already
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(path, 0, connection.no_answer(self.server, exc)) from None


class Stream:
    """An open WATCH. Iterating gives (type, object) per event as the server sends it: ADDED,
    MODIFIED, DELETED, or BOOKMARK (whose object carries only a newer resourceVersion). It ends
    when the server ends the stream (timeoutSeconds), the connection is cut, or close() is
    called from another thread. An ERROR event raises: Gone for 410, else ClusterError."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, where: str) -> None:
        self._raw = raw
        self.where = where
        self.cut = False  # ended by a cut connection or close(), not by the server

    def __iter__(self) -> Iterator[tuple[str, Obj]]:
        pending, ended = b"", False
        try:
            for chunk in self._raw.stream(STREAM_READ):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield self._event(line)
            ended = not self.cut
        except (urllib3.exceptions.HTTPError, OSError):
            self.cut = True  # the caller watches again from the last resourceVersion it saw
        finally:
            if not ended:  # cut, closed, or left half-read by the caller: never back into the pool
                self._raw.close()
            self._raw.release_conn()

    def _event(self, line: bytes) -> tuple[str, Obj]:
        event = decode.loads(line)
        kind, obj = str(event.get("type", "")), event.get("object") or {}
        if kind == "ERROR":  # a Status: 410 when the resourceVersion is older than the server keeps
            code = int(obj.get("code") or 0)
            message = f"{obj.get('message') or 'watch failed'} (HTTP {code})"
            raise (Gone if code == 410 else ClusterError)(self.where, code, message)
        return kind, obj

    def close(self) -> None:
        """End the stream now: a read blocked in another thread returns."""
        self.cut = True
        with contextlib.suppress(ValueError, RuntimeError, OSError):  # ended already: nothing blocks
            self._raw.shutdown()


def refuses_object(err: ClusterError) -> bool:
    """The server refused the object itself (invalid, or denied by admission: a quota, a policy,
    a disk that cannot resize), not the identity asking (RBAC) and not for a passing fault: asking
    again cannot change the answer. A value it cannot even decode (`cpu: lots`) is HTTP 500."""
    if err.status == 403:
        return not re.search(r"cannot [\w/]+ resource", err.message) and not quota_not_counted_yet(err)
    return err.status in (400, 422) or (err.status == 500 and "unable to convert" in err.message)


def quota_not_counted_yet(err: ClusterError) -> bool:
    """A quota made a moment ago whose usage the cluster has not counted yet: every object it
    limits is refused until then (a new environment's volume, made with its quota), for a second."""
    return err.status == 403 and "status unknown for quota" in err.message


def _strip(message: str) -> str:
    return message.split(": ", 1)[1] if ": " in message else message


def _error(where: str, status: int, data: bytes) -> ClusterError:
    try:
        message = str(json.loads(data).get("message") or data.decode(errors="replace"))
    except (ValueError, AttributeError):
        message = data.decode(errors="replace")[:300]
    message = f"{message or 'error'} (HTTP {status})"
    if status == 404:
        return NotFound(where, status, message)
    if status == 409:
        return Conflict(where, status, message)
    if status == 410:
        return Gone(where, status, message)
    if status == 403:  # plain words first (users read them in `unhazzle status`), the server's after
        return Forbidden(where, status, f"the cluster refused this: not allowed here; {message}")
    return ClusterError(where, status, message)


def connect(kubeconfig: str | None = None, context: str | None = None, *, timeout: float = 30.0) -> Client:
    """A client from a kubeconfig file, or the in-cluster service account when none is given
    (the reconciler normally runs in a pod: that comes before ~/.kube/config)."""
    try:
        api = transport.connect(kubeconfig, context, in_cluster_first=True)
    except Unusable as exc:
        path = connection.chosen(kubeconfig)
        reason = connection.reason(path, exc, context)
        raise OperationError(f"{path or 'kubeconfig'}: cannot load cluster settings: {reason}") from None
    return Client(api, timeout=timeout)
