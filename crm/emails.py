"""E-mail addresses as OneDoor keeps them: checked by email-validator (syntax only, no DNS look-up, so
it works offline and in tests) and case-folded, so the unique key on users is case-insensitive."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321 path limit; the columns that hold addresses are this wide


def checked_email(value: str) -> str:
    """``value`` as stored (trimmed, domain IDNA-normalized, case-folded); ValueError says what is wrong."""
    text = value.strip()
    if not text:
        raise ValueError("is required")
    try:
        address = validate_email(text, check_deliverability=False).normalized.casefold()
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ValueError(f"is not a valid e-mail address ({reason[:1].lower()}{reason[1:]})") from None
    if len(address) > MAX_LENGTH:
        raise ValueError(f"is not a valid e-mail address (at most {MAX_LENGTH} characters)")
    return address
