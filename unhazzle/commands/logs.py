"""`unhazzle logs APP [--env ENV] [--tail 100] [--follow] [--previous] [--instance N] [--since 10m]`:
what the app printed, every instance merged in time order with a short instance prefix. While
following, new instances are picked up as they start (as stern does); Ctrl-C ends it cleanly."""

from __future__ import annotations

import argparse
import contextlib
import queue
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from unhazzle.commands.flags import checked_by
from unhazzle.commands.target import Env, add_target, environments, resolve
from unhazzle.errors import OperationError, UsageError, at_once
from unhazzle.shared.numbers import whole_number

# RFC 3339 with up to 9 fraction digits, as the API prefixes each line when timestamps=true.
STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?")
POLL_S = 2.0


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "logs",
        help="what an app printed, all instances merged (or a job, its runs)",
        description="The app's output, all instances merged with a short instance prefix; for a "
        "scheduled job, the output of the runs the cluster keeps (the last 3 that succeeded and "
        "the last 3 that failed), one prefix per run.",
    )
    add_target(parser, app="required")
    parser.add_argument("--tail", type=int, default=100, metavar="N", help="last N lines per instance (100)")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    parser.add_argument(
        "--previous", action="store_true", help="the output of the run before the last restart"
    )
    parser.add_argument("--instance", metavar="N", help="only this instance (its number or its id)")
    parser.add_argument("--since", metavar="DURATION", help="only lines this recent, e.g. 10m")
    parser.add_argument("--timestamps", action="store_true", help="show each line's time")
    parser.set_defaults(run=run, check_flags=checked_by(_options))


def split_stamp(line: bytes) -> tuple[str, str]:
    """(sortable time key, the line without its time). Lines without a time sort first."""
    match = STAMP.match(line)
    text = line[match.end() :] if match else line
    if not match:
        return "", text.decode("utf-8", "replace").rstrip("\r")
    key = f"{match.group(1).decode()}.{(match.group(2) or b'').decode():0<9}{match.group(3).decode()}"
    return key, text.decode("utf-8", "replace").rstrip("\r")


def merge(streams: dict[str, list[bytes]], *, timestamps: bool = False) -> list[str]:
    """Each instance's lines (with API timestamps) into one list in time order, prefixed
    `[id]`; a stable sort, so one instance's lines never swap places."""
    rows = []
    for ident, lines in streams.items():
        for line in lines:
            key, text = split_stamp(line)
            rows.append((key, ident, text))
    rows.sort(key=lambda row: row[0])
    return [_line(ident, text, key if timestamps else "") for key, ident, text in rows]


def _line(ident: str, text: str, key: str) -> str:
    stamp = f"{key[:23]}Z " if key else ""
    return f"[{ident}] {stamp}{text}"


def _options(args: argparse.Namespace) -> dict[str, str]:
    """What the flags ask of the log reads; every bad value at once."""
    from unhazzle.observe import words

    def tail() -> dict[str, str]:
        if not 0 <= args.tail <= 100_000:
            raise UsageError(f"--tail: {args.tail} is out of range (0-100000)")
        return {"timestamps": "true", "tailLines": str(args.tail)}

    def since() -> dict[str, str]:
        try:
            return {"sinceSeconds": str(int(words.window(args.since).total_seconds()))} if args.since else {}
        except ValueError as err:
            raise UsageError(f"--since: {err}") from None

    def previous() -> dict[str, str]:
        if args.previous and args.follow:
            raise UsageError("--previous: cannot be combined with --follow (that run has ended)")
        return {"previous": "true"} if args.previous else {}

    found: dict[str, str] = {}
    for part in at_once(tail, since, previous):
        found |= part
    return found


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe import reads as observe

    options = _options(args)
    target = resolve(args)
    reader = observe.connect(args.kubeconfig)
    envs = environments(target, reader)
    if args.follow or args.instance:
        env = _one_env(envs, args.app, why="--follow" if args.follow else "--instance")
        found = observe.pods(reader, env.namespace, args.app, job=target.job)
        pods = _chosen(found, app=args.app, instance=args.instance)
        if args.follow:
            return Follower(
                reader,
                env.namespace,
                args.app,
                options,
                instance=args.instance,
                timestamps=args.timestamps,
                job=target.job,
            ).run(pods)
        envs = [env]
    # Every environment the app runs in (the help's default), each instance named by environment
    # too when there are several.
    streams = {}
    for env in envs:
        found = observe.pods(reader, env.namespace, args.app, job=target.job)
        if not found and len(envs) > 1:
            continue
        for ident, name in _chosen(found, app=args.app, instance=args.instance):
            key = f"{env.name}/{ident}" if len(envs) > 1 else ident
            streams[key] = _read(reader, env.namespace, name, app=args.app, options=options)
    if not streams:
        raise OperationError(f"app {args.app}: no instances are running (see unhazzle status {args.app})")
    for line in merge(streams, timestamps=args.timestamps):
        print(line)
    return 0


def _one_env(envs: list[Env], app: str, *, why: str) -> Env:
    if len(envs) == 1:
        return envs[0]
    names = ", ".join(e.name for e in envs)
    raise UsageError(f"--env: {app} runs in several environments ({names}); {why} needs one: add --env")


def _chosen(pods: list[dict[str, Any]], *, app: str, instance: str | None) -> list[tuple[str, str]]:
    """(short id, full name) of the instances to read, oldest first; --instance picks one by its
    number in this order (1, 2, ...) or by its id."""
    from unhazzle.observe.overview import instance_id

    ordered = sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]))
    found = [(instance_id(p["metadata"]["name"], app), p["metadata"]["name"]) for p in ordered]
    if not found:
        raise OperationError(f"app {app}: no instances are running (see unhazzle status {app})")
    if instance is None:
        return found
    number = whole_number(instance)
    if number is not None and 1 <= number <= len(found):
        return [found[number - 1]]
    picked = [item for item in found if instance in item]
    if not picked:
        ids = ", ".join(f"{n} ({i})" for n, (i, _) in enumerate(found, 1))
        raise UsageError(f"--instance: {app} has no instance '{instance}'; it has {ids}")
    return picked


def _read(reader: Any, namespace: str, pod: str, *, app: str, options: dict[str, str]) -> list[bytes]:
    from unhazzle.observe import reads as observe

    try:
        return list(observe.log_lines(reader, namespace, pod, container=app, options=options))
    except observe.ClusterReadError as err:
        if err.status == 400:  # not started yet, or no previous run: say so, read the others
            why = _why(str(err), previous="previous" in options)
        elif err.status >= 500:  # the API server could not reach the machine: read the others
            why = "the machine it runs on does not hand over its output right now"
        else:
            raise
        print(f"unhazzle: instance {pod}: {why}", file=sys.stderr)
        return []


def _why(message: str, *, previous: bool = False) -> str:
    from unhazzle.observe.words import scrub

    if previous or "previous terminated container" in message:
        return "has not restarted, so there is no previous run"
    if "waiting to start" in message or "ContainerCreating" in message:
        return "has not started yet"
    return scrub(message.split(": ", 1)[-1])


@dataclass
class Follower:
    """One reading thread per instance, all feeding one queue the main thread prints from; a
    poll every POLL_S seconds starts threads for instances that appeared (or whose stream ended)."""

    reader: Any
    namespace: str
    app: str
    options: dict[str, str]
    instance: str | None = None
    timestamps: bool = False
    job: bool = False  # `app` is a scheduled job: its runs' instances
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    live: dict[str, threading.Thread] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    # The newest line seen per instance, so a re-opened stream repeats nothing.
    seen: dict[str, str] = field(default_factory=dict)

    def run(self, pods: list[tuple[str, str]]) -> int:
        self._start(pods, first=True)
        next_poll = time.monotonic() + POLL_S
        try:
            while True:
                with contextlib.suppress(queue.Empty):
                    print(self.lines.get(timeout=0.2), flush=True)
                if time.monotonic() >= next_poll:
                    self._poll()
                    next_poll = time.monotonic() + POLL_S
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop.set()

    def _poll(self) -> None:
        from unhazzle.observe import reads as observe

        try:
            pods = _chosen(
                observe.pods(self.reader, self.namespace, self.app, job=self.job),
                app=self.app,
                instance=self.instance,
            )
        except (OperationError, UsageError):
            return  # between instances, or a blip: keep following what we have
        self._start(pods, first=False)

    def _start(self, pods: list[tuple[str, str]], *, first: bool) -> None:
        for ident, name in pods:
            if name in self.live and self.live[name].is_alive():
                continue
            options = self._options(name, first=first)
            thread = threading.Thread(target=self._pump, args=(ident, name, options), daemon=True)
            self.live[name] = thread
            thread.start()

    def _options(self, name: str, *, first: bool) -> dict[str, str]:
        """At start: the user's --tail/--since. Later, a new instance is read from its start, and
        one whose stream ended is re-opened from the last line shown (repeats are dropped)."""
        options = {**self.options, "follow": "true"}
        if first:
            return options
        options.pop("tailLines", None)
        last = self.seen.get(name, "")
        if last:
            options.pop("sinceSeconds", None)
            options["sinceTime"] = last[:19] + "Z"
        return options

    def _pump(self, ident: str, name: str, options: dict[str, str]) -> None:
        from unhazzle.observe import reads as observe

        try:
            for line in observe.log_lines(
                self.reader, self.namespace, name, container=self.app, options=options
            ):
                if self.stop.is_set():
                    return
                key, text = split_stamp(line)
                if key and key <= self.seen.get(name, ""):
                    continue
                self.seen[name] = key or self.seen.get(name, "")
                self.lines.put(_line(ident, text, key if self.timestamps else ""))
        except OperationError:
            return  # the instance went away or has not started: the next poll decides
