"""Jinja filters that turn stored values into what people read (crm.templating)."""

from __future__ import annotations

import re
from pathlib import Path

from crm.audit.names import moved_words
from crm.templating import audit_action, audit_value, days, org_kind, percent, phone, sentence

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_audit_values_read_as_dates_dashes_and_words() -> None:
    assert audit_value(None) == "—" and audit_value("") == "—" and audit_value(True) == "yes"
    assert audit_value("2026-11-30T18:00:00+00:00") == "30 Nov 2026 10:00 PST"  # the instant, in California
    assert audit_value("2026-11-30") == "30 Nov 2026" and audit_value([3, 4]) == "3, 4"
    assert audit_value("2026-13-45") == "2026-13-45" and audit_value(7) == "7"


def test_audit_actions_and_organization_kinds_read_as_words() -> None:
    assert audit_action("touch.log") == "Touch logged by the SPOC"
    assert audit_action("region_policy.update") == "Region policy: update"  # one without its own words
    assert org_kind("cbo") == "Community-based organization (CBO)" and org_kind("something_new") == "something new"


def test_phones_are_written_as_people_write_them() -> None:
    assert phone("+13105550142") == "(310) 555-0142" and phone("+442079460958") == "+44 20 7946 0958"
    assert phone("not a number") == "not a number" and phone(None) == ""


def test_audit_changes_name_ids_and_say_what_was_removed():
    from crm.audit.models import AuditEvent
    from crm.audit.names import changes

    names = {("user", 7): "Maria Lopez", ("contact", 3): "Ana Ruiz"}
    ev = AuditEvent(before={"spoc_id": 9, "planned_on": "2026-11-20"},
                    after={"spoc_id": 7, "spoc": "Maria Lopez", "touch_id": 12, "contact_ids": [3, 4], "outcome": None})
    assert audit_value("2026-12-01 – 2026-12-05") == "1 Dec 2026 – 5 Dec 2026"
    assert changes(AuditEvent(entity_type="council_meeting", before={"member_id": 2, "present": True},
                              after={"member_id": 2, "present": False}), {("council_member", 2): "Dana Whitfield"}) \
        == [("member", "Dana Whitfield", "Dana Whitfield", False), ("present", True, False, True)]  # who: said once
    assert changes(AuditEvent(after={"outcomes": {"12": "not_interested"}}), {}) == [
        ("outcomes", None, "#12: not interested", False)]
    assert changes(ev, names) == [
        ("SPOC", "#9", "Maria Lopez", True),  # a SPOC since deleted reads by number; "spoc" (the name) is not repeated
        ("touch", None, "#12", False), ("contacts", None, ["Ana Ruiz", "#4"], False),
        ("planned on", "2026-11-20", None, True)]  # only before: removed; "outcome" empty both times: left out


def test_a_merges_moved_counts_read_as_the_things_moved() -> None:
    assert moved_words({"employer_contact": 1, "employer_alias": 0, "touch": 2}) == "1 contact, 0 aliases, 2 touches"
    assert moved_words({"employer_note": 3}) == "3 notes" and moved_words({}) is None


def test_a_number_of_days_is_said_in_the_singular_for_one():
    assert (days(0), days(1), days(7)) == ("0 days", "1 day", "7 days")


def test_a_share_too_small_for_one_decimal_is_not_said_as_zero():
    assert (percent(None), percent(0), percent(0.233), percent(17 / 250_000), percent(1)) == (
        "—", "0.0%", "23.3%", "0.0068%", "100.0%")


def test_a_sentence_ending_in_a_name_with_its_own_full_stop_gets_no_second():
    assert sentence("Sam now handles your touch with Acme Inc.") == "Sam now handles your touch with Acme Inc."
    assert sentence("Sam now handles your touch with Acme LLC") == "Sam now handles your touch with Acme LLC."


def test_every_sideways_scrolling_table_box_is_a_named_focus_stop() -> None:
    """A keyboard scrolls a box only if it can focus it, and a screen reader names it (WCAG 2.1.1, 4.1.2):
    every div.table-scroll of every template is tabindex=0, role=region and labelled."""
    boxes = [(path.relative_to(TEMPLATES), tag) for path in TEMPLATES.rglob("*.html")
             for tag in re.findall(r'<div class="table-scroll"[^>]*>', path.read_text())]
    assert len(boxes) >= 8
    unnamed = [(path, tag) for path, tag in boxes
               if not ('tabindex="0"' in tag and 'role="region"' in tag and 'aria-label="' in tag)]
    assert unnamed == []
