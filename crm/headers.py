"""Headers every answer carries (pages, API, files, errors), added as its start is sent.

- No page may be framed by another site: one click on a framed, disguised button would deactivate a
  user, withdraw a request or accept a hand-off (``X-Frame-Options`` for older browsers, the CSP's
  ``frame-ancestors`` for the rest). Forms post to this site only, and no ``<base>`` or plugin may
  redirect what the pages load.
- A download (CSV exports, the vendored scripts) is read as the type it says it is, never sniffed.
- A page's address (it holds record ids) is not sent to other sites as the referrer.
"""

from __future__ import annotations

from litestar.types import Message, Scope

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"),
    (b"referrer-policy", b"same-origin"),
)
_NAMES = {name for name, _ in SECURITY_HEADERS}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: the headers above, unless the answer set its own."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or ())
    present = {bytes(name).lower() for name, _ in headers} & _NAMES
    message["headers"] = [*headers, *(h for h in SECURITY_HEADERS if h[0] not in present)]
