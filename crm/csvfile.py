"""Spreadsheet downloads: one writer for every CSV OneDoor hands out (rosters, crosswalk, reports).

Each file starts with a UTF-8 byte-order mark, so Excel reads names such as "Peña" right, and any
text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) is prefixed with an apostrophe: OWASP's "CSV injection". Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from litestar import Response

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell as written: nothing for None, text that would run as a formula quoted, anything else as is.

    Text that already starts with apostrophes before such a character ("'=x") gets one more, so
    that ``read_cell`` can tell the added apostrophe from one the text had: the export of employers
    is read back by the import, and that round trip must not change a name."""
    if value is None:
        return ""
    if isinstance(value, str) and value.lstrip("'").startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def read_cell(cell: str) -> str:
    """A text cell as it was before ``safe_cell``: the one apostrophe it added taken off, any other kept
    ("'Twas Bakery" stays as it is)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_STARTS):
        return cell[1:]
    return cell


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Response[bytes]:
    """The rows as an attachment named ``filename`` (RFC 4180 quoting, byte-order mark)."""
    return Response(("\ufeff" + csv_text(header, rows)).encode("utf-8"), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def file_stem(name: str, fallback: str) -> str:
    """A name as a file name: lower case ASCII letters and digits, each run of anything else one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or fallback
