"""Every model, imported in one place so metadata is complete (Alembic, create_all)."""

from crm.audit.models import AuditEvent
from crm.auth.models import ApiToken, LoginFailure, RoleGrant, User
from crm.auth.store import SessionRecord
from crm.councils.models import AdvisoryCouncil, CouncilMeeting, CouncilMember, MeetingAttendance, Recommendation
from crm.directory.models import County, Organization, Region, Sector, organization_region
from crm.employers.candidates import employer_search_key
from crm.employers.duplicate_models import DuplicateCandidate, EmployerMerge, EmployerMergeChange
from crm.employers.import_models import ImportBatch, ImportJob, ImportRowKey
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
from crm.partnerships.models import (
    ActionTeam,
    Milestone,
    PartnershipAttendance,
    PartnershipMeeting,
    PartnershipMember,
    SectorPartnership,
    partnership_region,
)
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
    "ActionTeam",
    "AdvisoryCouncil",
    "ApiToken",
    "AuditEvent",
    "CouncilMeeting",
    "CouncilMember",
    "County",
    "DuplicateCandidate",
    "Employer",
    "employer_search_key",
    "EmployerAlias",
    "EmployerBlackout",
    "EmployerContact",
    "EmployerMerge",
    "EmployerMergeChange",
    "EmployerPacing",
    "HandOff",
    "IdempotencyRecord",
    "ImportBatch",
    "ImportJob",
    "ImportRowKey",
    "JobRun",
    "LoginFailure",
    "MeetingAttendance",
    "Milestone",
    "Organization",
    "organization_region",
    "OutboxMessage",
    "partnership_region",
    "PartnershipAttendance",
    "PartnershipMeeting",
    "PartnershipMember",
    "Recommendation",
    "Region",
    "RegionPolicy",
    "RoleGrant",
    "routing_rule_pool",
    "RoutingRule",
    "Sector",
    "SectorPartnership",
    "SessionRecord",
    "SpocAssignment",
    "Touch",
    "touch_contact",
    "TouchRequest",
    "User",
]
