"""Helpers every page handler uses: render a page or its htmx partial, read forms, flash."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.principal import Principal
from crm.errors import FieldConflict, FieldError, field_message, validation_path

T = TypeVar("T", bound=msgspec.Struct)


class FormErrors(dict[str, str]):
    """Field name → message, rendered beside each field."""


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, *,
           partial: str | None = None, push_url: str | None = None, **context: Any) -> Template:
    """The full page, or only ``partial`` when htmx asked for it (same markup either way); ``push_url``:
    the address htmx shows for the partial (the page a refresh should open)."""
    context.setdefault("principal", request.scope.get("user"))
    context.setdefault("flashes", pop_flashes(request))
    name = partial if partial and is_htmx(request) else template
    return HTMXTemplate(template_name=name, context=context, status_code=status_code,
                        push_url=push_url if name == partial else None)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """htmx asked for a fragment (a boosted link or form wants the whole page, and so does Back restoring a
    page htmx did not keep: it sends HX-Request too, and a fragment would replace the whole body)."""
    headers = request.headers
    return (headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


def flash(request: Request[Any, Any, Any], message: str, kind: str = "ok") -> None:
    flashes = list(request.session.get("flashes", [])) if request.session else []
    flashes.append([kind, message])
    request.set_session({**(request.session or {}), "flashes": flashes[-5:]})


def pop_flashes(request: Request[Any, Any, Any]) -> list[list[str]]:
    session = request.scope.get("session")
    if not isinstance(session, dict) or not session.get("flashes"):
        return []
    flashes = session["flashes"]
    request.set_session({k: v for k, v in session.items() if k != "flashes"})
    return list(flashes)


def redirect(request: Request[Any, Any, Any], path: str) -> Redirect:
    """A 303 after a POST; htmx follows it transparently."""
    return Redirect(path=path, status_code=303)


async def form_data(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted form as single strings (the CSRF field removed)."""
    form = await request.form()
    return {k: (v if isinstance(v, str) else "") for k, v in form.items() if k != "_csrf_token"}


async def refused(db: AsyncSession, exc: HTTPException, key: str = "form") -> dict[str, str]:
    """The errors a form shows for a refused change (409/422), after rolling the change back: each
    field's message, or the whole refusal under ``key``. Any other error is raised again."""
    if exc.status_code not in (409, 422):
        raise exc
    await db.rollback()
    return dict(exc.fields) if isinstance(exc, FieldError | FieldConflict) else {key: str(exc.detail)}


def current_page_query(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    """The query of the page an htmx request came from (``HX-Current-URL``: the page's filters); empty for
    none or an address that does not parse (a hand-made header is no reason for a 500)."""
    try:
        return parse_qs(urlsplit(request.headers.get("hx-current-url", "")).query)
    except ValueError:
        return {}


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    assert isinstance(user, Principal)
    return user


def _form_dict(form: dict[str, str], fields: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
    return {name: value.strip() or None for name, value in form.items() if name in fields and name not in drop}


def form_fields(form: dict[str, str], struct: type[T], *,
                drop: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each of the form's fields checked on its own against ``struct``'s type for it: the values that pass
    (converted) and every field's problem, said the way ``parse_form`` says them. A service's checks across
    fields can then run on what did pass, and the form is told everything wrong at once."""
    fields = {f.name: f for f in msgspec.structs.fields(struct)}
    data = _form_dict(form, fields, drop)
    values: dict[str, Any] = {}
    wrong: list[tuple[str, str]] = []
    for name, info in fields.items():
        if name not in data:
            if info.required:
                wrong.append((name, "is required"))
            continue
        try:
            values[name] = msgspec.convert(data[name], info.type, strict=False)
        except msgspec.ValidationError as exc:
            wrong.append((name, field_message(str(exc))))
    return values, wrong


def parse_form(form: dict[str, str], struct: type[T], *, drop: tuple[str, ...] = ()) -> T:
    """Validate a form against the same msgspec Struct the API uses; one error names every field that is wrong."""
    fields = {f.name: f for f in msgspec.structs.fields(struct)}
    data = _form_dict(form, fields, drop)
    try:
        return msgspec.convert(data, struct, strict=False)
    except msgspec.ValidationError as exc:
        _, wrong = form_fields(form, struct, drop=drop)
        if not wrong:  # a rule of the struct as a whole (none today): say what msgspec said
            text = str(exc)
            field = validation_path(exc).split("[")[0].split(".")[0]
            if not field and "missing required field" in text:
                field = text.split("`")[1]
            wrong = [(field or "form", field_message(text))]
        raise FieldError(*wrong[0], *wrong[1:]) from None


def problems(check: Callable[..., Any], *args: Any) -> list[tuple[str, str]]:
    """The field problems ``check(*args)`` raises (a FieldError), or none: to gather every check's at once."""
    try:
        check(*args)
    except FieldError as exc:
        return list(exc.fields)
    return []


def refuse_problems(unparsed: list[tuple[str, str]], checked: Iterable[tuple[str, str]],
                    first: Iterable[tuple[str, str]] = ()) -> None:
    """Raise one FieldError naming every problem of a form at once, if it has any: ``first``, the fields that
    do not parse (``form_fields``), and the service's checks of those that did (``checked``; a field that did
    not parse is said once)."""
    said = {field for field, _ in unparsed}
    wrong = [*first, *unparsed, *(w for w in checked if w[0] not in said)]
    if wrong:
        raise FieldError(*wrong[0], *wrong[1:])


def parse_member_form(form: dict[str, str], struct: type[T],
                      member_problems: Callable[[dict[str, Any]], list[tuple[str, str]]]) -> T:
    """A council or partnership seat from its page form, every problem said at once: an employer typed
    but not picked, the fields that do not parse, and the service's checks (``member_problems``, which
    need no database) of the fields that did."""
    values, unparsed = form_fields(form, struct)
    refuse_problems(unparsed, member_problems(values), first=problems(picked_employer, form))
    return parse_form(form, struct)


def picked_employer(form: dict[str, str]) -> None:
    """A form with an employer field group that only takes an employer picked from the list: a name
    typed and left unpicked is refused rather than dropped (the member would be saved without it)."""
    if form.get("employer_name", "").strip() and not form.get("employer_id", "").strip():
        raise FieldError("employer_name", "choose the employer from the list (or clear the name)")
