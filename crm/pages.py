"""Every HTML route handler, collected for ``create_app``."""

from crm.admin.pages import AdminPages
from crm.auth.pages import LoginPages
from crm.employers.pages import EmployerPages
from crm.home.pages import home

route_handlers: list[object] = [LoginPages, EmployerPages, AdminPages, home]
