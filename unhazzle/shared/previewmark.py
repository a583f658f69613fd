"""`_preview.json`, in a preview environment's folder of the environment repo: what makes a folder
a preview (publish leaves it alone, the reconciler may remove all of it) and when it expires.
Written by `unhazzle preview-env up`, read by publish, `preview-env list` and the reconciler. Pure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

FORMAT = 1
TIME = "%Y-%m-%dT%H:%M:%SZ"


class BadMark(ValueError):
    """The file is not a preview marker this version can read."""


@dataclass(frozen=True)
class PreviewMark:
    name: str  # the preview environment's name (its folder's)
    source: str  # the environment it copies
    created_at: str  # UTC, TIME
    expires_at: str  # UTC, TIME: the reconciler removes it after this
    monthly_eur_min: str  # what it costs a month at its fewest and most instances, "12.34"
    monthly_eur_max: str
    urls: list[str] = field(default_factory=list)  # public addresses
    internal: dict[str, str] = field(default_factory=dict)  # app -> internal address

    def expired(self, now: datetime) -> bool:
        return when(self.expires_at) <= now

    def to_bytes(self) -> bytes:
        return (json.dumps({"format": FORMAT, **asdict(self)}, indent=2, sort_keys=True) + "\n").encode()


def when(text: str) -> datetime:
    return datetime.strptime(text, TIME).replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME)


def parse(data: bytes | str) -> PreviewMark:
    """The marker in *data*; BadMark, in words, when it is not one."""
    try:
        doc = json.loads(data)
    except ValueError as err:
        raise BadMark(f"not JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadMark(f"not a preview marker of format {FORMAT}")
    try:
        mark = PreviewMark(
            name=_text(doc, "name"),
            source=_text(doc, "source"),
            created_at=_text(doc, "created_at"),
            expires_at=_text(doc, "expires_at"),
            monthly_eur_min=_text(doc, "monthly_eur_min"),
            monthly_eur_max=_text(doc, "monthly_eur_max"),
            urls=_texts(doc.get("urls", []), "urls"),
            internal=_text_map(doc.get("internal", {}), "internal"),
        )
        when(mark.created_at), when(mark.expires_at)
        for key in ("monthly_eur_min", "monthly_eur_max"):
            _euros(getattr(mark, key), key)
    except (ValueError, TypeError, AttributeError) as err:
        raise BadMark(str(err)) from None
    return mark


def _euros(text: str, key: str) -> Decimal:
    """A cost as publish writes it: a finite, non-negative number of euros."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadMark(f"'{key}' is not a number of euros") from None
    if not value.is_finite() or value < 0:
        raise BadMark(f"'{key}' is not a number of euros")
    return value


def _texts(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadMark(f"'{key}' is not a list of text")
    return list(value)


def _text_map(value: object, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadMark(f"'{key}' is not a mapping of text to text")
    return dict(value)


def _text(doc: dict[str, object], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise BadMark(f"'{key}' is missing")
    return value
