"""E-mail addresses as OneDoor keeps them: checked by email-validator (syntax only, no DNS look-up, so
it works offline and in tests) and lower-cased, so the unique key on users is case-insensitive.

Every address a person types goes through ``checked_email`` (or ``optional_email`` where it may be left
blank): a user's, an employer contact's (API and CSV import), a council or partnership member's. One rule
for all, login or not: email-validator has no option that allows only the reserved names (``.local``,
``.test``, ``.invalid``...) a non-login contact might be given, and its ``globally_deliverable=False``
would let through ``x@y``, which no one can be written to either.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321 path limit; the columns that hold addresses are this wide
LOCAL_MAX_LENGTH = 64  # RFC 5321 4.5.3.1.1

# The API's e-mail field: its length here, its syntax in the service (checked_email), which says why an
# address is wrong in words rather than as a failed regular expression.
Email = Annotated[str, msgspec.Meta(max_length=MAX_LENGTH, extra_json_schema={"format": "email"})]

# A plain ASCII address - nearly every one typed or imported - is accepted without email-validator's full
# parse, which costs ~50 us (5 s of a 100,000-row import): a dot-atom of letters, digits and _%+- before the
# @; after it, labels of letters, digits and inner hyphens (no "--" anywhere, so no punycode or R-LDH label)
# and an alphabetic top-level label. email-validator accepts each such address unchanged but for the case
# of its domain (tests/test_emails.py checks that against it); anything else goes through it.
_PLAIN = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _plain(text: str) -> bool:
    if not _PLAIN.fullmatch(text) or "--" in text.rpartition("@")[2] or len(text) > MAX_LENGTH:
        return False
    local, _, domain = text.rpartition("@")
    labels = domain.lower().split(".")
    # A special-use name is refused whole or as a suffix ("a@x.local"); every one is a single label today,
    # but match each suffix of the domain in case the list grows a dotted one.
    return len(local) <= LOCAL_MAX_LENGTH and not any(
        ".".join(labels[i:]) in _SPECIAL_USE for i in range(len(labels)))


def checked_email(value: str) -> str:
    """``value`` as stored (trimmed, domain IDNA-normalized, lower-cased); ValueError says what is wrong."""
    text = value.strip()
    if not text:
        raise ValueError("is required")
    if _plain(text):
        return text.lower()  # ASCII: lower() is casefold()
    try:
        # lower(), not casefold(): folding "ß" to "ss" (or "ﬃ" to "ffi") would name another mailbox,
        # and could make a 64-letter local part longer than the RFC allows.
        address = validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ValueError(f"is not a valid e-mail address ({reason[:1].lower()}{reason[1:]})") from None
    if len(address) > MAX_LENGTH:
        raise ValueError(f"is not a valid e-mail address (at most {MAX_LENGTH} characters)")
    return address


def optional_email(value: str | None) -> str | None:
    """``checked_email`` for an address that may be left out (a contact's, a member's): blank is None."""
    if value is None or not value.strip():
        return None
    return checked_email(value)
