"""HTTP GET with timeouts and retries for the WFS client.

Retried with exponential backoff and jitter (honouring `Retry-After`): connection
errors, timeouts, HTTP 5xx and 429, bodies cut short or gzip streams cut off, and
answers the parser rejects as `Retryable`. An OGC exception report is not retried.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import random
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline import __version__, fmt
from pipeline.fetch.wfs import FetchError, Retryable, WfsExceptionReport, exception_report_text

USER_AGENT = f"opjord/{__version__} (fetch jordbruksblock; Python urllib)"


@dataclass
class HttpPolicy:
    """Timeouts and retries, in seconds. `backoff` is the first wait; each retry doubles it.

    `sleep` and `log` are injectable so tests run fast and quiet.
    """

    timeout: float = 60.0
    retries: int = 5
    backoff: float = 2.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        base = self.backoff * 2 ** (attempt - 1)
        return min(base * (1 + 0.25 * random.random()), self.max_wait)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date (seconds from now)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _read_body(resp: http.client.HTTPResponse) -> bytes:
    body = resp.read()
    if (resp.headers.get("Content-Encoding") or "").lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise Retryable(f"det gzip-komprimerade svaret var avkortat ({exc})") from exc
    return body


def http_get(url: str, policy: HttpPolicy, parse: Callable[[bytes], Any],
             what: str) -> Any:
    """GET `url` and return `parse(body)`, retrying transient failures.

    `what` names the request in messages, in Swedish definite form ("sidan 2/4 (…)").
    Retried with exponential backoff (honouring Retry-After): connection errors,
    timeouts, HTTP 5xx and 429, bodies cut short, and anything `parse` rejects by
    raising `Retryable` (e.g. truncated JSON). An OGC ExceptionReport raises
    `WfsExceptionReport` at once; other 4xx answers raise `FetchError`.
    """
    request = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT, "Accept-Encoding": "gzip",
        "Accept": "application/json, text/xml;q=0.9, */*;q=0.1"})
    attempts = policy.retries + 1
    last = ""
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as resp:
                body = _read_body(resp)
            report = exception_report_text(body)
            if report is not None:
                raise WfsExceptionReport(_exception_message(url, report, what))
            return parse(body)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read()
            except (OSError, http.client.HTTPException):
                body = b""
            report = exception_report_text(body)
            if exc.code == 429 or exc.code >= 500:
                retry_after = retry_after_seconds(
                    exc.headers.get("Retry-After") if exc.headers else None)
                last = f"HTTP {exc.code} {exc.reason}" + (f" ({report})" if report else "")
            elif report is not None:
                raise WfsExceptionReport(_exception_message(url, report, what)) from None
            else:
                snippet = " ".join(body[:300].decode("utf-8", "replace").split())
                raise FetchError(
                    f"{url}: WFS-servern avvisade {what} med HTTP {exc.code} "
                    f"{exc.reason}{': ' + snippet if snippet else ''}. Åtgärd: kontrollera "
                    "--url och --layer (eller url, layer_latest och layer_years under [fetch] "
                    "i konfigurationen) mot serverns GetCapabilities.") from None
        except Retryable as exc:
            last = str(exc)
        except (TimeoutError, ConnectionError, http.client.HTTPException,
                urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            kind = "tidsgränsen överskreds" if isinstance(reason, TimeoutError) or (
                "timed out" in str(reason)) else "anslutningen misslyckades"
            last = f"{kind} ({type(reason).__name__}: {reason})"
        if attempt < attempts:
            wait = policy.wait_for(attempt, retry_after)
            policy.log(f"  {what}: {last}; nytt försök {attempt}/{policy.retries} om "
                       f"{fmt.number(wait, 1)}{fmt.NBSP}s")
            policy.sleep(wait)
    raise FetchError(
        f"{url}: {what} misslyckades {fmt.number(attempts, 0)} gånger; senaste problemet: "
        f"{last}. Åtgärd: kontrollera nätverket och att WFS-servern är i gång (pröva adressen "
        "i en webbläsare), och kör sedan samma kommando igen; sidor som redan hämtats ligger "
        "i cachen och hämtas inte igen. --timeout och --retries ger en långsam server mer tid.")


def _exception_message(url: str, report: str, what: str) -> str:
    return (f"{url}: WFS-servern svarade på {what} med en undantagsrapport (OGC "
            f"ExceptionReport) i stället för objekt: {report}. Inget skrevs. Åtgärd: "
            "kontrollera --url, --layer och --year (eller [fetch] i konfigurationen) mot "
            "serverns GetCapabilities; talar meddelandet om för många objekt eller en "
            "tidsgräns, pröva en mindre --page-size.")
