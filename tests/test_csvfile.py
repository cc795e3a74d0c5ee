"""Spreadsheet downloads (crm.csvfile): byte-order mark, RFC 4180 quoting, no cell runs as a formula."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from crm.csvfile import csv_download, read_cell, safe_cell


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


def test_reading_a_cell_takes_off_only_the_apostrophe_safe_cell_added() -> None:
    for value in ("=1+2 Formula Co", "-Minus Guy", "+x", "@x", "\tTabbed", "\rReturn", "'Twas Bakery", "'=x",
                  "''+y", "'", "", "Peña"):
        assert read_cell(safe_cell(value)) == value
    assert read_cell("'Twas Bakery") == "'Twas Bakery"  # an apostrophe the name has is kept
    assert safe_cell("'=x") == "''=x"  # so that reading it back gives "'=x", not "=x"


@given(st.text(alphabet=st.sampled_from("'=+-@\t\raZ 1"), max_size=8) | st.text(max_size=20))
def test_safe_cell_then_read_cell_is_the_identity(value: str) -> None:
    written = safe_cell(value)
    assert read_cell(written) == value
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
