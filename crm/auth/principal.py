"""The signed-in user as a plain value, with the role/scope questions every guard asks."""

from __future__ import annotations

from dataclasses import dataclass

from crm.auth.models import Role, User


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    email: str
    name: str
    organization_id: int | None
    organization_name: str | None
    # role -> region ids (empty frozenset = not region-limited)
    roles: dict[str, frozenset[int]]
    via_token: bool = False

    @classmethod
    def from_user(cls, user: User, via_token: bool = False) -> Principal:
        roles: dict[str, set[int]] = {}
        for grant in user.grants:
            regions = roles.setdefault(grant.role, set())
            if grant.region_id is not None:
                regions.add(grant.region_id)
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            organization_id=user.organization_id,
            organization_name=user.organization.name if user.organization else None,
            roles={role: frozenset(regions) for role, regions in roles.items()},
            via_token=via_token,
        )

    def has(self, *roles: Role | str) -> bool:
        return any(str(role) in self.roles for role in roles)

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    @property
    def primary_role(self) -> str:
        """The role whose home page this user lands on."""
        for role in (Role.admin, Role.lead, Role.spoc, Role.partner, Role.chair):
            if role in self.roles:
                return role.value
        return "none"

    def regions_for(self, *roles: Role | str) -> frozenset[int]:
        found: set[int] = set()
        for role in roles:
            found |= self.roles.get(str(role), frozenset())
        return frozenset(found)

    def can_in_region(self, region_id: int | None, *roles: Role | str) -> bool:
        """Admins anywhere; region-scoped roles only in their granted regions."""
        if self.is_admin:
            return True
        if region_id is None:
            return False
        return region_id in self.regions_for(*roles)

    @property
    def is_crm_user(self) -> bool:
        """Everyone but chairs-only users may see the CRM side."""
        return self.has(Role.admin, Role.lead, Role.spoc, Role.partner)
