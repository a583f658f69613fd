"""Real signing keys for signed-commit tests: SSH keys made by `ssh-keygen`, GPG keys made by
`gpg` in a throwaway keyring, and the Git environment that makes `git commit` sign with them."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import git

HAVE_GPG = shutil.which("gpg") is not None


@dataclass(frozen=True)
class Key:
    """A key that signs commits: `env` makes `git commit` sign with it (commit.gpgsign)."""

    name: str
    env: dict[str, str]
    trusted_line: str  # an allowed_signers line (SSH) or the armored public key (GPG)


def _git_config(**values: str) -> dict[str, str]:
    env = {"GIT_CONFIG_COUNT": str(len(values))}
    for i, (key, value) in enumerate(values.items()):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = key.replace("__", "."), value
    return env


def ssh_key(folder: Path, name: str) -> Key:
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(private)], check=True
    )
    public = private.with_suffix(".pub").read_text(encoding="utf-8").strip()
    env = _git_config(gpg__format="ssh", user__signingkey=str(private), commit__gpgsign="true")
    return Key(name, env, f"{name}@example.com {public}\n")


def gpg_key(folder: Path, name: str) -> Key:
    home = folder / f"gnupg-{name}"
    home.mkdir(parents=True, mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home), "--pinentry-mode", "loopback"]
    uid = f"{name} <{name}@example.com>"
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"], check=True)
    armored = subprocess.run([*gpg, "--armor", "--export", uid], check=True, capture_output=True, text=True)
    env = {
        "GNUPGHOME": str(home),
        **_git_config(user__signingkey=f"{name}@example.com", commit__gpgsign="true"),
    }
    return Key(name, env, armored.stdout)


def stop_gpg_agent(key: Key) -> None:
    """`gpg` started an agent for the throwaway keyring while signing; end it with the test."""
    subprocess.run(["gpgconf", "--homedir", key.env["GNUPGHOME"], "--kill", "gpg-agent"], check=False)


def tampered(work: git.Repo, commit: str) -> str:
    """A copy of a signed commit with another message: the signature no longer matches."""
    body = work.git.cat_file("commit", commit, strip_newline_in_stdout=False)
    lines = body.split("\n")
    lines[-2] = lines[-2] + " (edited after signing)"
    path = Path(work.git_dir) / "tampered-commit"
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(work.git.hash_object("-t", "commit", "-w", str(path)))


def push(work: git.Repo, commit: str, branch: str = "main") -> None:
    work.git.push("origin", f"{commit}:refs/heads/{branch}", "--force")
