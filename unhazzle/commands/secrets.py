"""`unhazzle secrets import|set|unset|list|keygen|rekey`: secret values, encrypted with age to the keys
the spec lists, stored in unhazzle.secrets/ENV.yaml. No command prints a value."""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from unhazzle.commands.common import DEFAULT_SPEC, compile_for, compile_spec, compiled_and_read, select_envs
from unhazzle.compiler.editing.secrets import (
    SecretsResult,
    listing,
    rekey_secrets,
    set_secrets,
    spec_with_recipient,
    unset_secrets,
)
from unhazzle.compiler.pipeline import Compiled
from unhazzle.compiler.spec.model import ENV_VAR_RE
from unhazzle.compiler.write import edit_file_atomic, make_folder
from unhazzle.errors import UsageError
from unhazzle.shared import age, readlimit

MAX_VALUE = 1024 * 1024
KEY_FILE_VARIABLE = "UNHAZZLE_AGE_KEY_FILE"

EXTRA = {
    "set": " Typed at a terminal it is not shown; piped (`pass show x | unhazzle secrets set ...`), "
    "one final newline is dropped. Never on the command line, which shells keep in their history.",
    "rekey": " Run it after changing the keys in the spec; it needs a key that can read the values now.",
    "keygen": " The secret key goes to a file of its own (mode 600, never into the project); its public "
    "key is added to the spec, so `secrets set` can encrypt to it and whoever holds the file (you, "
    "the reconciler with --secrets-key-file) can read the values.",
}
Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_parser(sub: Sub) -> None:
    parser = sub.add_parser(
        "secrets",
        help="secret values, encrypted",
        description="Secret values, encrypted with age to the keys the spec lists and stored in "
        "unhazzle.secrets/ENV.yaml next to the spec. Values are never printed.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    _verb(verbs, "import", "encrypt and store every value of a JSON file", run_import, file=True, app=True)
    _verb(
        verbs, "set", "encrypt and store one value, read from standard input", run_set, app=True, names="one"
    )
    _verb(verbs, "unset", "remove stored values", run_unset, app=True, names="many")
    listing_parser = _verb(verbs, "list", "names and when each was set, never values", run_list, env=False)
    listing_parser.add_argument("--env", metavar="ENV", help="only this environment")
    listing_parser.add_argument(
        "--output", choices=["text", "json"], default="text", help="text (default) or json; never a value"
    )
    keygen = _verb(
        verbs, "keygen", "make a key for the secrets and add it to the spec", run_keygen, env=False
    )
    keygen.add_argument("--env", metavar="ENV", help="add it for this environment only (default: all)")
    keygen.add_argument(
        "--out",
        metavar="KEYFILE",
        help="where the secret key goes (default: ~/.config/unhazzle/keys/PROJECT.agekey)",
    )
    rekey = _verb(verbs, "rekey", "encrypt every value again, to the keys the spec lists now", run_rekey)
    rekey.add_argument(
        "--identity",
        metavar="KEYFILE",
        help=f"an age key file that can read the values (default: ${KEY_FILE_VARIABLE})",
    )


def _verb(
    verbs: Sub,
    name: str,
    text: str,
    run: Callable[[argparse.Namespace], int],
    *,
    file: bool = False,
    app: bool = False,
    names: str = "",
    env: bool = True,
) -> argparse.ArgumentParser:
    description = text[0].upper() + text[1:] + "." + EXTRA.get(name, "")
    parser = verbs.add_parser(name, help=text, description=description)
    if file:
        parser.add_argument("file", metavar="FILE.json", help='a JSON object {"NAME": "value", ...}')
        parser.add_argument("--app", required=True, metavar="APP")
    elif app:
        parser.add_argument("app", metavar="APP")
    if names:
        parser.add_argument("names", nargs="+" if names == "many" else None, metavar="NAME")
    if env:
        parser.add_argument("--env", required=True, metavar="ENV", help="the environment")
    parser.add_argument(
        "--spec", default=DEFAULT_SPEC, metavar="SPEC", help=f"the spec (default: ./{DEFAULT_SPEC})"
    )
    parser.set_defaults(run=run)
    return parser


def _compiled(args: argparse.Namespace) -> Compiled:
    return compile_for(args.spec, env=args.env, app=getattr(args, "app", None))


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def run_import(args: argparse.Namespace) -> int:
    compiled, entries = compiled_and_read(lambda: _compiled(args), args.file)  # (secrets files' problems too)
    values = {entry.key: entry.text for entry in entries}
    result = set_secrets(
        compiled, Path(args.spec), app=args.app, environment=args.env, values=values, today=_today()
    )
    return _report(result, args.app)


def run_set(args: argparse.Namespace) -> int:
    if not re.match(ENV_VAR_RE, args.names):
        raise UsageError(f"unhazzle secrets set: '{args.names}' is not a secret name (letters, digits and _)")
    compiled = _compiled(args)
    value = _read_value(args.names)
    result = set_secrets(
        compiled,
        Path(args.spec),
        app=args.app,
        environment=args.env,
        values={args.names: value},
        today=_today(),
    )
    return _report(result, args.app)


def _read_value(name: str) -> str:
    """The value from standard input, never from the command line (which shells keep in their
    history). Typed at a terminal it is not echoed; piped, one final newline is dropped."""
    if sys.stdin.isatty():
        return getpass.getpass(f"value of {name} (not shown): ")
    raw = sys.stdin.buffer.read(MAX_VALUE + 1)
    if len(raw) > MAX_VALUE:
        raise UsageError(f"unhazzle secrets set: the value is larger than {MAX_VALUE // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("unhazzle secrets set: the value is not UTF-8 text") from None
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def run_unset(args: argparse.Namespace) -> int:
    compiled = _compiled(args)
    result = unset_secrets(compiled, Path(args.spec), app=args.app, environment=args.env, names=args.names)
    return _report(result, args.app)


def run_list(args: argparse.Namespace) -> int:
    compiled = compile_spec(args.spec)
    envs = [env.name for env in select_envs(compiled, args.env)]
    rows = listing(compiled, envs)
    if args.output == "json":
        found = []
        for env, app, name, state in rows:
            word, _, day = state.partition(" ")
            found.append(
                {"environment": env, "app": app, "name": name, "state": word, "updated": day or None}
            )
        print(json.dumps({"format": 1, "secrets": found}, indent=2))
        return 0
    if not rows:
        print("no app lists a secret")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    for notice in compiled.secrets.notices:
        print(notice, file=sys.stderr)
    return 0


def run_rekey(args: argparse.Namespace) -> int:
    compiled = _compiled(args)
    key_file = args.identity or os.environ.get(KEY_FILE_VARIABLE)
    if not key_file:
        raise UsageError(
            f"unhazzle secrets rekey: give --identity KEYFILE (or set {KEY_FILE_VARIABLE}): "
            "an age key that can read the current values"
        )
    try:
        identity = readlimit.read_text(key_file, readlimit.SMALL_FILE)
    except OSError as exc:
        raise UsageError(f"{key_file}: cannot read the key file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{key_file}: cannot read the key file: not text, so not an age key") from None
    result = rekey_secrets(compiled, Path(args.spec), environment=args.env, identity=identity)
    print(f"{result.file}: {len(result.changes.changed)} values encrypted again to the spec's keys")
    return 0


def run_keygen(args: argparse.Namespace) -> int:
    compiled = compile_spec(args.spec)
    if args.env is not None:
        select_envs(compiled, args.env)
    out = Path(args.out) if args.out else _keys_dir() / f"{compiled.spec.project}.agekey"
    secret, public = age.new_key()
    text = spec_with_recipient(compiled, public, environment=args.env)  # checked before anything is written
    _write_key(out, secret, public)
    edit_file_atomic(Path(args.spec), text)
    where = f"environment {args.env}" if args.env else "every environment"
    print(
        f"wrote a new secret key to {out}: keep it secret, and keep a copy (without it no value can be read)"
    )
    print(f"added its public key {public} to {args.spec} for {where}")
    print("next: `unhazzle secrets set APP NAME --env ENV`; the reconciler reads them with "
          f"`--secrets-key-file {out}`")  # fmt: skip
    return 0


def _write_key(out: Path, secret: str, public: str) -> None:
    """A new key file, readable by its owner alone; never over an existing file."""
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    try:
        make_folder(out.parent, mode=0o700)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(
            f"unhazzle secrets keygen: {out} exists; a key is never overwritten (it may be the only way "
            "to read values): choose another with --out"
        ) from None
    except OSError as exc:
        raise UsageError(f"unhazzle secrets keygen: cannot write {out}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(f"# created: {created}\n# public key: {public}\n{secret}\n")


def _keys_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "unhazzle" / "keys"


def _report(result: SecretsResult, app: str) -> int:
    changes = result.changes
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (
            ("added", changes.added),
            ("changed", changes.changed),
            ("removed", changes.removed),
        )
        if names
    ]
    print(f"{result.file}: {app}: {'; '.join(parts) or 'nothing changed'}")
    for other, names in result.also.items():  # a database's secret: every app using it, at once
        print(f"{result.file}: {other}: {', '.join(names)} set too (the same database)")
    for notice in result.notices:
        print(f"{result.file}: warning: {notice}", file=sys.stderr)
    return 0
