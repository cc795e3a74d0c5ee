"""CSV import of employers, one row: validate it and normalize it as the employer service does.

No database and no clock in here (STYLE.md, "functional core"): the shell loads the county/region
``Reference`` once; ``import_matching`` plans the valid rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import msgspec

from crm.emails import optional_email
from crm.employers.import_file import COLUMNS, CONTACT_COLUMNS, EMPLOYER_COLUMNS, split_aliases
from crm.employers.matching import (
    EmployerRecord,
    name_key,
    normalize_domain,
    normalize_fein,
    normalize_phone,
    normalize_zip,
)
from crm.employers.models import SizeBand
from crm.employers.schemas import EmployerIn
from crm.employers.service import sector_for_naics  # the service's own NAICS rule (a pure function)
from crm.employers.zips import county_of_zip, unused_prefix
from crm.errors import FieldError, field_message, validation_path
from crm.inputs import CONTROL, control_message


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row number: the header is row 1, the first data row is row 2
    field: str  # "" when the row as a whole is wrong ("row 7 has 3 fields; ...")
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}" if self.field else f"row {self.row} {self.message}"


@dataclass(frozen=True)
class Reference:
    """What validation needs from the database, loaded once by the shell."""

    counties: Mapping[str, tuple[int, int]]  # lower-case county name → (county_id, region_id)
    county_names: Mapping[int, str]
    regions: Mapping[str, int]  # region code → id
    region_codes: Mapping[int, str]
    default_region_id: int | None = None  # rows without county/region land here (--region)
    allowed_region_ids: frozenset[int] | None = None  # None: any region (admin, CLI)


@dataclass(frozen=True)
class ValidRow:
    number: int
    values: dict[str, Any]  # Employer column values, normalized exactly as the employer service does
    aliases: tuple[tuple[str, str], ...]  # (alias, name_key), none equal to the legal name's key
    contact: dict[str, str | None] | None
    row_key: str  # fingerprint of the normalized row: rerunning a file recognizes it

    def record(self, record_id: str | int) -> EmployerRecord:
        return employer_record(record_id, self.values, [a for a, _ in self.aliases])

    @cached_property
    def lookups(self) -> tuple[tuple[int, str], ...]:
        """The row's keys in ``KeyIndex`` as (table: 0 FEIN, 1 domain, 2 name, 3 ZIP + name start, key)."""
        v = self.values
        keys = [(0, v.get("fein")), (1, v.get("domain")), (2, v["name_key"]), *((2, k) for _, k in self.aliases),
                (3, zip_prefix(v.get("zip"), v["name_key"]))]
        return tuple((table, key) for table, key in keys if key)

    @cached_property
    def query(self) -> EmployerRecord:
        """The row as the matcher compares it (id ``row:N``), built once."""
        return self.record(f"row:{self.number}")


def zip_prefix(zip_code: str | None, key: str) -> str | None:
    """The ``KeyIndex`` key of a ZIP and the first letters of a name key ("90012:acme")."""
    joined = key.replace(" ", "")
    return f"{zip_code}:{joined[:4]}" if zip_code and joined else None


def employer_record(record_id: str | int, values: Mapping[str, Any], aliases: Iterable[str]) -> EmployerRecord:
    """The matcher's view of an employer from its (normalized) column values."""
    names = [*(aliases or ()), *([values["dba"]] if values.get("dba") else [])]
    return EmployerRecord(id=record_id, name=values["legal_name"], aliases=tuple(names),
                          domain=values.get("domain"), fein=values.get("fein"), phone=values.get("phone"),
                          address=values.get("address_line"), city=values.get("city"), zip=values.get("zip"))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


_EIN = re.compile(r"^([0-9]{2})-?([0-9]{7})$")


@lru_cache(maxsize=128)
def _ein_prefix_ok(prefix: str) -> bool:
    # stdnum decides validity by the two-digit campus prefix alone; asking it once per prefix
    # keeps its rule while skipping its per-call data-file lookup (100,000 rows in the budget).
    try:
        return normalize_fein(prefix + "1234567") is not None
    except ValueError:
        return False


def fast_fein(value: str | None) -> str | None:
    """normalize_fein with the prefix verdict cached; same result, same errors."""
    if value is None or not value.strip():
        return None
    m = _EIN.match(value.replace(" ", "").strip())
    if m and _ein_prefix_ok(m.group(1)):
        return f"{m.group(1)}-{m.group(2)}"
    return normalize_fein(value)


_E164_US = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")
_US_LOCAL = re.compile(r"^\(?([2-9]\d{2})\)?[ .-]?([2-9]\d{2})[ .-]?(\d{4})$")


def fast_phone(value: str) -> str | None:
    """normalize_phone, skipping its parser for the two shapes most rows have: US E.164 (as OneDoor
    stores and exports phones) and a plain ten-digit US number ("(213) 555-0101"). Both are
    "possible" numbers to phonenumbers by length alone, so the result is the same."""
    if _E164_US.match(value):
        return value
    if m := _US_LOCAL.match(value):
        return f"+1{m.group(1)}{m.group(2)}{m.group(3)}"
    return normalize_phone(value)


_SIMPLE_SITE = re.compile(r"^(?:https?://)?(?:www\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.(com|org|net|us|biz|info|"
                          r"edu|gov|io|co)/?(?:[/?#][^\s]*)?$")


def fast_domain(value: str) -> str | None:
    """normalize_domain, skipping the public-suffix lookup for "acme.com"-shaped sites under a
    one-label suffix (where the registrable domain is the last two labels)."""
    m = _SIMPLE_SITE.match(value.strip().lower())
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    return normalize_domain(value)


def _struct_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    text = str(exc)
    path = validation_path(exc)
    name = path.split("[")[0].split(".")[0] or "row"
    if name == "contacts":
        name = "contact_" + (path.rsplit(".", 1)[-1] if "." in path else "name")
    return name, field_message(text)  # in words, as the web forms say it


def _schema_problems(payload: Mapping[str, Any], exc: msgspec.ValidationError) -> dict[str, str]:
    """Every column of a row the API schema refuses, in words. msgspec stops at the first problem,
    so each filled column is checked again on its own - only for rows that failed, the rare case."""
    problems: dict[str, str] = {}
    for name, value in payload.items():
        if name == "contacts":
            for key, cell in value[0].items():
                if cell is not None:
                    contact = {"name": "-", key: cell}
                    _schema_check(problems, f"contact_{key}", {"legal_name": "-", "contacts": [contact]})
        elif name == "legal_name" or value:
            _schema_check(problems, name, {"legal_name": "-", name: value})
    if not problems:  # not one column alone: say what msgspec said of the whole
        name, message = _struct_error(exc)
        problems[name] = message
    return problems


def _schema_check(problems: dict[str, str], column: str, payload: Mapping[str, Any]) -> None:
    try:
        msgspec.convert(payload, EmployerIn)
    except msgspec.ValidationError as exc:
        problems[column] = field_message(str(exc))


_PAYLOAD_COLUMNS = tuple(c for c in EMPLOYER_COLUMNS if c != "aliases")
_COLUMN_ORDER = {c: i for i, c in enumerate(COLUMNS)}


def validate_row(number: int, raw: Mapping[str, str], ref: Reference) -> ValidRow | list[RowError]:
    """Normalize one row with the employer service's rules; every problem of the row is a RowError
    naming its column (all of them at once, in the order of ``COLUMNS``)."""
    errors: list[RowError] = []
    refused: dict[str, str] = {}  # column -> what the API schema says of it: the column's one error

    def err(field_name: str, message: str) -> None:
        if field_name not in refused:
            errors.append(RowError(number, field_name, message))

    if CONTROL.search("".join(v for v in raw.values() if v)):  # a BEL or an escape sequence, as the API refuses
        for column, cell in raw.items():
            if cell and (control := CONTROL.search(cell)):
                err(column, control_message(control.group()))
    aliases = [a for a in (_clean(x) for x in split_aliases(raw.get("aliases") or "")) if a]
    # _clean inlined (17 cells a row, 100,000 rows): whitespace collapsed, blank is None.
    contact_values = {c: " ".join(v.split()) or None if (v := raw.get(c)) else None for c in CONTACT_COLUMNS}
    payload: dict[str, Any] = {c: " ".join(v.split()) or None if (v := raw.get(c)) else None
                               for c in _PAYLOAD_COLUMNS}
    payload["legal_name"] = payload["legal_name"] or ""
    payload["aliases"] = aliases
    if any(contact_values.values()):
        if not contact_values["contact_name"]:
            err("contact_name", "is required when other contact columns are filled")
        payload["contacts"] = [{"name": contact_values["contact_name"] or "-",
                                "title": contact_values["contact_title"], "email": contact_values["contact_email"],
                                "phone": contact_values["contact_phone"]}]
    try:
        msgspec.convert(payload, EmployerIn)  # the API's length and format limits
    except msgspec.ValidationError as exc:
        refused = _schema_problems(payload, exc)
        errors += [RowError(number, name, message) for name, message in refused.items()]

    values: dict[str, Any] = {}
    legal = payload["legal_name"]
    key = name_key(legal) if legal else ""
    if not legal:
        err("legal_name", "is required")
    elif not key:
        err("legal_name", "must contain letters or digits")
    values["legal_name"], values["name_key"] = legal, key
    values["dba"] = payload["dba"]
    website = payload["website"]
    domain = fast_domain(website) if website else None
    if website and not domain:
        err("website", f"{website!r} is not a web address")
    values["website"], values["domain"] = website, domain
    try:
        values["fein"] = fast_fein(payload["fein"])
    except ValueError as exc:
        err("fein", str(exc))
    phone = payload["phone"]
    values["phone"] = fast_phone(phone) if phone else None
    if phone and not values["phone"]:
        err("phone", f"{phone!r} is not a valid phone number")
    values["naics_code"] = payload["naics_code"]
    try:
        values["sector_code"] = sector_for_naics(values["naics_code"])
    except FieldError as exc:
        err("naics_code", exc.fields[0][1])
    band = payload["size_band"]
    if band and band not in _SIZE_BANDS:
        err("size_band", f"must be one of {', '.join(_SIZE_BANDS)}")
    values["size_band"] = band
    values["address_line"], values["city"] = payload["address_line"], payload["city"]
    zip_raw = payload["zip"]
    values["zip"] = normalize_zip(zip_raw) if zip_raw else None
    if zip_raw and not values["zip"]:
        err("zip", f"{zip_raw!r} is not a ZIP code")
    elif values["zip"] and len(str(zip_raw).strip()) == 3:
        # A spreadsheet's lost leading zero leaves four digits ("2134"); three would pad to 00xxx, Puerto Rico's.
        err("zip", f"{zip_raw!r} is not a ZIP code (five digits)")
    elif values["zip"] and (why := unused_prefix(values["zip"])):
        err("zip", why)

    county_id = region_id = None
    if county_name := payload["county"]:
        found = ref.counties.get(county_name.lower().removesuffix(" county"))
        if found is None:
            err("county", f"unknown California county {county_name!r}")
        else:
            county_id, region_id = found
    if region_code := payload["region"]:
        rid = ref.regions.get(region_code.strip().upper())
        if rid is None:
            err("region", f"unknown region code {region_code!r}")
        elif county_id is not None and rid != region_id:
            err("region", "does not contain the given county")
        else:
            region_id = rid
    # No county named: the California ZIP's places the row (SPEC §2, county → region), as a county column
    # would; a region the row names wins, and then the ZIP's county is kept only if it lies there.
    by_zip = None if county_name else ref.counties.get((county_of_zip(values["zip"]) or "").lower())
    if by_zip is not None and not region_code:
        county_id, region_id = by_zip
    elif by_zip is not None and region_id == by_zip[1] and not any(e.field == "region" for e in errors):
        county_id = by_zip[0]
    if region_id is None and not county_name and not region_code:
        region_id = ref.default_region_id
    # A wrong county or region leaves where the row belongs unknown: no region limit to say it breaks.
    placed = not any(e.field in ("county", "region") for e in errors)
    if placed and region_id is not None and ref.default_region_id is not None and region_id != ref.default_region_id:
        where = ref.region_codes.get(region_id, region_id)
        limit = ref.region_codes.get(ref.default_region_id)
        if county_id is not None and not county_name:
            county = ref.county_names.get(county_id, "a county")
            err("zip", f"{values['zip']} is in {county} County ({where}), and this import is only for {limit}; "
                       f"if the employer is in {limit} all the same, write {limit} in the row's region column")
        else:
            err("county" if county_name else "region", f"is in {where}; this import is limited to {limit}")
    elif ref.allowed_region_ids is not None and region_id not in ref.allowed_region_ids:
        err("region", "you may only import employers into your own region(s)")
    values["county_id"], values["region_id"] = county_id, region_id

    contact = None
    if payload.get("contacts"):  # any contact column filled (a missing name is said above)
        email = typed_email = contact_values["contact_email"]
        try:
            email = optional_email(typed_email)
        except ValueError as exc:
            err("contact_email", f"{typed_email!r} {exc}")
        cphone = contact_values["contact_phone"]
        cphone_n = fast_phone(cphone) if cphone else None
        if cphone and not cphone_n:
            err("contact_phone", f"{cphone!r} is not a valid phone number")
        contact = {"name": contact_values["contact_name"], "title": contact_values["contact_title"],
                   "email": email, "phone": cphone_n}
    if errors:
        errors.sort(key=lambda e: _COLUMN_ORDER.get(e.field, len(COLUMNS)))
        return errors

    alias_pairs: list[tuple[str, str]] = []
    seen = {key}
    for alias in aliases:
        akey = name_key(alias)
        if akey and akey not in seen:
            seen.add(akey)
            alias_pairs.append((alias, akey))
    return ValidRow(number, values, tuple(alias_pairs), contact, row_key(values, alias_pairs, contact))


_SIZE_BANDS = tuple(b.value for b in SizeBand)
_KEY_FIELDS = ("legal_name", "dba", "website", "fein", "phone", "naics_code", "size_band", "address_line", "city",
               "zip", "county_id", "region_id")


def row_key(values: Mapping[str, Any], aliases: Iterable[tuple[str, str]], contact: Mapping[str, Any] | None) -> str:
    """Fingerprint of a normalized row (not of its spelling in the file)."""
    parts = [str(values.get(f) or "") for f in _KEY_FIELDS]
    parts.append(";".join(sorted(k for _, k in aliases)))
    if contact:
        parts += [str(contact.get(k) or "") for k in ("name", "title", "email", "phone")]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
