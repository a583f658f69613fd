"""Does a database connection URL require TLS? Pure: a URL in, a warning (or None) out.

Called wherever secret values become known (`unhazzle secrets`); the value itself never appears in
the warning, only its scheme and the setting that weakens it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

# Query settings that turn TLS off or make it optional, per scheme family.
_POSTGRES_STRICT = {"require", "verify-ca", "verify-full"}
_MYSQL_STRICT = {"required", "verify_ca", "verify_identity", "true"}
_PLAIN_SCHEMES = {"redis": "rediss", "amqp": "amqps", "mqtt": "mqtts", "http": "https"}


def tls_warning(url: str) -> str | None:
    """A warning when *url* does not require TLS; None when it does or the scheme is unknown."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "the connection URL cannot be read, so whether it uses TLS is unknown"
    scheme = parts.scheme.lower()
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    if scheme in {"postgres", "postgresql"}:
        mode = query.get("sslmode")
        if mode in _POSTGRES_STRICT:
            return None
        found = f"sslmode={mode}" if mode else "no sslmode"
        return f"the {scheme}:// URL has {found}; add sslmode=require (or verify-full) so TLS is required"
    if scheme in {"mysql", "mariadb"}:
        mode = query.get("ssl-mode") or query.get("sslmode") or query.get("ssl")
        if mode in _MYSQL_STRICT:
            return None
        return f"the {scheme}:// URL does not require TLS; add ssl-mode=REQUIRED"
    if scheme in {"mongodb", "mongodb+srv"}:
        if scheme == "mongodb+srv" and query.get("tls", query.get("ssl")) != "false":
            return None  # SRV connections use TLS unless turned off
        if query.get("tls", query.get("ssl")) == "true":
            return None
        return f"the {scheme}:// URL does not require TLS; add tls=true"
    if scheme in _PLAIN_SCHEMES:
        return f"the {scheme}:// URL is unencrypted; use {_PLAIN_SCHEMES[scheme]}:// instead"
    return None
