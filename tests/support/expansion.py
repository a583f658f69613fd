"""Kubernetes' expansion of `$(NAME)` and `$$` in a container's env values, command and args,
as the kubelet applies it: what the process really gets from a rendered Deployment."""

from __future__ import annotations

from typing import Any

OPERATOR, OPENER, CLOSER = ord("$"), ord("("), ord(")")


def expand(value: str, mapping: dict[str, str]) -> str:
    """Kubernetes' expansion (k8s.io/kubernetes third_party/forked/golang/expansion, Expand and
    tryReadVariableName), byte for byte as the Go code walks a string: `$$` is one `$`; `$(NAME)`
    is NAME's value when NAME is defined, else stays as written; an unterminated `$(` stays; a
    `$` before anything else stays, with the next byte read as a rune (Go's string(byte))."""
    data = value.encode("utf-8")
    out, checkpoint, cursor = bytearray(), 0, 0
    while cursor < len(data):
        if data[cursor] == OPERATOR and cursor + 1 < len(data):
            out += data[checkpoint:cursor]
            rest = data[cursor + 1 :]
            if rest[0] == OPERATOR:
                read, advance = b"$", 1
            elif rest[0] == OPENER:
                end = rest.find(bytes([CLOSER]), 1)
                if end > 0:
                    name = rest[1:end].decode("utf-8", errors="surrogateescape")
                    found = mapping.get(name)
                    read = found.encode("utf-8") if found is not None else b"$(" + rest[1:end] + b")"
                    advance = end + 1
                else:
                    read, advance = b"$(", 1
            else:
                read, advance = b"$" + chr(rest[0]).encode("utf-8"), 1
            out += read
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return (bytes(out) + data[checkpoint:]).decode("utf-8", errors="surrogateescape")


def container_as_run(container: dict[str, Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """The env, command and args the process gets: each env value expanded with the variables
    defined before it, the command and args with all of them (kubelet's makeEnvironmentVariables
    and ExpandContainerCommandAndArgs)."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(item["value"], env)
    command = [expand(part, env) for part in container.get("command", [])]
    args = [expand(part, env) for part in container.get("args", [])]
    return env, command, args
