"""NAICS 2022 sectors (census.gov/naics): the two-digit codes, the ranges some span, and their titles."""

from __future__ import annotations

from typing import Final

# Sector code (a range for the three that span several two-digit codes) -> title.
SECTOR_TITLES: Final = {
    "11": "Agriculture, Forestry, Fishing and Hunting",
    "21": "Mining, Quarrying, and Oil and Gas Extraction",
    "22": "Utilities",
    "23": "Construction",
    "31-33": "Manufacturing",
    "42": "Wholesale Trade",
    "44-45": "Retail Trade",
    "48-49": "Transportation and Warehousing",
    "51": "Information",
    "52": "Finance and Insurance",
    "53": "Real Estate and Rental and Leasing",
    "54": "Professional, Scientific, and Technical Services",
    "55": "Management of Companies and Enterprises",
    "56": "Administrative and Support and Waste Management and Remediation Services",
    "61": "Educational Services",
    "62": "Health Care and Social Assistance",
    "71": "Arts, Entertainment, and Recreation",
    "72": "Accommodation and Food Services",
    "81": "Other Services (except Public Administration)",
    "92": "Public Administration",
}
# Two-digit code -> its sector code.
SECTOR_OF_TWO_DIGITS: Final = {
    two: sector
    for sector in SECTOR_TITLES
    for two in ([f"{n}" for n in range(int(sector[:2]), int(sector[-2:]) + 1)] if "-" in sector else [sector])
}


def sector_code(naics: str) -> str | None:
    """The sector a 2-6 digit NAICS code (or prefix) falls in (``31-33`` for 332999), else None."""
    return SECTOR_OF_TWO_DIGITS.get(naics[:2])


def sector_title(naics: str | None) -> str:
    """The title of the sector a NAICS code or prefix falls in ("Manufacturing"); "" when none."""
    sector = sector_code(naics) if naics else None
    return SECTOR_TITLES[sector] if sector else ""


def naics_prefix_problem(prefix: str) -> str | None:
    """What is wrong with a NAICS prefix someone typed (digits, length, a sector NAICS 2022 has), or None."""
    if not (prefix.isascii() and prefix.isdigit() and 2 <= len(prefix) <= 6):
        return "must be 2 to 6 digits of a NAICS code"
    if sector_code(prefix) is None:
        # A routing rule, partnership or council for a sector no employer can be in (99, 10, ...) would
        # never route anyone, find no member employers and match no one's sector.
        return f"{prefix[:2]} is not a NAICS sector; the sectors are {', '.join(SECTOR_TITLES)}"
    return None
