"""Spreadsheet downloads (crm.csvfile): byte-order mark, RFC 4180 quoting, no cell runs as a formula."""

from __future__ import annotations

import csv
import io

from crm.csvfile import csv_download, safe_cell


def test_text_a_spreadsheet_would_run_is_quoted_and_numbers_stay_numbers() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "Peña", "", None, -3, 0.5)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "Peña", "", "", -3, 0.5]


def test_a_download_is_a_utf8_attachment_with_a_byte_order_mark() -> None:
    r = csv_download("x.csv", ["name", "note"], [["Peña, Inc.", 'says "hi"\nthen =bye']])
    assert r.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
    body = r.content
    assert isinstance(body, bytes) and body.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == [
        ["name", "note"], ["Peña, Inc.", 'says "hi"\nthen =bye']]
