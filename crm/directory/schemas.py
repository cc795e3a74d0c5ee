from __future__ import annotations

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
