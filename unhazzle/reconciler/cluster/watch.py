"""Follow objects by WATCH, as client-go's informers do, instead of listing them again and again.

One Reflector per kind and namespace: one LIST gives the objects and a resourceVersion, then a
WATCH from it (with bookmarks, so the resourceVersion stays recent while nothing changes), in a
thread of its own:
- the server ends each watch after `timeout_seconds`, or the connection is cut: watch again from
  the last resourceVersion seen, without listing;
- 410 Gone (the server no longer keeps changes that old): list again, then watch from there;
- no answer: wait (doubling, up to a cap) and watch again from the same resourceVersion (the
  server is likely back where it was); any other refusal: wait, then list again;
- only what `keep` takes of each object stays in memory, never a whole object or list answer;
- every change calls `changed`, so whoever waits on these objects wakes then, not on a timer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from unhazzle.reconciler.cluster.client import Client, ClusterError, Gone, Stream
from unhazzle.reconciler.objects import Obj

TIMEOUT_S = 300  # per watch, as client-go's minimum; the server ends it then, and we watch again
BACKOFF_S = (0.5, 8.0)  # first wait after a failure, and the cap as it doubles
KEPT = ("ADDED", "MODIFIED")


class Reflector:
    """The objects of one kind in one namespace, kept up to date by a watch."""

    def __init__(
        self,
        client: Client,
        api_version: str,
        kind: str,
        *,
        namespace: str,
        selector: str = "",
        keep: Callable[[Obj], Obj] = dict,
        changed: Callable[[], None] = lambda: None,
        timeout_seconds: int = TIMEOUT_S,
    ) -> None:
        self.client, self.api_version, self.kind = client, api_version, kind
        self.namespace, self.selector, self.timeout_seconds = namespace, selector, timeout_seconds
        self._keep, self._changed = keep, changed
        self._items: dict[str, Obj] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stream: Stream | None = None
        self._thread: threading.Thread | None = None
        self.resource_version = ""  # the last one seen; "" after Gone: list again
        self.version = 0  # counts the changes taken, so a reader can tell nothing changed

    def start(self) -> None:
        """The first LIST in the caller's thread (a failure is the caller's to report, as any
        LIST's); the watch from it in a thread of its own."""
        self._list()
        self._thread = threading.Thread(
            target=self._run, name=f"watch {self.kind}/{self.namespace}", daemon=True
        )
        self._thread.start()

    def items(self) -> list[Obj]:
        with self._lock:
            return list(self._items.values())

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.close()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _list(self) -> None:
        items, resource_version = self.client.list_to_watch(
            self.api_version, self.kind, namespace=self.namespace, selector=self.selector, keep=self._keep
        )
        with self._lock:
            self._items = {item["metadata"]["name"]: item for item in items}
            self.resource_version = resource_version
            self.version += 1
        self._changed()

    def _run(self) -> None:
        wait = BACKOFF_S[0]
        while not self._stop.is_set():
            try:
                if not self.resource_version:
                    self._list()
                if self._watch():
                    wait = BACKOFF_S[0]  # it delivered: all is well, watch again at once
                    continue
            except Gone:
                self.resource_version = ""  # too old: list again, at once
                continue
            except ClusterError as err:
                if err.status != 0:  # refused (not just unanswered): list again after the wait
                    self.resource_version = ""
            if self._stop.wait(wait):
                return
            wait = min(wait * 2, BACKOFF_S[1])

    def _watch(self) -> bool:
        """One watch until it ends; whether it ended well (by the server, or after events)."""
        stream = self.client.watch(
            self.api_version,
            self.kind,
            namespace=self.namespace,
            resource_version=self.resource_version,
            selector=self.selector,
            timeout_seconds=self.timeout_seconds,
        )
        self._stream = stream
        if self._stop.is_set():  # stop() came while the watch was being opened
            stream.close()
        delivered = False
        try:
            for event, obj in stream:
                self._take(event, obj)
                delivered = True
        finally:
            self._stream = None
        return delivered or not stream.cut

    def _take(self, event: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        kept = self._keep({"apiVersion": self.api_version, "kind": self.kind, **obj}) if event in KEPT else {}
        with self._lock:
            if event in KEPT:
                self._items[meta["name"]] = kept
            elif event == "DELETED":
                self._items.pop(meta["name"], None)
            self.resource_version = str(meta.get("resourceVersion") or self.resource_version)
            if event == "BOOKMARK":
                return
            self.version += 1
        self._changed()


class NamespaceWatch:
    """Several kinds of one namespace, watched together (one Reflector each)."""

    def __init__(
        self,
        client: Client,
        kinds: Iterable[tuple[str, str]],
        *,
        namespace: str,
        selector: str = "",
        keep: Callable[[Obj], Obj] = dict,
        changed: Callable[[], None] = lambda: None,
        timeout_seconds: int = TIMEOUT_S,
    ) -> None:
        self.namespace = namespace
        self.reflectors = [
            Reflector(client, api_version, kind, namespace=namespace, selector=selector, keep=keep,
                      changed=changed, timeout_seconds=timeout_seconds)
            for api_version, kind in kinds
        ]  # fmt: skip

    def start(self) -> None:
        """Each kind listed, then watched; if one cannot be listed, none is left watching."""
        try:
            for reflector in self.reflectors:
                reflector.start()
        except ClusterError:
            self.stop()
            raise

    @property
    def version(self) -> int:
        return sum(r.version for r in self.reflectors)

    def objects(self) -> list[Obj]:
        return [obj for reflector in self.reflectors for obj in reflector.items()]

    def stop(self) -> None:
        for reflector in self.reflectors:
            reflector.stop()
