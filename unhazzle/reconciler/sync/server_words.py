"""Why the API server refused an object of a revision, in words a reader of the environment repo
follows: the file and line it was written at, the field and what is wrong with it, without the
server's plumbing ("failed to convert new object ... to proper version", HTTP codes).

Pure: the object, the server's message and where the object was written in, a sentence out.
"""

from __future__ import annotations

import re

from unhazzle.reconciler.objects import Obj, Ref
from unhazzle.reconciler.sync.volumes import refusal_in_words

# Plumbing the server puts before the reason, most specific first.
_PLUMBING = (
    re.compile(r"^the cluster refused this: not allowed here; "),
    re.compile(r"^.*?unable to convert unstructured object to [^:]+: "),
    re.compile(r'^[\w.]+ "[^"]*" is (?:invalid|forbidden): '),
    re.compile(r"^admission webhook \"[^\"]+\" denied the request: "),
)
# The server's words -> ours, where its own are cryptic.
_KNOWN = (
    (
        "quantities must match the regular expression",
        "a CPU, memory or disk amount is not a number the cluster can read (write it like 0.5, "
        "500m, 512Mi or 10Gi)",
    ),
    ("exceeded quota", "it does not fit in the environment's quota"),
    ("field is immutable", "a field that cannot change once the object exists was changed"),
)


def in_words(ref: Ref, message: str, *, desired: Obj, live: Obj | None) -> str:
    """`Kind/name: refused by the cluster: REASON` (a volume's: `NAMESPACE: app 'APP': ...`, no
    Kubernetes word); the caller puts the file and line before it."""
    volume = refusal_in_words(ref, message, desired=desired, live=live)  # already in the app's words
    return volume or f"{ref.kind}/{ref.name}: refused by the cluster: {reason(message)}"


def reason(message: str) -> str:
    """The server's reason without its plumbing, translated where we know better words."""
    text = re.sub(r"\s*\(HTTP \d+\)$", "", message.strip())
    for pattern in _PLUMBING:
        text = pattern.sub("", text, count=1)
    for marker, words in _KNOWN:
        if marker in text:
            return words
    return text
