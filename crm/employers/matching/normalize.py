"""Normalization of employer names and identifiers (pure functions, no I/O)."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
import tldextract
from stdnum.exceptions import ValidationError
from stdnum.us import ein

from .vocab import (
    CUTTING_LEGAL_FORMS,
    DIRECTIONS,
    LEADING_LEGAL_FORMS,
    LEGAL_FORMS,
    LEGAL_PHRASES,
    STREET_SUFFIXES,
    UNIT_WORDS,
    US_STATES,
)

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_GLUED_AMP = re.compile(r"(?<=\w)&(?=\w)")
_SPLIT = re.compile(r"[^\w&]+|_")


def _fold(text: str) -> str:
    """Casefold and strip accents; folding twice makes the result a fixed point."""
    if text.isascii():
        return text.lower()  # the common case, and casefold() == lower() on ASCII
    for _ in range(2):
        text = unicodedata.normalize("NFKD", text).casefold()
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", text)


def _is_letter(tok: str) -> bool:
    return len(tok) == 1 and tok.isalpha()


@lru_cache(maxsize=100_000)
def normalize_name(name: str) -> str:
    """Display-insensitive form of a name: "A.T.&T. Inc." -> "att inc".

    Casefolds, strips accents, turns "&" into "and" (but keeps it inside
    initialisms like AT&T, P&G), drops apostrophes ("Macy's" = "Macys"), turns
    other punctuation into spaces and joins initialisms: "I B M" and "I.B.M."
    -> "ibm", while "D.S.M. N.V." stays two words, "dsm nv".
    """
    text = _fold(html.unescape(name or ""))
    text = _APOSTROPHES.sub("", text)
    text = _GLUED_AMP.sub("", text)
    out: list[str] = []
    run: list[str] = []  # consecutive single letters written apart: "i b m", "a t & t"
    chunks = text.replace("&", " & ").split()
    for i, chunk in enumerate(chunks):
        if chunk.isalnum() and len(chunk) > 1:
            # The common case, a plain word: all word characters and no "_", so _SPLIT keeps it
            # whole and it is not a single letter (the general path below gives the same).
            if run:
                out.append("".join(run))
                run = []
            out.append(chunk)
            continue
        if chunk == "&" and run and i + 1 < len(chunks) and _is_letter(_SPLIT.sub("", chunks[i + 1])):
            continue  # "A. T. & T.": the ampersand sits inside the initialism
        parts = [p for p in _SPLIT.split(chunk) if p]
        if len(parts) > 1 and all(_is_letter(p) for p in parts):
            parts = ["".join(parts)]  # "i.b.m." written as one chunk
        for part in parts:
            if _is_letter(part):
                run.append(part)
                continue
            if run:
                out.append("".join(run))
                run = []
            out.append("and" if part == "&" else part)
    if run:
        out.append("".join(run))
    return " ".join(out)


def _strip_dba(tokens: list[str]) -> list[str]:
    """Keep the legal name before "dba" / "doing business as"."""
    if "dba" not in tokens and "doing" not in tokens:
        return tokens  # the loop below would find nothing
    for i in range(1, len(tokens)):
        if tokens[i] == "dba" or tokens[i : i + 3] == ["doing", "business", "as"]:
            return tokens[:i]
    return tokens


_PHRASE_ENDS = frozenset(phrase[-1] for phrase in LEGAL_PHRASES)


def _strip_legal_tail(tokens: list[str]) -> list[str]:
    """Drop legal forms (and a dangling "and", as in "Smith & Co") from the end."""
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        # A phrase can only match when the name ends in the last word of one (and only a match
        # changes the last word): skip the scan of every phrase for the other names.
        if tokens[-1] in _PHRASE_ENDS:
            for phrase in LEGAL_PHRASES:
                n = len(phrase)
                if len(tokens) > n and tuple(tokens[-n:]) == phrase:
                    tokens, changed = tokens[:-n], True
        if len(tokens) > 1 and (tokens[-1] in LEGAL_FORMS or tokens[-1] == "and"):
            tokens, changed = tokens[:-1], True
    return tokens


def split_legal_name(name: str) -> tuple[list[str], list[str]]:
    """(legal-name tokens, qualifier tokens) of a name.

    The legal name ends at its legal form: in "Gist-Brocades N.V., Delft" or
    "Acme Corp. - Downtown", what follows the form is a place or a site
    qualifier. Also drops a "dba ..." part, a leading "the" and leading legal
    forms used in Dutch/Nordic names ("N.V. Nutricia", "AB SKF").
    """
    legal, qualifier = split_legal_tuple(name)
    return list(legal), list(qualifier)


# Small on purpose: a name is split twice close together (the import validates a row, then the
# matcher parses it; a name key, then its form), not again much later.
@lru_cache(maxsize=8192)
def split_legal_tuple(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """split_legal_name as tuples, cached."""
    tokens = _strip_dba(normalize_name(name).split())
    qualifier: list[str] = []
    for i in range(1, len(tokens)):
        if tokens[i] in CUTTING_LEGAL_FORMS:
            tokens, qualifier = tokens[:i], [t for t in tokens[i + 1 :] if t not in LEGAL_FORMS]
            break
    while len(tokens) > 1 and (tokens[0] == "the" or tokens[0] in LEADING_LEGAL_FORMS):
        tokens = tokens[1:]
    if len(tokens) > 2 and tuple(tokens[:2]) in LEGAL_PHRASES:
        tokens = tokens[2:]
    return tuple(_strip_legal_tail(tokens)), tuple(qualifier)


NAME_KEY_MAX = 200  # employer.name_key, employer_alias.name_key


def name_key(name: str) -> str:
    """normalize_name without legal forms, a leading "the", a "dba ..." part and
    anything after a legal form ("Acme Inc - Downtown" -> "acme").

    Idempotent: name_key(name_key(x)) == name_key(x). A name that is nothing
    but a legal form keeps its last token rather than becoming empty.

    At most NAME_KEY_MAX characters (the columns keeping it): folding can make
    a name longer than it was typed ("ß" -> "ss", "ﬃ" -> "ffi"), so a longer
    key keeps its first words that fit (a single word too long is cut), as
    name_key of that shorter text, which keeps it idempotent.
    """
    key = " ".join(split_legal_tuple(name)[0])
    while len(key) > NAME_KEY_MAX:
        cut = key[:NAME_KEY_MAX]
        if " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        key = " ".join(split_legal_tuple(cut)[0])
    return key


@lru_cache(maxsize=1)
def _tld_extractor() -> tldextract.TLDExtract:
    # Bundled public-suffix snapshot only: an empty URL list and no cache dir
    # mean tldextract never touches the network or the file system.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_HOST_OK = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def normalize_domain(value: str | None) -> str | None:
    """Website, URL or e-mail address -> registrable domain ("acme.co.uk"), else None."""
    if not value:
        return None
    text = value.strip().lower()
    if not text or " " in text:
        return None
    if "@" in text and "://" not in text:
        text = text.rsplit("@", 1)[1]
    text = _SCHEME.sub("", text)
    text = re.split(r"[/?#\\]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1]  # user:password@host
    text = text.split(":", 1)[0].strip(".")
    if not text:
        return None
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not _HOST_OK.match(text):
        return None
    ext = _tld_extractor()(text)
    if not ext.domain or not ext.suffix:
        return None
    return f"{ext.domain}.{ext.suffix}"


def normalize_fein(value: str | None) -> str | None:
    """US Employer Identification Number as "12-3456789"; None if blank; ValueError if invalid."""
    if value is None or not str(value).strip():
        return None
    try:
        return str(ein.format(ein.validate(str(value))))
    except ValidationError as exc:
        raise ValueError(
            f"{value!r} is not a valid FEIN: expected 9 digits like 12-3456789 with a valid prefix"
        ) from exc


def normalize_phone(value: str | None, region: str = "US") -> str | None:
    """Phone number in E.164 ("+13125550100"), or None when blank or unparseable."""
    if not value or not str(value).strip():
        return None
    try:
        parsed = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return None
    # A local-only number ("555-0100") has no E.164 form: it is not an answer.
    if phonenumbers.is_possible_number_with_reason(parsed) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_for_matching(value: str | None, region: str = "US") -> str | None:
    """E.164 when possible, else the bare digits of a 7-digit local number.

    Source lists often drop the area code ("638-0773"); those digits still
    identify a site when compared with the last 7 digits of a full number.
    """
    full = normalize_phone(value, region)
    if full is not None:
        return full
    digits = re.sub(r"\D", "", str(value or ""))
    return digits if len(digits) == 7 else None


def normalize_zip(value: object) -> str | None:
    """First five digits of a US ZIP / ZIP+4 ("60601-1234" -> "60601"), else None."""
    if value is None or isinstance(value, bool):
        return None
    if value.__class__ is str and len(value) == 5 and value.isascii() and value.isdecimal():
        return value  # "90012", as most rows have it: what the general path below returns
    if isinstance(value, int):
        value = f"{value:05d}"
    if isinstance(value, float) and value.is_integer():
        value = f"{int(value):05d}"
    digits = re.sub(r"\D", "", str(value).strip().split("-", 1)[0])
    if len(digits) == 9:
        digits = digits[:5]
    if 3 <= len(digits) <= 5:
        return digits.zfill(5)  # spreadsheets eat leading zeros ("2134" was "02134")
    return None


@dataclass(frozen=True, slots=True)
class StreetAddress:
    """The parts of a street address that identify a site."""

    number: str  # house number, "" when none
    direction: str  # pre-direction ("n", "sw"), "" when none
    street: str  # street name without suffix, spaces removed ("vanburen", "24th")


_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_ZIP5 = re.compile(r"\d{5}")
_HOUSE_NUMBER = re.compile(r"^\d+[a-z]?$")


@lru_cache(maxsize=100_000)
def parse_street(address: str | None) -> StreetAddress | None:
    """Parse "3449 W. Arthington St., Suite 2" -> (3449, w, arthington); None if no number+street."""
    if not address:
        return None
    tokens = normalize_name(address.replace("#", " # ")).split()
    # "24 th" -> "24th"; a house number range "1710-1718" became "1710 1718".
    merged: list[str] = []
    for tok in tokens:
        if merged and tok in ("st", "nd", "rd", "th") and merged[-1].isdigit() and len(merged) > 1:
            merged[-1] += tok
        else:
            merged.append(tok)
    tokens = merged
    if not tokens or not _HOUSE_NUMBER.match(tokens[0]):
        return None
    number = tokens[0]
    rest = tokens[1:]
    while rest and rest[0].isdigit() and len(rest) > 1 and not _ORDINAL.match(rest[1]):
        rest = rest[1:]  # second number of a range
    direction = ""
    if rest and rest[0] in DIRECTIONS and len(rest) > 1:
        direction, rest = DIRECTIONS[rest[0]], rest[1:]
    street: list[str] = []
    for i, tok in enumerate(rest):
        if i > 0 and (tok in STREET_SUFFIXES or tok in UNIT_WORDS or tok == "#"):
            break
        next_tok = rest[i + 1] if i + 1 < len(rest) else ""
        if i > 0 and (_ZIP5.fullmatch(tok) or (tok in US_STATES and (not next_tok or _ZIP5.fullmatch(next_tok)))):
            break  # "..., Oak Park IL 60302": the city/state/ZIP tail
        street.append(tok)
    if not street:
        return None
    return StreetAddress(number, direction, "".join(street))


def contact_is_new(contact: Mapping[str, Any], existing: Iterable[Mapping[str, Any]]) -> bool:
    """A contact is already there when the e-mail (or, without e-mail, the name) is."""
    email = (contact.get("email") or "").lower()
    name = str(contact.get("name") or "").casefold()
    for other in existing:
        if email and (other.get("email") or "").lower() == email:
            return False
        if not email and str(other.get("name") or "").casefold() == name:
            return False
    return True
