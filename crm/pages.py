"""Every HTML route handler, collected for ``create_app``."""

from litestar.types import ControllerRouterHandler

from crm.admin.pages import AdminPages
from crm.auth.pages import LoginPages
from crm.councils.chair_pages import ChairPages
from crm.councils.pages import CouncilPages
from crm.directory.pages import CrosswalkPages
from crm.employers.contact_pages import ContactPages
from crm.employers.import_pages import EmployerImportPages
from crm.employers.match_pages import ContactOptionsPages, MatchPages
from crm.employers.pages import EmployerPages
from crm.employers.review_pages import ReviewPages
from crm.home.pages import home
from crm.partnerships.pages import PartnershipPages
from crm.reports.pages import ReportPages
from crm.touches import timeline  # noqa: F401  (registers the employer page's timeline panel)
from crm.touches.handoff_pages import MadeHandOffPages
from crm.touches.policy_pages import RegionPages
from crm.touches.preferences import PreferencesPages
from crm.touches.queue_pages import HandOffPages, QueuePages
from crm.touches.request_pages import RequestPages
from crm.touches.transfer_pages import CaseloadPages

route_handlers: list[ControllerRouterHandler] = [LoginPages, EmployerPages, MatchPages, ReviewPages, AdminPages, home,
                                CouncilPages, PartnershipPages, ChairPages, QueuePages, HandOffPages, MadeHandOffPages,
                                RegionPages, CaseloadPages, RequestPages, EmployerImportPages, ReportPages,
                                CrosswalkPages, PreferencesPages, ContactOptionsPages, ContactPages]
