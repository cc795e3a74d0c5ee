"""The employer page's contacts: add, correct and remove the employer's people (``crm.employers.contacts``).

With htmx each form answers the page's contacts block (``employers/_contacts.html``), saying what was done
in it, or showing the refused form again with its problems beside its fields; without JavaScript a change
goes back to the employer page and a refusal shows the whole page with the form open."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from crm.auth.guards import requires_crm_user, requires_staff
from crm.deps import Db, Me, PathId
from crm.employers import contacts
from crm.employers.pages import employer_page
from crm.employers.schemas import ContactIn, ContactPatch
from crm.web import flash, form_data, is_htmx, parse_form, redirect, refused

PARTIAL = "employers/_contacts.html"


class ContactPages(Controller):
    path = "/employers/{employer_id:int}/contacts"
    guards = [requires_crm_user, requires_staff]
    include_in_schema = False

    @post("/")
    async def add(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                  employer_id: PathId) -> Template | Redirect:
        form = await form_data(request)
        try:
            contact = await contacts.add_contact(db, principal, employer_id, parse_form(form, ContactIn))
        except HTTPException as exc:
            return await _refused(request, db, principal, employer_id, exc, form, "new")
        return await _done(request, db, principal, employer_id, f"{contact.name} added to the contacts")

    @post("/{contact_id:int}")
    async def update(self, request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: PathId,
                     contact_id: PathId) -> Template | Redirect:
        """The form sends every field: a blank title, e-mail or phone clears it."""
        form = await form_data(request)
        try:
            data = parse_form(form, ContactIn)
            contact = await contacts.update_contact(db, principal, employer_id, contact_id, ContactPatch(
                name=data.name, title=data.title, email=data.email, phone=data.phone))
        except HTTPException as exc:
            return await _refused(request, db, principal, employer_id, exc, form, str(contact_id))
        return await _done(request, db, principal, employer_id, f"{contact.name}'s details saved")

    @post("/{contact_id:int}/remove")
    async def remove(self, request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: PathId,
                     contact_id: PathId) -> Template | Redirect:
        try:
            name = await contacts.remove_contact(db, principal, employer_id, contact_id)
        except HTTPException as exc:
            return await _refused(request, db, principal, employer_id, exc, {}, str(contact_id))
        return await _done(request, db, principal, employer_id, f"{name} removed from the contacts")


async def _done(request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: int,
                said: str) -> Template | Redirect:
    if is_htmx(request):
        return await employer_page(request, db, principal, employer_id, partial=PARTIAL, contacts_said=said)
    flash(request, said)
    return redirect(request, f"/employers/{employer_id}#contacts")


async def _refused(request: Request[Any, Any, Any], db: Db, principal: Me, employer_id: int, exc: HTTPException,
                   form: dict[str, str], which: str) -> Template:
    """The contacts again with the refused form (``which``: "new" or the contact's id) open, showing what was
    typed and each problem (409/422); anything else (403, 404) is raised as it is."""
    errors = await refused(db, exc)
    return await employer_page(request, db, principal, employer_id, partial=PARTIAL, status_code=exc.status_code,
                               contact_form=which, contact_errors=errors, contact_values=form)
