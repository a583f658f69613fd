"""`unhazzle secrets keygen`: a public key added to the spec's `secrets.recipients` (or an
environment's) by round-trip editing, so the rest of the file stays as its author wrote it.

Pure: spec text in, spec text out; the caller validates and writes."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from unhazzle.compiler.editing.aliases import own_path
from unhazzle.compiler.editing.settings import dump, round_trip_yaml, splice


def add_recipient(text: str, key: str, *, environment: str | None = None) -> str:
    """*text* with *key* among the recipients of every environment, or of *environment* only."""
    yaml = round_trip_yaml(text)
    root = yaml.load(text)
    holder: Any = root
    if environment is not None:
        # An environment whose keys are an alias of another's gets its own: a key for staging
        # must not read production's values. (Every environment has the project's keys anyway.)
        own_path(root, ["environments", environment, "secrets", "recipients"])
        if root["environments"].get(environment) is None:
            root["environments"][environment] = CommentedMap()
        holder = root["environments"][environment]
    secrets = holder.get("secrets")
    if secrets is None:
        recipients = CommentedSeq([key])
        recipients.fa.set_flow_style()
        block = CommentedMap(recipients=recipients)
        if environment is None:  # where the example puts it: after the project's own keys
            keys = list(root)
            after = max((keys.index(k) for k in ("project", "region", "budget") if k in keys), default=-1)
            root.insert(after + 1, "secrets", block)
            if after >= 0 and keys[after] in root.ca.items:
                # The comment after the previous key introduces the key after it: keep it there.
                block.ca.items["recipients"] = root.ca.items.pop(keys[after])
            root.yaml_set_comment_before_after_key(
                "secrets", before="Who can read secret values: these public keys (`unhazzle secrets keygen`)."
            )
        else:
            block.fa.set_flow_style()
            holder["secrets"] = block
    elif key not in (secrets.get("recipients") or []):
        if secrets.get("recipients") is None:
            secrets["recipients"] = CommentedSeq()
        secrets["recipients"].append(key)
    edited = dump(yaml, root)
    spliced = splice(text, dump(yaml, yaml.load(text)), edited)
    return spliced if yaml.load(spliced) == yaml.load(edited) else edited
