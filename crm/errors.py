"""One JSON error shape for the API; friendly pages (or a login redirect) for browsers.

Shape: {"error": {"status": 422, "code": "validation_error", "message": "...",
                  "fields": [{"field": "fein", "message": "..."}]}}
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import IntegrityError

from crm.auth.models import Role
from crm.auth.principal import Principal

log = logging.getLogger("crm.errors")

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "too_many_requests",
    500: "server_error",
}


class FieldError(HTTPException):
    """A 422 naming the offending field(s); raised by services on bad input.

    Its detail (the API's ``message``) is "field: message" for one field and every field's, in order and
    joined by "; ", for several, so a client that shows only the message still sees all that is wrong."""

    status_code = 422

    def __init__(self, field: str, message: str, *more: tuple[str, str]) -> None:
        self.fields = [(field, message), *more]
        super().__init__(detail="; ".join(f"{f}: {m}" for f, m in dict.fromkeys(self.fields)))


class Conflict(HTTPException):
    status_code = HTTP_409_CONFLICT


class FieldConflict(Conflict):
    """A 409 caused by one field's value against the state of things (a day the employer's pacing budget
    refuses): a conflict to the API, which names the field in ``fields`` too; a form says it beside it."""

    def __init__(self, field: str, message: str) -> None:
        self.fields = [(field, message)]
        super().__init__(detail=message)


def _is_api(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith("/api") or path.startswith("/schema") or "application/json" in request.headers.get(
        "accept", ""
    ) and "text/html" not in request.headers.get("accept", "")


def error_body(status: int, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    # ``fields`` is always there (empty when no field is to blame), as the README promises clients.
    return {"error": {"status": status, "code": _CODES.get(status, "error"), "message": message,
                      "fields": fields or []}}


# msgspec names a missing or unknown field only in its message; its path points at the object that
# lacks (or has) it, the body itself for a top-level one.
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def validation_path(exc: Exception) -> str:
    """The field a msgspec validation error names (``hand_offs[0].need`` for ``… - at `$.hand_offs[0].need```,
    and for ``Object missing required field `need` - at `$.hand_offs[0]```), without ``$.`` and backticks;
    "" when it names none below the top level (a missing top-level field says it in the text)."""
    text = str(exc)
    if "$." not in text:
        return ""
    path = text.rsplit("$.", 1)[1].rstrip("`")
    return f"{path}.{named.group(1)}" if (named := _NAMED_FIELD.search(text)) else path


_LEN = re.compile(r"`(str|array|object)` of length (<=|>=) (\d+)")
_BOUND = re.compile(r"Expected `(?:int|float)` (>=|<=|>|<) (-?[\d.]+)")
_BOUND_WORDS = {">=": "must be {} or more", "<=": "must be {} or less", ">": "must be more than {}",
                "<": "must be less than {}"}
_DIGITS = re.compile(r"matching regex '\^\\\\d\{(\d+),(\d+)\}\$'")


def field_message(message: str) -> str:
    """A msgspec validation message in words, as a form shows it under the field and the CSV import
    in its row errors ("is required", "at most 200 characters", "must be 1 or more", "must be 2 to 6 digits")."""
    if "got `null`" in message or "missing required field" in message:
        return "is required"
    if m := _LEN.search(message):
        kind, op, n = m.groups()
        unit = "characters" if kind == "str" else "entries"
        if op == ">=":
            return "is required" if n == "1" else f"at least {n} {unit}"
        return f"at most {n} {unit}"
    if m := _BOUND.search(message):
        op, n = m.groups()
        return _BOUND_WORDS[op].format(n)
    if m := _DIGITS.search(message):
        return f"must be {m.group(1)} to {m.group(2)} digits"
    if "pattern" in message or "matching regex" in message:
        return "has the wrong format"
    if "Invalid RFC3339 encoded date" in message:
        return "is not a date (YYYY-MM-DD)"
    return message.split(" - at ")[0].replace("`", "")


_NOT_A_NUMBER = re.compile(r"Expected `int`, got `(?!null)")


def _page_words(message: str) -> str:
    """A page's query-parameter error in words (``?page=0``: "must be 1 or more"); the API keeps msgspec's."""
    return "must be a whole number" if _NOT_A_NUMBER.search(message) else field_message(message)


def _fields_from_validation(exc: ValidationException) -> list[dict[str, str]]:
    fields = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            message = str(item.get("message", exc.detail))
            named = _NAMED_FIELD.search(message)
            # Litestar files an error in the body under its parameter ("data"), which names nothing a
            # client sent, and one inside it under the object that lacks (or has) the field msgspec names.
            if key in ("data", "body") and named:
                key = named.group(1)
            elif key in ("data", "body") and message.strip("'\"") == key:
                # No body at all: Litestar reports the missing handler argument as the KeyError "'data'".
                key, message = "body", "is required: send a JSON object"
            elif key in ("data", "body"):
                key = "body"  # the body as a whole: not an object (``[]``, ``"x"``, ``null``)
            elif named and item.get("source") == "body":
                key = f"{key}.{named.group(1)}"
            fields.append({"field": key, "message": message})
    return fields


def _back_after_login(request: Request[Any, Any, Any]) -> str:
    """Where sign-in returns to: the page asked for, or — for an htmx call or a form post, whose URL
    answers no GET (a session that expired mid-action) — the page the user was on."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and not request.headers.get("hx-request"):
        return here
    page = request.headers.get("hx-current-url") or request.headers.get("referer") or ""
    try:
        parsed = urlsplit(page)
    except ValueError:  # an address that does not parse ("http://[::1/"): nowhere to go back to
        return "/"
    if parsed.netloc and parsed.netloc != request.url.netloc:
        return "/"  # never back to another site
    return (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")


# Litestar's CSRFMiddleware refuses a write whose token does not match the csrftoken cookie with this detail.
CSRF_FAILED = "CSRF token verification failed"
SIGNED_OUT = "You have been signed out"
# A signed-in user's form whose token matches no cookie: a page opened before its cookies were cleared (or
# forged by another site, which this refuses just the same).
STALE_FORM = ("This page is out of date: its form no longer matches your browser's sign-in cookies. Reload the "
              "page and send it again.")


def _csrf_failed(exc: HTTPException) -> bool:
    return type(exc) is PermissionDeniedException and exc.detail == CSRF_FAILED


def _signed_out(request: Request[Any, Any, Any], exc: HTTPException) -> bool:
    """A CSRF refusal of a write from nobody signed in: the session ended (expired, or its cookies were
    cleared) and the csrftoken cookie went with it, so the page's token matches nothing. The person needs
    to sign in again, not to hear about CSRF; a signed-in user's page is told it is out of date
    (``STALE_FORM``); the API keeps Litestar's words."""
    return _csrf_failed(exc) and request.scope.get("user") is None and not _is_api(request)


def _signed_out_response(request: Request[Any, Any, Any], status: int) -> Response[Any]:
    """"You have been signed out — sign in again", linking to sign-in and back to the page the user was on;
    an htmx action's page (a note typed in it) stays as it was, as for any refused htmx request."""
    target = _back_after_login(request)
    # The sign-in form itself, posted after its cookie was gone: back to that form (which keeps its next).
    login_url = target if urlsplit(target).path == "/login" else f"/login?next={quote(target)}"
    context = {"message": SIGNED_OUT, "fields": [], "login_url": login_url}
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        return Template(template_name="_error_inline.html", context=context, status_code=status,
                        headers={"HX-Retarget": "#htmx-error", "HX-Reswap": "innerHTML"})  # type: ignore[return-value]
    return Template(template_name="error.html", context={**context, "status": status, "principal": None},
                    status_code=status)  # type: ignore[return-value]


def _response(request: Request[Any, Any, Any], status: int, message: str,
              fields: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> Response[Any]:
    if _is_api(request):
        return Response(error_body(status, message, fields), status_code=status, media_type=MediaType.JSON,
                        headers=headers)
    if status == 401:
        target = _back_after_login(request)
        if request.headers.get("hx-request"):
            return Response("", status_code=204, headers={"HX-Redirect": f"/login?next={quote(target)}"})
        return Redirect(path=f"/login?next={quote(target)}")  # type: ignore[return-value]
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        # An htmx request would swap a whole error page into the element it targets (a queue's body, a
        # search's results), leaving a second page inside the first and nothing to target next time.
        return Template(template_name="_error_inline.html", context={"message": message, "fields": fields or []},
                        status_code=status,
                        headers={**(headers or {}), "HX-Retarget": "#htmx-error", "HX-Reswap": "innerHTML"})
    return Template(
        template_name="error.html",
        # The signed-in user's navigation too (when the route got that far), so a refused or missing
        # page is not a dead end.
        context={"status": status, "message": message, "fields": fields or [],
                 "principal": request.scope.get("user")},
        status_code=status,
        headers=headers,
    )  # type: ignore[return-value]


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, FieldError | FieldConflict):
        fields = [{"field": f, "message": m} for f, m in exc.fields]
        return _response(request, exc.status_code, exc.detail, fields)
    if isinstance(exc, ValidationException):
        fields = _fields_from_validation(exc)
        if not _is_api(request):
            fields = [{**f, "message": _page_words(f["message"])} for f in fields]
        status = 422 if fields and "JSON" not in str(exc.detail) else 400
        message = exc.detail if not fields else "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return _response(request, status if status != 400 else exc.status_code, message, fields)
    if _signed_out(request, exc):
        return _signed_out_response(request, exc.status_code)
    if _csrf_failed(exc) and not _is_api(request):
        return _response(request, exc.status_code, STALE_FORM, None, exc.headers)
    if (chair_view := _chair_view(request, exc)) is not None:
        return Redirect(chair_view, status_code=303)  # type: ignore[return-value]
    return _response(request, exc.status_code, exc.detail, None, exc.headers)


# A council's or partnership's page as staff and partners open it (a link, an e-mail, a bookmark).
_CRM_VIEW = re.compile(r"/(councils/\d+(?:/roster(?:\.csv)?)?|partnerships/\d+(?:/members\.csv)?)/?")


def _chair_view(request: Request[Any, Any, Any], exc: HTTPException) -> str | None:
    """Where a chair refused the CRM's page of a council or partnership reads it: the chair's own view of it
    (which checks that it is theirs), not "Your role does not allow this"."""
    user = request.scope.get("user")
    if exc.status_code != 403 or request.method != "GET" or _is_api(request) or not isinstance(user, Principal):
        return None
    if user.is_crm_user or not user.has(Role.chair):
        return None
    match = _CRM_VIEW.fullmatch(request.url.path)
    return f"/chair/{match.group(1)}" if match else None


def integrity_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # Unique/foreign-key violations that slipped past validation are conflicts, not crashes.
    log.info("integrity_error", extra={"path": request.url.path, "error": str(exc.orig)[:200]})
    return _response(request, 409, "The change conflicts with existing data (it may have been made already)")


def _raised_in(exc: BaseException, function: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def recursion_error_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # msgspec gives up on JSON nested deeper than the interpreter's recursion limit with a
    # RecursionError, which Litestar does not turn into a 400 as it does other malformed bodies.
    if _raised_in(exc, "decode_json"):
        return _response(request, 400, "The request body is nested too deeply to be read as JSON")
    return internal_error_handler(request, exc)


def unicode_error_handler(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # msgspec reads a JSON string holding bytes that are not UTF-8 (b'{"email": "\xff"}') with a
    # UnicodeDecodeError, which Litestar does not turn into a 400 as it does other malformed bodies.
    if _raised_in(exc, "decode_json"):
        return _response(request, 400, "The request body is not UTF-8 text")
    return internal_error_handler(request, exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error", extra={"path": request.url.path})
    return _response(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


exception_handlers: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    IntegrityError: integrity_error_handler,
    RecursionError: recursion_error_handler,
    UnicodeDecodeError: unicode_error_handler,
    Exception: internal_error_handler,
}
