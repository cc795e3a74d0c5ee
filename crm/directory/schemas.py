from __future__ import annotations

from typing import Annotated

import msgspec


class RegionOut(msgspec.Struct):
    code: str
    name: str
    counties: list[str]
    local_boards: list[str]


class OrganizationOut(msgspec.Struct):
    id: int
    name: str
    kind: str
    regions: list[str]


class OrganizationPage(msgspec.Struct):
    items: list[OrganizationOut]
    total: int
    limit: int
    offset: int


class ServiceOut(msgspec.Struct):
    code: str
    name: str
    description: str


class CrosswalkRowOut(msgspec.Struct):
    id: int
    name: str
    kind: str
    services: list[str]


class CrosswalkOut(msgspec.Struct):
    """Organizations serving the region × services: each row lists the codes of what it offers there."""

    region: str
    services: list[ServiceOut]
    organizations: list[CrosswalkRowOut]


class OrganizationServicesIn(msgspec.Struct, forbid_unknown_fields=True):
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    # At most 100 (crosswalk.MAX_SERVICES), said by the service in words; documented here.
    services: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(
        extra_json_schema={"maxItems": 100})]


class OrganizationServicesOut(msgspec.Struct):
    organization_id: int
    region: str
    services: list[str]
