"""E-mail addresses anyone types (users, contacts, members): checked for real (email-validator, no DNS) and
case-folded."""

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.emails import _PLAIN, checked_email, optional_email


@pytest.mark.parametrize(("given", "stored"), [
    ("Lead@Example.org", "lead@example.org"),
    ("  maria.lopez+crm@lattc.edu ", "maria.lopez+crm@lattc.edu"),
])
def test_a_good_address_is_stored_trimmed_and_case_folded(given, stored):
    assert checked_email(given) == stored


@pytest.mark.parametrize(("given", "reason"), [
    ("a b@x.org", "SPACE"),
    ("ab@x..org", "two periods in a row"),
    ("ab@localhost", "period"),
    ("@x.org", "something before the @-sign"),
    ("ab@", "something after the @-sign"),
    ("ab.x.org", "must have an @-sign"),
    ("", "is required"),
])
def test_a_bad_address_is_refused_with_the_reason(given, reason):
    with pytest.raises(ValueError, match=reason):
        checked_email(given)


@pytest.mark.parametrize("given", ["ann@acme.local", "ann@x.test", "a@b.invalid", "ann@plant.onion", "x@y",
                                   "ann@acme-.com", "ann@ab--cd.com", "a.@x.org", "ann@x.123"])
def test_an_address_of_plain_shape_no_one_can_write_to_is_still_refused(given):
    with pytest.raises(ValueError, match="is not a valid e-mail address"):
        checked_email(given)


def test_an_address_beyond_ascii_is_lower_cased_not_folded_into_another_mailbox():
    assert checked_email("STRA\u1e9eE@Ex\u00e4mple.com") == "stra\u00dfe@ex\u00e4mple.com"  # not "strasse@"
    assert checked_email("\u00df" * 64 + "@example.com") == "\u00df" * 64 + "@example.com"  # still 64 letters


def test_a_blank_optional_address_is_none_and_a_bad_one_is_refused():
    assert optional_email(None) is None and optional_email("  ") is None
    assert optional_email(" Ann@Acme.COM ") == "ann@acme.com"
    with pytest.raises(ValueError, match="SPACE"):
        optional_email("a b@x.org")


_LABEL = st.from_regex(r"\A[a-zA-Z0-9][a-zA-Z0-9-]{0,8}\Z") | st.sampled_from(["local", "test", "xn--bcher-kva", "com"])


@settings(max_examples=300, deadline=None)
@given(st.from_regex(_PLAIN, fullmatch=True)
       | st.builds("{}@{}.{}".format, st.from_regex(r"\A[a-zA-Z0-9_%+.-]{1,70}\Z"), _LABEL,
                   st.sampled_from(["com", "ORG", "local", "test", "onion", "arpa", "c0m", "io"])))
def test_the_quick_path_for_plain_addresses_agrees_with_email_validator(address):
    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized.lower()
        if len(expected) > 254:
            expected = None
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = checked_email(address)
    except ValueError:
        got = None
    assert got == expected
