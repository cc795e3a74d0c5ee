"""The import's pure core: reading files, mapping columns, validating rows, planning matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.employers.import_file import (
    IGNORE,
    ImportFileError,
    check_mapping,
    decode,
    guess_mapping,
    join_aliases,
    raw_rows,
    read_csv,
    split_aliases,
)
from crm.employers.import_matching import KeyIndex, fill_empty, plan_batch
from crm.employers.import_rows import (
    Reference,
    RowError,
    ValidRow,
    employer_record,
    fast_domain,
    fast_fein,
    fast_phone,
    validate_row,
)
from crm.employers.matching import contact_is_new, normalize_domain, normalize_fein, normalize_phone

REF = Reference(counties={"los angeles": (19, 1), "san francisco": (38, 2)},
                county_names={19: "Los Angeles", 38: "San Francisco"},
                regions={"LA-BASIN": 1, "BAY-PENINSULA": 2}, region_codes={1: "LA-BASIN", 2: "BAY-PENINSULA"})


def valid(n: int, **raw: str) -> ValidRow:
    out = validate_row(n, {"legal_name": "Harbor Freightways Inc", **raw}, REF)
    assert isinstance(out, ValidRow), out
    return out


def test_utf8_bom_and_cp1252_files_decode_and_utf16_or_binary_is_refused():
    assert decode("\ufefflegal_name\nCafé Olé\n".encode())[0].startswith("legal_name")
    assert decode("legal_name\nCafé Olé\n".encode("cp1252")) == ("legal_name\nCafé Olé\n", "cp1252")
    with pytest.raises(ImportFileError, match="UTF-16"):
        decode("legal_name\nAcme\n".encode("utf-16"))
    with pytest.raises(ImportFileError, match="XLSX"):
        decode(b"PK\x03\x04rest-of-a-workbook")
    with pytest.raises(ImportFileError, match="neither UTF-8 nor Windows-1252"):
        decode(b"legal_name\n\x81\x8d\x8f\n")
    # One Windows-1252 row among UTF-8 ones: reading it all as Windows-1252 would garble the UTF-8 rows.
    with pytest.raises(ImportFileError, match=r"mixes UTF-8 with another encoding \(line 2 is not UTF-8\)"):
        decode(b"legal_name\nCaf\xe9 Ol\xe9 Catering\n" + "Café Olé Catering\n".encode())


def test_semicolon_separated_files_are_read_and_an_empty_file_is_refused():
    table = read_csv(b"legal_name;zip\nAcme;90012\n")
    assert table.headers == ["legal_name", "zip"] and table.rows == [["Acme", "90012"]]
    with pytest.raises(ImportFileError, match="empty"):
        read_csv(b"\n\n")


def test_cells_starting_with_the_exports_apostrophe_are_not_taken_for_quoted_text():
    # csv.Sniffer took "'" for the quote character here and read row 2 as one cell.
    table = read_csv(b"legal_name,city,contact_name,contact_phone\n"
                     b"'+1 Rooter Plumbing,Fresno,Ann Lee,'+15595550100\n"
                     b"Zeta Widgets Quux,Fresno,Bo Chan,'+15595550101\n")
    assert table.rows == [["'+1 Rooter Plumbing", "Fresno", "Ann Lee", "'+15595550100"],
                          ["Zeta Widgets Quux", "Fresno", "Bo Chan", "'+15595550101"]]


def test_doubled_quotes_are_one_quote_even_when_the_first_8_kb_has_none():
    # The sniffer turned doubled quotes off when its sample had quoted cells but no "".
    plain = "".join(f'"Plain Tools {i}, Inc",Fresno\n' for i in range(400))
    table = read_csv(f'legal_name,city\n{plain}"Acme ""Best"" Tools, Inc",Fresno\n'.encode())
    assert len(table.rows) == 401 and table.rows[-1] == ['Acme "Best" Tools, Inc', "Fresno"]


@pytest.mark.parametrize(("text", "rows"), [
    ("legal_name\tcity\nAcme, Inc\tFresno\n", [["Acme, Inc", "Fresno"]]),
    ("legal_name;aliases\nAcme, Inc;\"A; B\"\n", [["Acme, Inc", "A; B"]]),
    ("Name, legal;City\nAcme;Fresno\nZeta;Fresno\n", [["Acme", "Fresno"], ["Zeta", "Fresno"]]),
    ("legal_name,aliases\nAcme,A;B;C\nZeta,Z\n", [["Acme", "A;B;C"], ["Zeta", "Z"]]),
    ("legal_name,city;town\nAcme,Fresno\n", [["Acme", "Fresno"]]),
])
def test_the_separator_is_the_one_the_rows_fit(text, rows):
    assert read_csv(text.encode()).rows == rows


def test_a_row_with_text_in_more_fields_than_the_header_is_not_read_and_empty_extra_fields_are_let_through():
    table = read_csv(b"legal_name,city\nAcme, Inc,Fresno\nZeta Widgets,Fresno,\nBeta Co,Fresno, ,\n")
    rows = list(raw_rows(table, check_mapping(table.headers, guess_mapping(table.headers))))
    assert rows[0][2] == "has 3 fields; the header has 2: quote a value that contains a comma"
    assert rows[1:] == [(3, {"legal_name": "Zeta Widgets", "city": "Fresno"}, None),
                        (4, {"legal_name": "Beta Co", "city": "Fresno"}, None)]
    table = read_csv(b"legal_name;city\nAcme;Fresno\nAcme; Inc;Fresno;;\n")
    rows = list(raw_rows(table, check_mapping(table.headers, guess_mapping(table.headers))))
    assert [r[2] for r in rows] == [None, "has 3 fields; the header has 2: quote a value that contains a semicolon"]
    assert str(RowError(3, "", rows[1][2])) == "row 3 has 3 fields; the header has 2: quote a value that contains a " \
                                               "semicolon"


def test_headers_are_guessed_by_name_and_unknown_ones_must_be_mapped_or_ignored():
    headers = ["Company Name", "E-mail", "Zip Code", "EIN", "Favourite colour"]
    guessed = guess_mapping(headers)
    assert guessed == {"Company Name": "legal_name", "E-mail": "contact_email", "Zip Code": "zip", "EIN": "fein",
                       "Favourite colour": ""}
    with pytest.raises(ImportFileError, match="Unknown column.*Favourite colour"):
        check_mapping(headers, guessed)
    assert check_mapping(headers, {**guessed, "Favourite colour": IGNORE}) == {0: "legal_name", 1: "contact_email",
                                                                               2: "zip", 3: "fein"}
    with pytest.raises(ImportFileError, match="No legal_name column"):
        check_mapping(["zip"], {"zip": "zip"})
    with pytest.raises(ImportFileError, match="both mapped to zip"):
        check_mapping(["a", "b", "name"], {"a": "zip", "b": "zip", "name": "legal_name"})


def test_same_named_columns_are_refused_naming_them_and_the_fix_unless_all_are_ignored():
    headers = ["legal_name", "Phone", "Phone"]
    with pytest.raises(ImportFileError) as refused:
        check_mapping(headers, guess_mapping(headers))
    assert str(refused.value) == ("Columns 2 and 3 are both headed 'Phone', and a column is mapped by its header: "
                                  "rename one in the file's first row (say 'Phone 2') and try again, or ignore both "
                                  "(CLI: --map 'Phone=ignore')")
    with pytest.raises(ImportFileError, match="Columns 1, 2 and 4 are all headed 'Name'.*rename all but one") as said:
        check_mapping(["Name", "Name", "zip", "Name"], guess_mapping(["Name", "Name", "zip", "Name"]))
    assert "No legal_name column" not in str(said.value)  # there is one, told apart once renamed
    assert check_mapping(headers, {"legal_name": "legal_name", "Phone": IGNORE}) == {0: "legal_name"}


def test_a_hand_mapping_is_refused_with_every_problem_at_once():
    headers = ["legal_name", "fien", "E-mail"]
    wanted = {**guess_mapping(headers), "fien": "bogus", "Phone #": "phone"}
    with pytest.raises(ImportFileError) as refused:
        check_mapping(headers, wanted, given={"fien": "bogus", "Phone #": "phone"})
    said = str(refused.value)
    assert "'bogus' (mapped from 'fien') is not a column to import into" in said
    assert "one of legal_name, dba, website, fein" in said
    assert "'Phone #' is not a column of the file; its columns are legal_name, fien, E-mail" in said


def test_a_hand_mapping_written_column_first_is_pointed_out():
    with pytest.raises(ImportFileError, match="did you mean fien=fein"):
        check_mapping(["legal_name", "fien"], {"legal_name": "legal_name", "fien": IGNORE}, given={"fein": "fien"})


def test_an_alias_with_a_semicolon_is_read_whole_when_quoted_and_cells_without_quotes_split_as_before():
    assert [a for a, _ in valid(2, aliases='HFI; "Smith; Jones LLC"').aliases] == ["HFI", "Smith; Jones LLC"]
    assert [a for a, _ in valid(2, aliases="HFI; Harbor Freight;Harbor Lines").aliases] == [
        "HFI", "Harbor Freight", "Harbor Lines"]
    # Quotes that are part of a name, not around one, are kept, and the cell splits on every ";".
    assert [a for a, _ in valid(2, aliases='"Best" Tools; The "Good" Co').aliases] == ['"Best" Tools',
                                                                                       'The "Good" Co']
    assert join_aliases(["HFI", "Smith; Jones LLC", '"Best" Tools', 'The "Good" Co']) == \
        'HFI; "Smith; Jones LLC"; """Best"" Tools"; The "Good" Co'


_alias = st.text(alphabet='ab ;"\',', min_size=1, max_size=8).map(lambda t: " ".join(t.split())).filter(bool)


@given(st.lists(_alias, max_size=4))
def test_the_aliases_an_export_writes_are_the_aliases_the_import_reads(names):
    read = [" ".join(a.split()) for a in split_aliases(join_aliases(names))]
    assert [a for a in read if a] == names  # blank entries are dropped, as validate_row does


def test_row_errors_name_the_row_and_every_bad_field():
    out = validate_row(7, {"legal_name": "Acme", "fein": "12-345", "zip": "9", "website": "not a site",
                           "county": "Atlantis", "size_band": "huge", "naics_code": "99"}, REF)
    assert isinstance(out, list)
    assert {e.field for e in out} == {"fein", "zip", "website", "county", "size_band", "naics_code"}
    assert all(e.row == 7 for e in out)
    assert str(RowError(7, "fein", "bad")) == "row 7, fein: bad"


def test_a_row_with_many_problems_reports_every_one_in_column_order():
    # A name too long for the API schema used to stop validation there: the other seven went unsaid.
    out = validate_row(9, {"legal_name": "x" * 201, "website": "not a site", "fein": "12-345", "phone": "555",
                           "naics_code": "12a", "zip": "9", "contact_name": "Ann Lee", "contact_email": "ann at acme",
                           "contact_phone": "12"}, REF)
    assert isinstance(out, list)
    assert [(e.row, e.field) for e in out] == [(9, "legal_name"), (9, "website"), (9, "fein"), (9, "phone"),
                                               (9, "naics_code"), (9, "zip"), (9, "contact_email"),
                                               (9, "contact_phone")]
    assert [e.message for e in out if e.field in ("legal_name", "naics_code")] == ["at most 200 characters",
                                                                                   "must be 2 to 6 digits"]


def test_schema_limits_of_several_columns_are_reported_together_once_each():
    out = validate_row(4, {"legal_name": "Acme", "fein": "1" * 25, "zip": "1" * 12, "region": "X",
                           "contact_email": "x" * 255}, REF)
    assert out == [RowError(4, "fein", "at most 20 characters"), RowError(4, "zip", "at most 10 characters"),
                   RowError(4, "region", "at least 2 characters"),
                   RowError(4, "contact_name", "is required when other contact columns are filled"),
                   RowError(4, "contact_email", "at most 254 characters")]


def test_lengths_come_from_the_api_schema_and_a_missing_name_is_required():
    out = validate_row(3, {"legal_name": "x" * 201}, REF)
    assert out == [RowError(3, "legal_name", "at most 200 characters")]
    assert validate_row(4, {"legal_name": "  "}, REF) == [RowError(4, "legal_name", "is required")]


def test_values_the_api_schema_refuses_are_said_in_words_not_as_msgspec_messages():
    assert validate_row(5, {"legal_name": "Acme", "naics_code": "12a"}, REF) == [
        RowError(5, "naics_code", "must be 2 to 6 digits")]
    assert validate_row(6, {"legal_name": "Acme", "aliases": ";".join(f"Acme {i}" for i in range(51))}, REF) == [
        RowError(6, "aliases", "at most 50 entries")]
    assert validate_row(7, {"legal_name": "Acme", "region": "X"}, REF) == [
        RowError(7, "region", "at least 2 characters")]
    assert validate_row(8, {"legal_name": "Acme", "contact_name": "x" * 121}, REF) == [
        RowError(8, "contact_name", "at most 120 characters")]


def test_row_values_are_normalized_like_the_employer_service():
    row = valid(2, website="https://www.Harbor-Freight.com/about", fein="123456789", phone="(213) 555-0101",
                zip="90012-1234", county="Los Angeles County", naics_code="484110", aliases="HFI; ; Harbor Freight")
    v = row.values
    assert (v["domain"], v["fein"], v["phone"], v["zip"]) == ("harbor-freight.com", "12-3456789", "+12135550101",
                                                             "90012")
    assert (v["county_id"], v["region_id"], v["sector_code"], v["name_key"]) == (19, 1, "48-49", "harbor freightways")
    assert [a for a, _ in row.aliases] == ["HFI", "Harbor Freight"]


def test_county_and_region_must_agree_and_the_import_region_limits_rows():
    assert validate_row(2, {"legal_name": "A", "county": "Los Angeles", "region": "BAY-PENINSULA"}, REF) == [
        RowError(2, "region", "does not contain the given county")]
    limited = Reference(**{**REF.__dict__, "default_region_id": 1})
    assert valid_in(limited, {"legal_name": "A"})["region_id"] == 1
    errors = validate_row(2, {"legal_name": "A", "county": "San Francisco"}, limited)
    assert isinstance(errors, list) and "limited to LA-BASIN" in errors[0].message
    scoped = Reference(**{**REF.__dict__, "allowed_region_ids": frozenset({1})})
    errors = validate_row(2, {"legal_name": "A"}, scoped)
    assert isinstance(errors, list) and errors[0].field == "region"


def test_a_zip_no_us_zip_could_be_is_a_row_error_but_a_lost_leading_zero_is_not():
    assert validate_row(2, {"legal_name": "A", "zip": "00000"}, REF) == [
        RowError(2, "zip", "00000 is not a U.S. ZIP code (no ZIP begins with 000)")]
    assert valid_in(REF, {"legal_name": "A", "zip": "2134"})["zip"] == "02134"
    assert validate_row(2, {"legal_name": "A", "zip": "999"}, REF) == [  # a typo, not Puerto Rico's 00999
        RowError(2, "zip", "'999' is not a ZIP code (five digits)")]


def test_a_row_without_a_county_takes_its_california_zips_county_within_its_region():
    # 90012 is Los Angeles, 94103 San Francisco (the zipcodes package's data); 10001 is New York.
    assert placed(REF, zip="90012") == (19, 1)
    assert placed(REF, zip="94103", region="BAY-PENINSULA") == (38, 2)
    assert placed(REF, zip="10001") == (None, None)
    # A region the row names wins over its ZIP's.
    assert placed(REF, zip="94103", region="LA-BASIN") == (None, 1)
    # An import limited to a region refuses a row its ZIP places elsewhere, as it does a county column,
    # unless the row names the region.
    limited = Reference(**{**REF.__dict__, "default_region_id": 1})
    assert placed(limited, zip="90012") == (19, 1)
    assert validate_row(2, {"legal_name": "A", "zip": "94103"}, limited) == [RowError(
        2, "zip", "94103 is in San Francisco County (BAY-PENINSULA), and this import is only for LA-BASIN; if the "
                  "employer is in LA-BASIN all the same, write LA-BASIN in the row's region column")]
    assert placed(limited, zip="94103", region="LA-BASIN") == (None, 1)
    # A county the row names wins over its ZIP's.
    assert placed(REF, zip="94103", county="Los Angeles") == (19, 1)


def placed(ref: Reference, **raw: str) -> tuple[int | None, int | None]:
    values = valid_in(ref, {"legal_name": "A", **raw})
    return values["county_id"], values["region_id"]


def valid_in(ref: Reference, raw: dict[str, str]) -> dict:
    out = validate_row(2, raw, ref)
    assert isinstance(out, ValidRow)
    return out.values


def test_contact_columns_need_a_name_and_a_real_email():
    errors = validate_row(2, {"legal_name": "A", "contact_email": "x@y.com"}, REF)
    assert isinstance(errors, list) and errors[0].field == "contact_name"
    errors = validate_row(2, {"legal_name": "A", "contact_name": "Ann", "contact_email": "nope"}, REF)
    assert isinstance(errors, list) and errors[0].field == "contact_email"


@pytest.mark.parametrize(("email", "reason"), [("a b@x.org", "SPACE"), ("ann@harbor", "period"),
                                               ("ann@harbor..com", "two periods"), ("ann@acme.local", "special-use")])
def test_an_imported_contact_email_is_checked_as_a_users_is(email, reason):
    errors = validate_row(2, {"legal_name": "A", "contact_name": "Ann", "contact_email": email}, REF)
    assert isinstance(errors, list) and [e.field for e in errors] == ["contact_email"]
    assert errors[0].message.startswith(f"{email!r} is not a valid e-mail address") and reason in errors[0].message


def test_an_imported_contact_email_is_kept_case_folded():
    values = validate_row(2, {"legal_name": "A", "contact_name": "Ann", "contact_email": "Ann.Lee@Harbor.COM"}, REF)
    assert isinstance(values, ValidRow) and values.contact is not None
    assert values.contact["email"] == "ann.lee@harbor.com"


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A ?[0-9]{2}-?[0-9]{7} ?\Z") | st.text(max_size=12))
def test_fast_fein_agrees_with_normalize_fein(value):
    try:
        expected: str | None | type = normalize_fein(value)
    except ValueError:
        expected = ValueError
    try:
        got: str | None | type = fast_fein(value)
    except ValueError:
        got = ValueError
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A(\+1)?[ (]?[0-9]{3}[) .-]{0,2}[0-9]{3}[ .-]?[0-9]{4}\Z"))
def test_fast_phone_agrees_with_normalize_phone(value):
    assert fast_phone(value) == normalize_phone(value)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A(https?://)?(www\.)?[a-z0-9-]{1,12}(\.[a-z]{2,4}){1,2}(/[a-z]*)?\Z"))
def test_fast_domain_agrees_with_normalize_domain(value):
    assert fast_domain(value) == normalize_domain(value)


def test_same_name_and_zip_later_in_the_file_is_a_duplicate_of_the_first_row():
    index, records, rows_of_file = KeyIndex(), {}, {}
    a, b = valid(2, zip="90012"), valid(3, legal_name="Harbor Freightways, Inc.", zip="90012")
    plans = plan_batch([a, b], index, records, {}, rows_of_file)
    assert [(p.action, p.duplicate_of) for p in plans] == [("new", None), ("duplicate", 2)]


def test_a_row_imported_before_is_recognized_by_its_row_key():
    row = valid(2)
    plans = plan_batch([row], KeyIndex(), {}, {row.row_key: 41}, {})
    assert (plans[0].action, plans[0].target) == ("unchanged", 41)


def test_a_confident_match_links_to_the_existing_employer():
    index = KeyIndex()
    existing = {"legal_name": "Harbor Freightways Inc", "name_key": "harbor freightways", "domain": "harbor.com",
                "zip": "90012"}
    index.add(9, "harbor freightways", "90012", "harbor.com", None)
    records = {9: employer_record(9, existing, [])}
    row = valid(5, legal_name="Harbor Freightways LLC", website="harbor.com", zip="90012")
    plans = plan_batch([row], index, records, {}, {})
    assert (plans[0].action, plans[0].target) == ("matched", 9)
    assert "harbor.com" in plans[0].explanation


def test_fill_empty_never_overwrites_and_contacts_are_matched_by_email_then_name():
    changes = fill_empty({"website": "a.com", "phone": None, "naics_code": None, "region_id": 1},
                         {"website": "b.com", "domain": "b.com", "phone": "+12135550101", "naics_code": "484110",
                          "sector_code": "48-49", "region_id": 2, "county_id": 38})
    assert changes == {"phone": "+12135550101", "naics_code": "484110", "sector_code": "48-49"}
    assert not contact_is_new({"name": "Ann", "email": "ANN@x.com"}, [{"name": "A. Lee", "email": "ann@x.com"}])
    assert contact_is_new({"name": "Ann", "email": None}, [{"name": "Bo", "email": None}])
    assert not contact_is_new({"name": "ann", "email": None}, [{"name": "Ann", "email": None}])


def test_an_index_key_lists_every_employer_that_has_it_in_the_order_they_came():
    index = KeyIndex()
    index.add(7, "harbor freightways", "90012", "harbor.com", "12-3456789")
    index.add(9, "harbor freightways", "90013", None, None)
    index.add("row:4", "harbor freightways", "90012", None, None)
    index.rename("row:4", 11)
    row = valid(5, legal_name="Harbor Freightways LLC", zip="90012", website="harbor.com", fein="12-3456789")
    assert index.candidates(row) == [7, 9, 11]
    assert index.candidates(valid(6, legal_name="Harbor Freightways", zip="90013")) == [7, 9, 11]
    assert index.candidates(valid(7, legal_name="Sierra Dental", zip="90013")) == []


_WORDS = ["Harbor", "Harbour", "Freight", "Freightways", "Pacific", "Dental", "Group", "The", "Inc", "LLC", "&", "Co"]
_names = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
_phones = st.sampled_from([None, "+12135550101", "+12135550102"])
_feins = st.sampled_from([None, "12-3456789", "33-1111020"])
_domains = st.sampled_from([None, "harbor.com", "pacific.org"])


@settings(max_examples=300, deadline=None)
@given(_names, _phones, _feins, _domains, _names, _phones, _feins, _domains, st.lists(_names, max_size=2))
def test_a_candidate_left_unloaded_is_one_the_planner_would_not_compare(
        name, phone, fein, domain, q_name, q_phone, q_fein, q_domain, q_aliases):
    """The index tells "not worth comparing" from the legal name, phone, FEIN and domain it keeps,
    exactly as the planner's pre-filter would on the loaded employer."""
    from crm.employers.import_matching import query_names, worth_comparing
    from crm.employers.matching import EmployerRecord, name_key

    index = KeyIndex()
    index.add(3, name_key(name), "90012", domain, fein)
    index.brief[3] = (name, phone)
    existing = EmployerRecord(id=3, name=name, domain=domain, fein=fein, phone=phone, zip="90012")
    query = EmployerRecord(id="row:2", name=q_name, aliases=tuple(q_aliases), domain=q_domain, fein=q_fein,
                           phone=q_phone, zip="90012")
    names = query_names(query)
    assert index.worth_loading(query, names, 3) == worth_comparing(query, existing, names)
    index.forget(3)  # this run changed it: what the index knows is stale, so it is loaded
    assert index.worth_loading(query, names, 3)
