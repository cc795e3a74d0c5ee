"""User e-mail addresses: checked for real (email-validator, no DNS) and case-folded."""

import pytest

from crm.emails import checked_email


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
