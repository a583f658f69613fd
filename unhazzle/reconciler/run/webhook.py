"""Deploy notifications: a JSON POST signed with HMAC-SHA256, retried with backoff, sent from a
background thread so a slow receiver never delays a reconcile."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

SIGNATURE_HEADER = "X-Unhazzle-Signature"


def sign(secret: bytes, body: bytes) -> str:
    """`sha256=<hex>`: the receiver recomputes it over the raw body with the shared secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Webhook:
    def __init__(self, url: str, secret: bytes, *, attempts: int = 5, first_delay: float = 0.5) -> None:
        self.url = url
        self._secret = secret
        self._attempts = attempts
        self._first_delay = first_delay
        self._threads: list[threading.Thread] = []

    def send(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, sort_keys=True).encode()
        thread = threading.Thread(target=self._deliver, args=(body,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for deliveries in flight (used before exit with --once)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _deliver(self, body: bytes) -> bool:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._secret, body)}
        delay = self._first_delay
        for _ in range(self._attempts):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    if 200 <= response.status < 300:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(delay)
            delay *= 2
        return False
