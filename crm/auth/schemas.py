from __future__ import annotations

from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    label: Annotated[str, msgspec.Meta(max_length=120)] = "api"


class TokenOut(msgspec.Struct):
    token: str
    token_type: str = "bearer"


class GrantOut(msgspec.Struct):
    role: str
    region: str | None


class UserOut(msgspec.Struct):
    id: int
    email: str
    name: str
    organization: str | None
    roles: list[GrantOut]
    home: str
    # A SPOC marked away: new touches of their employers go to the assignments' backups.
    away: bool = False


class AwayIn(msgspec.Struct, forbid_unknown_fields=True):
    """Mark a SPOC away (their backups cover their queue) or back."""

    away: bool
