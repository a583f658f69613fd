"""Pydantic's validation errors, rewritten as located problems in the user's own words."""

from __future__ import annotations

import contextlib
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from unhazzle.compiler.spec import model
from unhazzle.compiler.spec.positions import Path, Positions
from unhazzle.compiler.spec.suggest import hint
from unhazzle.errors import Problem

PATTERN_WORDS = {
    model.NAME_RE: "use lowercase letters, digits and '-', starting with a letter and not ending with '-'",
    model.ENV_VAR_RE: "use letters, digits and '_', not starting with a digit",
    model.IMAGE_RE: "write an image reference such as ghcr.io/acme/web:1.4.2 or "
    "redis:7.2-alpine (lowercase repository, optional :tag or @sha256:digest)",
    model.HEALTH_PATH_RE: "write a path that starts with '/' and has no spaces, such as /healthz",
    model.DOMAIN_RE: "write a lowercase domain name such as shop.example.com",
    model.AGE_RECIPIENT_RE: "write an age public key: age1 and 58 more lowercase letters and digits "
    "(`age-keygen -y KEYFILE` prints yours)",
}
MILLICORES = re.compile(r"^[0-9]{1,7}m$")  # Kubernetes' way of writing CPU: 500m is half a core
TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "literal_error": "",
    "none_required": "empty",
}


def problems_from(
    error: ValidationError,
    *,
    positions: Positions,
    root: type[BaseModel],
    prefixes: Sequence[Path],
) -> list[Problem]:
    """One problem per error; *prefixes* say where the validated data stands in the file
    (several when an environment override is merged over its base app)."""
    return [_problem(detail, positions, root, prefixes) for detail in error.errors()]


def _problem(
    detail: ErrorDetails, positions: Positions, root: type[BaseModel], prefixes: Sequence[Path]
) -> Problem:
    loc: Path = tuple(detail["loc"])
    # A key that is not text: a mapping's key (loc ends in '[key]') or a model's (invalid_key).
    # Its place is the key as loaded: pydantic's loc holds it as text ('None', '1.5') or as 1.
    bad_key = loc[-1:] == ("[key]",) or detail["type"] == "invalid_key"
    if bad_key:
        loc = (*loc[: -2 if loc[-1:] == ("[key]",) else -1], detail["input"])
    is_key = bad_key or detail["type"] == "extra_forbidden"
    full = [_loaded((*prefix, *loc), positions) for prefix in prefixes]
    # The last prefix (an environment's override) before the first (the base app): where both
    # spell a value out, the merged value is the override's
    if detail["type"] == "missing":
        line, col = positions.first_of([f[:-1] for f in reversed(full)], key=True)
    else:
        line, col = positions.first_of(full[::-1], key=is_key)
    about_key = detail["type"] in ("missing", "extra_forbidden") or (bad_key and detail["input"] is None)
    where = _dotted(full[-1][:-1] if about_key else full[-1], positions)
    if bad_key and detail["input"] is None:
        message = EMPTY_KEY
    elif detail["type"] == "invalid_key":
        message = _not_text(detail["input"])
    else:
        message = _message(detail, loc, root)
    return Problem(positions.file, line, col, f"{where}: {message}" if where else message)


EMPTY_KEY = "a key is empty (YAML reads null and ~ as nothing); write a name, in quotes if it is null"


def _loaded(path: Path, positions: Positions) -> Path:
    """*path* with each key pydantic turned into text ('None', '1.5') as it was loaded, so that
    a problem under an empty or numeric key is found in the file."""
    out: Path = ()
    for part in path:
        if (*out, part) not in positions.values and isinstance(part, str):
            part = next((key for key in _read_as(part) if (*out, key) in positions.values), part)
        out = (*out, part)
    return out


def _read_as(text: str) -> list[Any]:
    """The keys YAML may have read that pydantic writes as *text*."""
    keys: list[Any] = [None] if text == "None" else []
    with contextlib.suppress(ValueError):
        keys.append(float(text))
    return keys


def _not_text(value: Any) -> str:
    # YAML 1.2 reads 1.10, 0E0, true unquoted as a number or true/false (1.10 becomes 1.1)
    read_as = "true/false" if isinstance(value, bool) else "a number"
    return f"must be text, not {_shown(value)} (YAML reads it as {read_as}): put it in quotes"


def _message(detail: ErrorDetails, loc: Path, root: type[BaseModel]) -> str:
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    handler = MESSAGES.get(kind)
    if handler is not None:
        return handler(value, ctx, loc, root)
    if kind == "string_type" and isinstance(value, bool | int | float):
        return _not_text(value)
    if kind in TYPE_WORDS:
        return f"must be {TYPE_WORDS[kind]}, not {_shown(value)}{_instead(loc, value)}"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    return str(detail["msg"]).replace("Value error, ", "")


def _instead(loc: Path, value: Any) -> str:
    """What the user most likely meant, for the shapes people bring from elsewhere."""
    if loc[-1:] == ("instances",) and isinstance(value, int) and not isinstance(value, bool):
        return f"; for exactly {value}, write instances: {{min: {value}, max: {value}}}"
    if loc[-2:] == ("size", "cpu") and isinstance(value, str) and MILLICORES.match(value.strip()):
        cores = int(value.strip()[:-1]) / 1000
        return f"; CPU is counted in vCPUs here: write {cores:g} for {value.strip()}"
    return ""


def _unknown_key(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    known = sorted(_keys_at(root, loc[:-1]))
    return f"unknown key '{loc[-1]}'{hint(loc[-1], known)}"


def _missing(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    return f"missing required key '{loc[-1]}'"


def _literal(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    options = [o.strip().strip("'") for o in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
    listed = " | ".join(options)
    return f"{_shown(value)} is not allowed; choose {listed}{hint(value, options)}"


def _pattern(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    words = PATTERN_WORDS.get(str(ctx.get("pattern", "")), "it has characters that are not allowed")
    return f"{_shown(value)} is not valid: {words}"


def _too_long(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    limit = ctx.get("max_length")
    if isinstance(value, str):
        return f"{_shown(value)} is too long: at most {limit} characters"
    return f"has too many entries: at most {limit}"


def _too_short(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    if isinstance(value, str):
        return "must not be empty"
    return "needs at least one entry"


def _bound(word: str) -> Callable[[Any, Any, Path, type[BaseModel]], str]:
    def message(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
        limit = _limit(value, next(iter(ctx.values()))) if ctx else "?"
        return (
            f"{_shown(value)} is too {'small' if 'than' in word or 'least' in word else 'large'}: "
            f"must be {word} {limit}"
        )

    return message


def _finite(value: Any, ctx: Any, loc: Path, root: type[BaseModel]) -> str:
    """.inf, .nan, or more digits than a number holds ('1e400', four hundred 9s), which would
    read as infinite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isnan(number):
        return f"{_shown(value)} is not a number"
    return f"{_shown(value)} is too {'large' if number > 0 else 'small'}"


MESSAGES: dict[str, Callable[[Any, Any, Path, type[BaseModel]], str]] = {
    "finite_number": _finite,
    "extra_forbidden": _unknown_key,
    "missing": _missing,
    "literal_error": _literal,
    "string_pattern_mismatch": _pattern,
    # a lone surrogate, which only a YAML escape such as "\ud800" can produce
    "string_unicode": lambda v, c, loc, r: model.NOT_A_CHARACTER,
    "string_too_long": _too_long,
    "too_long": _too_long,
    "string_too_short": _too_short,
    "too_short": _too_short,
    "greater_than": _bound("more than"),
    "greater_than_equal": _bound("at least"),
    "less_than": lambda v, c, loc, r: f"{_shown(v)} is too large: must be less than {c.get('lt')}",
    "less_than_equal": _bound("at most"),
}


def _limit(value: Any, limit: Any) -> Any:
    """A size written with a unit ('300GB') is checked in MB; say the limit in the user's units."""
    if isinstance(value, str) and isinstance(limit, int) and model.SIZE_RE.match(value):
        return f"{limit // 1024}GB" if limit % 1024 == 0 else f"{limit}MB"
    if isinstance(value, str) and isinstance(limit, int) and model.DURATION_RE.match(value):
        # a duration ('8d') is checked in seconds: the limit in the largest unit that is whole
        unit = next(u for u in "dhms" if u == "s" or limit % model.DURATION_UNITS[u] == 0)
        return f"{limit // model.DURATION_UNITS[unit]}{unit}"
    if isinstance(limit, float) and limit.is_integer():
        return int(limit)  # 64, not 64.0
    return limit


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):  # as YAML writes them
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    text = str(value)
    return repr(text[:60] + ("..." if len(text) > 60 else "")) if isinstance(value, str) else text


def _dotted(path: Path, positions: Positions) -> str:
    """*path* as the user writes it: `apps.web.domains[0]`, a key as YAML spells it (`null`,
    `true`), and a number that is a key (`apps.1`) apart from a list's index."""
    parts = []
    for end, part in enumerate(path, 1):
        is_index = isinstance(part, int) and not isinstance(part, bool) and path[:end] not in positions.keys
        parts.append(f"[{part}]" if is_index else f".{_spelled(part)}")
    return "".join(parts).lstrip(".")


def _spelled(key: Any) -> str:
    if key is None:
        return "null"
    if isinstance(key, bool):
        return _shown(key)
    return str(key)


def _keys_at(root: type[BaseModel], loc: Path) -> set[str]:
    """The keys allowed at *loc*, found by walking the model's type hints."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return set()
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return set(current.model_fields)
    return set()


def _step(current: Any, part: str | int) -> Any:
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        field = current.model_fields.get(str(part))
        return field.annotation if field else None
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp
