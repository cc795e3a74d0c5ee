"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from crm.auth import service
from crm.auth.middleware import client_addr
from crm.auth.session import rotate_session_id
from crm.deps import Conf, Db
from crm.web import form_data, render


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never bounce a fresh login to another host.
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/"
    return target


class LoginPages(Controller):
    include_in_schema = False

    @get("/login", exclude_from_auth=True)
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None
    ) -> Template | Redirect:
        if request.scope.get("user") is not None:
            return Redirect(path=_safe_next(next))
        return render(request, "login.html", next=_safe_next(next), email="", error=None)

    @post("/login", exclude_from_auth=True)
    async def login(self, request: Request[Any, Any, Any], db: Db, settings: Conf) -> Template | Redirect:
        form = await form_data(request)
        email, password, target = form.get("email", ""), form.get("password", ""), _safe_next(form.get("next"))
        try:
            user = await service.authenticate(db, settings, email, password, client_addr(request.scope))
        except (NotAuthorizedException, TooManyRequestsException) as exc:
            status = 429 if isinstance(exc, TooManyRequestsException) else 401
            return render(request, "login.html", status_code=status, next=target, email=email, error=exc.detail)
        # A fresh session id on login prevents session fixation.
        rotate_session_id(request)
        request.set_session({"user_id": user.id, "epoch": user.session_epoch})
        return Redirect(path=target, status_code=303)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(path="/login", status_code=303)
