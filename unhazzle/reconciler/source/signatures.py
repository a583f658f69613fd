"""Signed commits: which keys may sign the environment repo's tip, and what Git's verdict means.

Git itself checks the signature (`%G?` of `git log`, the same check as `git verify-commit`):
SSH signatures against an allowed_signers file (`gpg.ssh.allowedSignersFile`), GPG signatures
against a private keyring under the reconciler's cache that holds only the trusted keys, so the
keys of whoever runs the reconciler never count. Only the tip is checked: a commit of the
environment repo is a whole snapshot, and the tip is all that is ever applied.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from unhazzle.errors import InputError, Problem, printable
from unhazzle.shared import readlimit

# The first word of an SSH public key, as allowed_signers lines carry it (ssh-keygen(1)).
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-", "sk-ssh-ed25519@", "sk-ecdsa-sha2-", "ssh-dss")
# `%G?` letters (git-log(1)) -> why the commit is refused; "G" (good, trusted) is the only pass.
REFUSALS = {
    "N": "the commit is not signed",
    "B": "bad signature (the commit does not match its signature)",
    "U": "signed by a key not trusted",
    "E": "signed by a key not trusted",
    "X": "the signature has expired",
    "Y": "signed by an expired key",
    "R": "signed by a revoked key",
}
FORMAT = "%G?%x00%GK%x00%GS"  # verdict, key, signer


@dataclass(frozen=True)
class Trust:
    """Where Git finds the trusted keys. Both are always set, so a signature of the other kind
    is checked against nothing (and refused) rather than against some default keyring."""

    allowed_signers: Path
    gnupg_home: Path

    def git_env(self) -> dict[str, str]:
        return {
            "GNUPGHOME": str(self.gnupg_home),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "gpg.ssh.allowedSignersFile",
            "GIT_CONFIG_VALUE_0": str(self.allowed_signers),
        }


def refusal(log_line: str) -> str:
    """Pure: `git log -1 --format=FORMAT` output -> why the commit is refused ("" when trusted)."""
    code, _, rest = log_line.strip("\n").partition("\x00")
    key, _, signer = rest.partition("\x00")
    if code == "G":
        return ""
    why = REFUSALS.get(code, f"the signature could not be checked (git says '{code}')")
    details = ", ".join(part for part in (f"key {key}" if key else "", _signer(signer)) if part)
    return f"{why} ({details})" if details and code != "N" else why


def _signer(signer: str) -> str:
    line = signer.strip().splitlines()[0] if signer.strip() else ""
    # a key's user id is free text: one short printable line of it, or nothing
    return f"signer {printable(line)}" if line and len(line) < 200 and not line.startswith("Good ") else ""


def ssh_signers(text: str, *, where: str) -> int:
    """Pure: the number of key lines of an allowed_signers file; InputError at the first line that
    names no key, or when there is none at all."""
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if not any(word.startswith(SSH_KEY_TYPES) for word in words[1:]):
            raise _bad(where, "expected 'PRINCIPALS [OPTIONS] KEYTYPE KEY' (an allowed_signers line)", number)
        count += 1
    if count == 0:
        raise _bad(where, "no signing keys in the file")
    return count


def read_trusted_keys(ssh_file: Path | None, gpg_file: Path | None) -> tuple[str | None, str | None]:
    """The two files' text, each checked for its shape (InputError when it is wrong)."""
    ssh = gpg = None
    if ssh_file is not None:
        ssh = _read(ssh_file)
        ssh_signers(ssh, where=str(ssh_file))
    if gpg_file is not None:
        gpg = _read(gpg_file)
        if "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in gpg:
            raise _bad(gpg_file, "expected armored public keys (gpg --armor --export)")
    return ssh, gpg


def load(ssh_file: Path | None, gpg_file: Path | None, home: Path) -> Trust | None:
    """The trust settings from the command line (None: signatures are not required). The GPG
    keyring is built afresh each start, so a key removed from the file is no longer trusted."""
    if ssh_file is None and gpg_file is None:
        return None
    read_trusted_keys(ssh_file, gpg_file)
    home.mkdir(parents=True, exist_ok=True)
    allowed = home / "no-ssh-signers"
    if ssh_file is not None:
        # Git reads it on every check; not resolved, as a mounted ConfigMap swaps a symlink
        allowed = ssh_file.absolute()
    else:
        allowed.write_text("", encoding="utf-8")
    gnupg = home / "gnupg"
    shutil.rmtree(gnupg, ignore_errors=True)
    gnupg.mkdir(mode=0o700)
    if gpg_file is not None:
        _import_gpg(gpg_file, gnupg)
    return Trust(allowed, gnupg)


def _bad(where: str | Path, message: str, line: int = 1) -> InputError:
    return InputError([Problem(str(where), line, 1, message)])


def _read(path: Path) -> str:
    try:
        return readlimit.read_text(path, readlimit.SMALL_FILE)
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"cannot read the trusted keys: {readlimit.reason(exc)}") from None


def _import_gpg(keys: Path, home: Path) -> None:
    """Import the armored public keys and trust them fully (the keyring holds nothing else)."""
    _gpg(home, "--import", str(keys), where=keys)
    listing = _gpg(home, "--with-colons", "--list-keys", where=keys)
    fingerprints = _primary_fingerprints(listing)
    if not fingerprints:
        raise _bad(keys, "no public keys in the file")
    _gpg(home, "--import-ownertrust", where=keys, stdin="".join(f"{f}:6:\n" for f in fingerprints))


def _primary_fingerprints(colons: str) -> list[str]:
    """Pure: the fingerprint of each primary key in `gpg --with-colons` output."""
    found, after_pub = [], False
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and after_pub and len(fields) > 9:
            found.append(fields[9])
        after_pub = fields[0] == "pub"
    return found


def _gpg(home: Path, *args: str, where: Path, stdin: str | None = None) -> str:
    # --no-autostart: public keys need no agent, and no daemon is left behind
    argv = ["gpg", "--batch", "--quiet", "--no-autostart", "--homedir", str(home), *args]
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _bad(where, f"cannot run gpg to read the trusted keys: {exc}") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["gpg failed"])[-1]
        raise _bad(where, f"gpg cannot import the trusted keys: {message}")
    return done.stdout
