"""Every model, imported in one place so metadata is complete (Alembic, create_all)."""

from crm.audit.models import AuditEvent
from crm.auth.models import ApiToken, LoginFailure, RoleGrant, User
from crm.auth.store import SessionRecord
from crm.directory.models import County, Organization, Region, Sector, organization_region
from crm.employers.models import (
    Employer,
    EmployerAlias,
    EmployerContact,
    RoutingRule,
    SpocAssignment,
    routing_rule_pool,
)
from crm.jobs.models import JobRun
from crm.notify.models import OutboxMessage
from crm.touches.models import (
    EmployerBlackout,
    EmployerPacing,
    HandOff,
    IdempotencyRecord,
    RegionPolicy,
    Touch,
    TouchRequest,
    touch_contact,
)

__all__ = [
    "ApiToken", "AuditEvent", "EmployerBlackout", "EmployerPacing", "HandOff", "IdempotencyRecord",
    "OutboxMessage", "RegionPolicy", "Touch", "TouchRequest", "touch_contact", "County", "Employer", "EmployerAlias", "EmployerContact", "JobRun",
    "LoginFailure", "Organization", "Region", "RoleGrant", "RoutingRule", "Sector", "SessionRecord",
    "SpocAssignment", "User", "organization_region", "routing_rule_pool",
]
