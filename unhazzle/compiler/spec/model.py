"""The unhazzle.yaml model (format version 1). Pure data: imports nothing of ours.

Field descriptions become the JSON Schema that editors show, so they speak the user's words.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FiniteFloat,
    StrictBool,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticKnownError

from unhazzle.compiler.spec.yamlonly import YamlOnly

NAME_RE = r"^[a-z]([a-z0-9-]*[a-z0-9])?$"
ENV_VAR_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
# OCI reference: [registry[:port]/]path[:tag][@digest]; checked loosely, then by parts.
IMAGE_RE = (
    r"^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
HEALTH_PATH_RE = r"^/[^\s]*$"
DOMAIN_RE = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
# re.ASCII: digits, blanks and units as written on a keyboard; a look-alike letter (the dotless i
# matches 'i' when case is ignored) must not reach the unit table
SIZE_RE = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(MB|GB|TB|MiB|GiB|TiB|Mi|Gi|Ti|M|G|T)?\s*$", re.IGNORECASE | re.ASCII
)
UNIT_MB = {
    "m": 1,
    "mb": 1,
    "mi": 1,
    "mib": 1,
    "g": 1024,
    "gb": 1024,
    "gi": 1024,
    "gib": 1024,
    "t": 1024 * 1024,
    "tb": 1024 * 1024,
    "ti": 1024 * 1024,
    "tib": 1024 * 1024,
}
# Past this many digits a number is larger than every limit in the spec (10TB is 8 digits of MB),
# so it is read as 10**MAX_NUMBER_DIGITS: the limit's own "too large", and never a conversion that
# fails (Python refuses integers over 4,300 digits) or that a megabyte of digits makes slow.
MAX_NUMBER_DIGITS = 24
# 2**-20 TB, the finest fraction that is still a whole number of MB, has 20 decimals: with more
# (past trailing zeros), no unit makes a size whole
MAX_SIZE_DECIMALS = 20


def _whole(digits: str) -> int:
    """ASCII *digits* as a number, at most 10**MAX_NUMBER_DIGITS (see there)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_NUMBER_DIGITS else 10**MAX_NUMBER_DIGITS


def _size_mb(value: Any) -> Any:
    """'512MB' -> 512, '10GB' -> 10240; MB and GB mean MiB and GiB, as Kubernetes bills them.
    Exact arithmetic: 0.1GB is not whole, and no number of digits can overflow."""
    if isinstance(value, bool):
        return value  # rejected by the int check with a clear message
    if isinstance(value, int):
        return value  # a bare number is megabytes
    if not isinstance(value, str):
        return value
    match = SIZE_RE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a size; write it like 512MB or 10GB")
    whole, _, decimals = match.group(1).partition(".")
    decimals = decimals.rstrip("0")
    if len(decimals) > MAX_SIZE_DECIMALS:
        raise ValueError(f"'{value}' is not a whole number of megabytes")
    number = _whole(whole) + Fraction(_whole(decimals), 10 ** len(decimals))
    mb = number * UNIT_MB[(match.group(2) or "MB").lower()]
    if mb.denominator != 1:
        raise ValueError(f"'{value}' is not a whole number of megabytes")
    return int(mb)


DURATION_RE = re.compile(r"^\s*([0-9]+)\s*(s|m|h|d)?\s*$", re.ASCII)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration_s(value: Any) -> Any:
    """'90s', '10m', '2h', '1d' -> seconds; a bare number is seconds."""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    match = DURATION_RE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write it like 90s, 10m, 2h or 1d")
    return _whole(match.group(1)) * DURATION_UNITS[match.group(2) or "s"]


def _no_bool(kind: str, **context: Any) -> Any:
    """A validator refusing true and false as pydantic's own *kind* of error would: Python counts
    True as the number 1, which neither YAML nor the JSON Schema does."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticKnownError(kind, context or None)  # type: ignore[arg-type]
        return value

    return BeforeValidator(check)


# Only a YAML escape such as "\ud800" makes one: no manifest reader (Go's YAML, the cluster's)
# takes it, so text that reaches a manifest is refused with it (pydantic itself refuses it only
# in a field with a pattern or a length)
NOT_A_CHARACTER = "holds an escape (\\uD800-\\uDFFF) that is no character; write the character itself"
_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=256)
def _holds_no_character(text: str) -> bool:
    """Checked once per text: a shared setting is validated again for every app and environment
    (isascii, asked first, is free: Python keeps the answer with the text)."""
    return _SURROGATE.search(text) is not None


def _scalar_setting(value: Any) -> Any:
    if value is None:
        raise ValueError('has no value; write "" for an empty setting')
    if isinstance(value, dict | list):
        raise ValueError("must be text, a number or true/false, not a list or mapping")
    if isinstance(value, YamlOnly):
        raise ValueError(f"must be text, a number or true/false, not {value}")
    if isinstance(value, str):
        _no_nul(value)
        if not value.isascii() and _holds_no_character(value):
            raise ValueError(NOT_A_CHARACTER)
    return value


# A program's settings and arguments end at a NUL byte: one in the middle cannot reach it.
NUL = "holds a NUL character (\\0), which no program can be given; leave it out"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL)
    return value


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"'{value}' is listed twice")
        seen.add(value)
    return values


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
AGE_RECIPIENT_RE = r"^age1[02-9ac-hj-np-z]{58}$"


def _bech32_ok(value: str) -> bool:
    """The BIP-173 checksum that every age public key carries, so a mistyped key fails here,
    not later when a value cannot be encrypted or, worse, cannot be decrypted."""
    hrp, _, data = value.rpartition("1")
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [BECH32.index(c) for c in data]
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for v in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(generators):
            check ^= g if (top >> i) & 1 else 0
    return check == 1


def _age_recipient(value: str) -> str:
    if not _bech32_ok(value):
        raise ValueError(f"'{value[:12]}...' is not an age public key (its checksum is wrong)")
    return value


def _volume_size(megabytes: int) -> int:
    if megabytes > 10 * 1024 * 1024:
        raise ValueError("a volume holds at most 10TB (the largest Hetzner Cloud volume)")
    return megabytes


MAX_PATH = 1024  # a folder or an HTTP path: far past any real one, far below what the cluster keeps


def _absolute_path(value: str) -> str:
    if not value.isascii() and _holds_no_character(value):
        raise ValueError(NOT_A_CHARACTER)
    if not value.startswith("/") or "\x00" in value or "/../" in f"{value}/":
        raise ValueError(f"'{value}' must be an absolute path such as /data")
    return value


MAX_NAME, MAX_ENV_NAME = 30, 20  # project and app names; environment names
Name = Annotated[str, Field(pattern=NAME_RE, min_length=1, max_length=MAX_NAME)]
EnvName = Annotated[str, Field(pattern=NAME_RE, min_length=1, max_length=MAX_ENV_NAME)]
EnvVarName = Annotated[str, Field(pattern=ENV_VAR_RE, max_length=128)]
Domain = Annotated[str, Field(pattern=DOMAIN_RE, max_length=253)]
AgeRecipient = Annotated[str, Field(pattern=AGE_RECIPIENT_RE), AfterValidator(_age_recipient)]
SIZE_JSON = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "description": "megabytes"},
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*([MGT]i?B?|[MGT]iB|[mgt]i?b?)?\s*$"},
    ]
}
Megabytes = Annotated[StrictInt, BeforeValidator(_size_mb), Field(gt=0), WithJsonSchema(SIZE_JSON)]
DURATION_JSON = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "description": "seconds"},
        {"type": "string", "pattern": r"^\s*[0-9]+\s*[smhd]?\s*$"},
    ]
}
Seconds = Annotated[StrictInt, BeforeValidator(_duration_s), Field(gt=0), WithJsonSchema(DURATION_JSON)]
NO_BOOL = _no_bool("float_type")  # for a count of vCPUs or euros; after its bounds, which then
# stay bounds in the JSON Schema
# A command or argument: long enough for an inline script, short enough that a job's object
# stays far below what the cluster stores (1.5 MB).
CommandPart = Annotated[str, Field(max_length=16 * 1024), AfterValidator(_no_nul)]
SettingValue = Annotated[
    Annotated[StrictBool | StrictInt | StrictFloat | str, Field(union_mode="left_to_right")],
    BeforeValidator(_scalar_setting),
]

Region = Literal["fsn1", "nbg1", "hel1"]
Badge = Literal["production", "staging", "preview", "development"]
Traffic = Literal["low", "medium", "high", "very-high"]
Latency = Literal["relaxed", "standard", "sensitive"]
Workload = Literal["web", "worker", "cpu-intensive", "memory-intensive"]
Startup = Literal["fast", "medium", "slow"]
Pattern = Literal["steady", "daily-peaks", "spiky"]
Provider = Literal["aiven", "supabase", "external"]


def _empty_allowed(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON Schema says what validation accepts: a key written with nothing after it where
    that means the default (see _Strict), and an empty entry of a mapping of entries."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in properties or not _empty_is_default(field):
            continue
        prop = properties[key]
        notes = {k: prop.pop(k) for k in ("description", "default", "title") if k in prop}
        properties[key] = {**_or_null(prop), **notes}
    for name in getattr(model, "EMPTY_ENTRIES", ()):
        entries = properties[name].get("anyOf", [properties[name]])[0]
        if "additionalProperties" in entries:
            entries["additionalProperties"] = _or_null(entries["additionalProperties"])
        for pattern, entry in entries.get("patternProperties", {}).items():
            entries["patternProperties"][pattern] = _or_null(entry)


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _empty_is_default(field: Any) -> bool:
    return field.default_factory is not None or (not field.is_required() and field.default is not None)


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, json_schema_extra=_empty_allowed
    )
    # mappings whose entries may be written empty (`production:` with nothing under it)
    EMPTY_ENTRIES: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        """`env:`, `secrets:` or `staging:` with nothing after it (YAML reads null) means what
        leaving it out means, where that is a default; where None is itself a value (an
        override's `port: null` removes the port) it stays."""
        if not isinstance(data, dict):
            return data
        fields = {field.alias or name: field for name, field in cls.model_fields.items()}
        out = {
            key: value
            for key, value in data.items()
            if not (value is None and key in fields and _empty_is_default(fields[key]))
        }
        for name in cls.EMPTY_ENTRIES:
            if isinstance(out.get(name), dict):
                out[name] = {k: {} if v is None else v for k, v in out[name].items()}
        return out


class Budget(_Strict):
    """A spending ceiling: plan and validate fail when the cost at maximum scale exceeds it."""

    max_monthly_eur: Annotated[FiniteFloat, Field(gt=0), NO_BOOL] = Field(
        description="Euros a month (net of VAT) at most."
    )


class Volume(_Strict):
    """A persistent disk; an app with a volume runs exactly one instance."""

    size: Annotated[Megabytes, AfterValidator(_volume_size)] = Field(
        description="Disk size, e.g. 10GB; at most 10TB."
    )
    path: Annotated[str, AfterValidator(_absolute_path)] = Field(
        max_length=MAX_PATH, description="Where the disk appears inside the app, e.g. /data."
    )


class VolumeChange(_Strict):
    """An environment's change to an app's volume: either field, laid over the base app's (a
    volume the base app does not have needs both, which the merged app's check says)."""

    size: Annotated[Megabytes, AfterValidator(_volume_size)] | None = Field(
        None, description="Disk size, e.g. 50GB; at most 10TB."
    )
    path: Annotated[str, AfterValidator(_absolute_path)] | None = Field(
        None, max_length=MAX_PATH, description="Where the disk appears inside the app, e.g. /data."
    )


WRITABLE_MB = 256  # a writable folder's room unless the spec says: what /tmp gets
MAX_WRITABLE_MB = 8 * 1024  # it lives on the server's own disk, shared by every app there


def _writable_entry(value: Any) -> Any:
    """`/var/cache/nginx` is short for `{path: /var/cache/nginx}`."""
    return {"path": value} if isinstance(value, str) else value


def _writable_size(megabytes: int) -> int:
    if megabytes > MAX_WRITABLE_MB:
        raise ValueError(
            f"a writable folder holds at most {MAX_WRITABLE_MB // 1024}GB (it lives on the server's own "
            "disk); for more, or for data that must stay, use a volume"
        )
    return megabytes


class Writable(_Strict):
    """A folder the app may write to: empty at every start, size-limited, lost at every restart."""

    path: Annotated[str, AfterValidator(_absolute_path)] = Field(
        max_length=MAX_PATH, description="Where the app writes, e.g. /var/cache/nginx."
    )
    size: Annotated[Megabytes, AfterValidator(_writable_size)] = Field(
        WRITABLE_MB, description=f"Room in it, e.g. 512MB (default {WRITABLE_MB}MB; at most 8GB)."
    )


WritableEntry = Annotated[
    Writable,
    BeforeValidator(_writable_entry),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^/"}, Writable.model_json_schema()]}),
]


class Health(_Strict):
    """How to tell the app is healthy; default: its port accepts connections."""

    path: str = Field(
        pattern=HEALTH_PATH_RE,
        max_length=MAX_PATH,
        description="An HTTP path answering 2xx/3xx when healthy, e.g. /healthz.",
    )


class Profile(_Strict):
    """The five sizing questions; each answer is optional and has a default."""

    traffic: Traffic | None = Field(None, description="How much traffic: low | medium | high | very-high.")
    latency: Latency | None = Field(
        None, description="How much slowness users notice: relaxed | standard | sensitive."
    )
    workload: Workload | None = Field(
        None, description="What it does: web | worker | cpu-intensive | memory-intensive."
    )
    startup: Startup | None = Field(
        None, description="How long it takes to start: fast (<10 s) | medium (10-60 s) | slow (>60 s)."
    )
    pattern: Pattern | None = Field(None, description="How traffic varies: steady | daily-peaks | spiky.")


class Instances(_Strict):
    """How many copies of the app run; overrides what the sizing rules chose."""

    min: StrictInt | None = Field(None, ge=1, le=1000, description="Fewest instances.")
    max: StrictInt | None = Field(None, ge=1, le=1000, description="Most instances.")

    @model_validator(mode="after")
    def _ordered(self) -> Instances:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


# The container runtime refuses to start a process with less than 6 MB; a program needs more.
MIN_MEMORY_MB = 16


class Size(_Strict):
    """The size of one instance; overrides what the sizing rules chose."""

    cpu: Annotated[FiniteFloat, Field(ge=0.05, le=64), NO_BOOL] | None = Field(
        None, description="vCPUs per instance, e.g. 0.5."
    )
    memory: Megabytes | None = Field(
        None,
        ge=MIN_MEMORY_MB,
        le=256 * 1024,
        description="Memory per instance, e.g. 512MB.",
    )


RELEASE_TIMEOUT_S = 10 * 60
MAX_RELEASE_TIMEOUT_S = 6 * 3600
JOB_TIMEOUT_S = 3600
MAX_JOB_TIMEOUT_S = 7 * 86400
MAX_TIMEZONE = 64  # the longest IANA name is 32 characters


class Release(_Strict):
    """A release step: a command run once, with the new version's image, settings and secrets,
    before that version rolls out (database migrations). The rollout waits for it to succeed."""

    command: list[CommandPart] = Field(
        min_length=1, max_length=256, description="What to run, e.g. [./manage.py, migrate]."
    )
    timeout: Annotated[Seconds, Field(le=MAX_RELEASE_TIMEOUT_S)] = Field(
        RELEASE_TIMEOUT_S, description="How long it may take, e.g. 10m (default 10m; at most 6h)."
    )
    size: Size = Field(
        default_factory=Size, description="CPU and memory while it runs (default: the app's own size)."
    )


class ReleaseChange(_Strict):
    """An environment's change to an app's release step, laid over the base app's (a step the
    base app does not have needs its command, which the merged app's check says)."""

    command: list[CommandPart] | None = Field(
        None, min_length=1, max_length=256, description="What to run, e.g. [./manage.py, migrate]."
    )
    timeout: Annotated[Seconds, Field(le=MAX_RELEASE_TIMEOUT_S)] | None = Field(
        None, description="How long it may take, e.g. 10m (at most 6h)."
    )
    size: Size | None = Field(None, description="CPU and memory while it runs.")


class App(_Strict):
    """One app: a container image and how it should run."""

    image: str = Field(
        pattern=IMAGE_RE, max_length=512, description="OCI image reference, by tag or by @sha256 digest."
    )
    port: StrictInt | None = Field(
        None, ge=1, le=65535, description="The port the app listens on; omit for apps that serve nothing."
    )
    public: StrictBool = Field(False, description="Reachable from the internet over HTTPS.")
    domains: Annotated[list[Domain], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=50, description="Public domain names (public apps only)."
    )
    command: list[CommandPart] | None = Field(
        None, max_length=256, description="Overrides the image's entrypoint."
    )
    args: list[CommandPart] | None = Field(
        None, max_length=256, description="Overrides the image's arguments."
    )
    env: dict[EnvVarName, SettingValue] = Field(
        default_factory=dict,
        description="Plain settings; ${apps.NAME.url} expands to that app's internal URL.",
    )
    secrets: Annotated[list[EnvVarName], AfterValidator(_unique)] = Field(
        default_factory=list, description="Secret names; values are set with `unhazzle secrets`."
    )
    databases: Annotated[list[Name], AfterValidator(_unique)] = Field(
        default_factory=list, description="External databases (declared under databases:) this app uses."
    )
    volume: Volume | None = None
    writable: list[WritableEntry] = Field(
        default_factory=list,
        max_length=20,
        description="Folders the app writes to besides /tmp and its volume (the rest of its "
        "filesystem is read-only): each empty at every start, 256MB unless {path, size} says.",
    )
    health: Health | None = None
    release: Release | None = None
    after: Annotated[list[Name], AfterValidator(_unique)] = Field(
        default_factory=list,
        max_length=50,
        description="Apps whose new version must be healthy before this app's change is applied, "
        "within one deploy.",
    )
    profile: Profile = Field(default_factory=Profile)
    instances: Instances = Field(default_factory=Instances)
    size: Size = Field(default_factory=Size)


class AppOverride(_Strict):
    """Per-environment changes to an app: any app field; mappings merge, lists replace."""

    image: str | None = Field(None, pattern=IMAGE_RE, max_length=512)
    port: StrictInt | None = Field(None, ge=1, le=65535)
    public: StrictBool | None = None
    domains: list[Domain] | None = None
    command: list[CommandPart] | None = None
    args: list[CommandPart] | None = None
    env: dict[EnvVarName, SettingValue] | None = None
    secrets: list[EnvVarName] | None = None
    databases: list[Name] | None = None
    volume: VolumeChange | None = None
    writable: list[WritableEntry] | None = None
    health: Health | None = None
    release: ReleaseChange | None = None
    after: list[Name] | None = None
    profile: Profile | None = None
    instances: Instances | None = None
    size: Size | None = None


JobWorkload = Literal["worker", "cpu-intensive", "memory-intensive"]


class JobProfile(_Strict):
    """The sizing question that applies to a job: what kind of work it does."""

    workload: JobWorkload | None = Field(
        None, description="What it does: worker (default) | cpu-intensive | memory-intensive."
    )


class Job(_Strict):
    """A scheduled job: a command run on a schedule, to completion, never serving traffic."""

    image: str = Field(
        pattern=IMAGE_RE, max_length=512, description="OCI image reference, by tag or by @sha256 digest."
    )
    schedule: str = Field(
        min_length=1,
        max_length=256,
        description="When it runs, in cron syntax (minute hour day month weekday), e.g. '0 3 * * *', "
        "or @hourly, @daily, @weekly, @monthly, @yearly.",
    )
    timezone: str = Field(
        "UTC",
        min_length=1,
        max_length=MAX_TIMEZONE,
        description="The time zone of the schedule, e.g. Europe/Berlin.",
    )
    command: list[CommandPart] | None = Field(
        None, max_length=256, description="Overrides the image's entrypoint."
    )
    args: list[CommandPart] | None = Field(
        None, max_length=256, description="Overrides the image's arguments."
    )
    timeout: Annotated[Seconds, Field(le=MAX_JOB_TIMEOUT_S)] = Field(
        JOB_TIMEOUT_S, description="How long one run may take before it is stopped (default 1h; at most 7d)."
    )
    retries: StrictInt = Field(0, ge=0, le=10, description="Attempts after a failed one within a run.")
    overlap: StrictBool = Field(
        False,
        description="Let a run start while the previous one still runs (default false: that run is skipped).",
    )
    env: dict[EnvVarName, SettingValue] = Field(
        default_factory=dict,
        description="Plain settings; ${apps.NAME.url} expands to that app's internal URL.",
    )
    secrets: Annotated[list[EnvVarName], AfterValidator(_unique)] = Field(
        default_factory=list, description="Secret names; values are set with `unhazzle secrets`."
    )
    databases: Annotated[list[Name], AfterValidator(_unique)] = Field(
        default_factory=list, description="External databases (declared under databases:) this job uses."
    )
    writable: list[WritableEntry] = Field(
        default_factory=list,
        max_length=20,
        description="Folders the job writes to besides /tmp: each empty at every run.",
    )
    profile: JobProfile = Field(default_factory=JobProfile)
    size: Size = Field(default_factory=Size)


class JobOverride(_Strict):
    """Per-environment changes to a job: any job field; mappings merge, lists replace."""

    image: str | None = Field(None, pattern=IMAGE_RE, max_length=512)
    schedule: str | None = Field(None, min_length=1, max_length=256)
    timezone: str | None = Field(None, min_length=1, max_length=MAX_TIMEZONE)
    command: list[CommandPart] | None = None
    args: list[CommandPart] | None = None
    timeout: Annotated[Seconds, Field(le=MAX_JOB_TIMEOUT_S)] | None = None
    retries: StrictInt | None = Field(None, ge=0, le=10)
    overlap: StrictBool | None = None
    env: dict[EnvVarName, SettingValue] | None = None
    secrets: list[EnvVarName] | None = None
    databases: list[Name] | None = None
    writable: list[WritableEntry] | None = None
    profile: JobProfile | None = None
    size: Size | None = None


class SecretSettings(_Strict):
    """Who can read this project's secret values: age public keys (`age-keygen -y KEYFILE`)."""

    recipients: Annotated[list[AgeRecipient], AfterValidator(_unique)] = Field(
        default_factory=list,
        max_length=100,
        description="age public keys (age1...) values are encrypted to: the cluster's key and team members'.",
    )


class Environment(_Strict):
    """A place the project runs (production, staging, ...): one isolated area of the cluster."""

    EMPTY_ENTRIES = ("apps", "jobs")

    badge: Badge | None = Field(
        None, description="production | staging | preview | development (default: from the name)."
    )
    budget: Budget | None = None
    rollback: Literal["automatic", "manual"] = Field(
        "automatic",
        description="automatic (default): an app whose new version does not become healthy in time "
        "goes back to its previous one; manual: it is left for you to fix or `unhazzle rollback`.",
    )
    env: dict[EnvVarName, SettingValue] = Field(
        default_factory=dict,
        description="Settings every app in this environment inherits, over the project's shared "
        "ones; an app's own env wins.",
    )
    apps: dict[Name, AppOverride] = Field(default_factory=dict, description="Per-environment app changes.")
    jobs: dict[Name, JobOverride] = Field(default_factory=dict, description="Per-environment job changes.")
    secrets: SecretSettings | None = Field(
        None, description="Keys for this environment's secret values, added to the project-wide ones."
    )


class Database(_Strict):
    """An external database (Aiven, Supabase, any TLS endpoint)."""

    provider: Provider = Field(description="aiven | supabase | external.")
    region: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Where it runs, e.g. aws-eu-central-1; drives the latency guidance.",
    )
    secret: EnvVarName = Field(description="The secret holding its connection URL (TLS required).")


class Datadog(_Strict):
    """Datadog: tag every app for Unified Service Tagging and let the Agent find its logs."""

    enabled: StrictBool = Field(
        False,
        description="Add Datadog's env, service and version tags and log collection to every app.",
    )


class Observability(_Strict):
    """Outside monitoring the apps should be ready for."""

    datadog: Datadog = Field(default_factory=Datadog)


MAX_PREVIEW_TTL_S = 90 * 86400
DEFAULT_PREVIEW_TTL_S = 7 * 86400


class PreviewLimits(_Strict):
    """The project's cap on previews: their number and their cost together."""

    count: StrictInt = Field(10, ge=1, le=1000, description="Previews at most at once (default 10).")
    max_monthly_eur: Annotated[FiniteFloat, Field(gt=0), NO_BOOL] | None = Field(
        None, description="Euros a month (net of VAT) all previews together cost at most."
    )


class Previews(_Strict):
    """Preview environments: a running copy of one environment per pull request
    (`unhazzle preview-env up --name pr-123`), removed when it is closed or expires."""

    from_: EnvName = Field(alias="from", description="The environment a preview copies (usually staging).")
    apps: Annotated[list[Name], AfterValidator(_unique)] | None = Field(
        None,
        description="The apps a preview runs (default: all). The others are reached in the copied "
        "environment (${apps.NAME.url} points there).",
    )
    instances: Instances = Field(
        default_factory=lambda: Instances(min=1, max=1),
        description="Instances of each app in a preview (default: exactly 1).",
    )
    size: Size = Field(
        default_factory=Size,
        description="CPU and memory per instance (default: the copied environment's memory and a "
        "quarter of its CPU, at least 0.05).",
    )
    ttl: Annotated[Seconds, Field(le=MAX_PREVIEW_TTL_S)] = Field(
        DEFAULT_PREVIEW_TTL_S,
        description="How long a preview lives after its last `up` (default 7d, at most 90d).",
    )
    budget: Budget | None = Field(None, description="What one preview may cost a month.")
    secrets: Annotated[list[EnvVarName], AfterValidator(_unique)] | None = Field(
        None,
        description="The copied environment's secrets a preview gets (default: all of them, or none "
        "when that environment is production-badged).",
    )
    limits: PreviewLimits = Field(default_factory=PreviewLimits)


class Spec(_Strict):
    """unhazzle.yaml, format version 1."""

    EMPTY_ENTRIES = ("environments", "apps", "databases", "jobs")

    model_config = ConfigDict(extra="forbid", frozen=True, title="unhazzle.yaml")

    version: Annotated[Literal[1], _no_bool("literal_error", expected="1")] = Field(
        description="Format version of this file; always 1."
    )
    project: Name = Field(description="Project name: lowercase letters, digits and '-'.")
    region: Region = Field(description="Hetzner EU location: fsn1 | nbg1 | hel1.")
    budget: Budget | None = None
    env: dict[EnvVarName, SettingValue] = Field(
        default_factory=dict,
        description="Settings every app inherits (a LOG_LEVEL, a feature flag); an environment's "
        "env, then an app's own, win.",
    )
    environments: dict[EnvName, Environment] = Field(min_length=1)
    apps: dict[Name, App] = Field(min_length=1)
    jobs: dict[Name, Job] = Field(
        default_factory=dict, description="Scheduled jobs: commands run on a schedule, to completion."
    )
    databases: dict[Name, Database] = Field(default_factory=dict)
    secrets: SecretSettings | None = Field(
        None, description="Keys that can read every environment's secret values (usually the team's)."
    )
    previews: Previews | None = None

    def recipients(self, environment: str) -> list[str]:
        """Everyone who can read *environment*'s secret values: project-wide plus its own keys."""
        env = self.environments[environment].secrets
        keys = [*(self.secrets.recipients if self.secrets else []), *(env.recipients if env else [])]
        return sorted(set(keys))

    observability: Observability = Field(default_factory=Observability)
