"""API bodies for touch requests (msgspec Structs), shared by the JSON API and the partner form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from crm.ids import Id
from crm.openapi import choice
from crm.touches.routing import Priority, Purpose

Summary = Annotated[str, msgspec.Meta(max_length=2000)]
Short = Annotated[str, msgspec.Meta(max_length=200)]


class EmployerQueryIn(msgspec.Struct, forbid_unknown_fields=True):
    """An employer described by what the partner knows, when they have no id."""

    name: Short | None = None
    website: Short | None = None
    fein: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    city: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    zip: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class TouchRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/touch-requests: ``employer_id`` or ``employer``, plus what the partner wants."""

    purpose: Annotated[str, choice(Purpose, max_length=32)]
    employer_id: Id | None = None
    employer: EmployerQueryIn | None = None
    region: Annotated[str, msgspec.Meta(min_length=2, max_length=32)] | None = None
    summary: Summary = ""
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    priority: Annotated[str, choice(Priority, max_length=16)] = "normal"
    # A lead of the region may open a touch the pacing budget would hold; the reason is audited.
    override_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class WithdrawIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    """A lead's early release of a held request: why the employer's pacing is overridden (audited)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class MatchIn(msgspec.Struct, forbid_unknown_fields=True):
    """The employer a ``needs_match`` request meant: ``employer_id``, or ``create`` it from what the
    partner typed (none of the candidates is right). Exactly one of the two."""

    employer_id: Id | None = None
    create: bool = False


class SpocRef(msgspec.Struct):
    id: int
    name: str


class TouchRequestOut(msgspec.Struct):
    id: int
    status: str
    touch_id: int | None
    employer_id: int | None
    spoc: SpocRef | None
    planned_date: dt.date | None
    release_on: dt.date | None
    decision: str
    employer_name: str | None
    region: str
    purpose: str
    priority: str
    summary: str
    window_start: dt.date
    window_end: dt.date
    requester: str
    requester_org: str
    outcome: str | None
    outcome_note: str | None
    created_at: dt.datetime


class TouchRequestPage(msgspec.Struct):
    items: list[TouchRequestOut]
    total: int
    limit: int
    offset: int
