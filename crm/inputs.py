"""What no request may carry, refused before its handler runs: the NUL character, and path ids not
written in ASCII digits.

PostgreSQL cannot store U+0000 in text (asyncpg: "invalid byte sequence for encoding UTF8: 0x00"), so
a NUL in any string that reached the database -- a path segment, a query parameter, a form field, a
JSON string -- answered 500, even the unauthenticated sign-in; SQLite stored it silently, so the two
databases disagreed. No real name, note or code holds one: it is refused here, in one place, with a
422 naming where it was, and nothing runs. A multipart form's text fields are screened; its files are the
import's to read. The declared Content-Type decides nothing else: a body a JSON handler would read is
screened as JSON whatever it says it is.

The other control characters (C0 and C1, but tab, line feed and carriage return) are refused in form
and JSON bodies the same way: a BEL or an ANSI escape in a name passed "is required" and was stored.

A page whose form should say it beside the field, as it says any other mistake (422, the form again with
what was typed), opts out of the form screen with ``opt={AT_THE_FIELD: True}`` and checks every field
itself with ``control_problems`` before anything reads it; the path and query are screened as always.

A path id (``{id:int}``) is read by Python's ``int()``, which also takes "１" (full-width), "٣"
(Arabic-Indic), "1_0" (ten), "+1" and " 1": each named a real record. Query, body and form ids
accept ASCII digits only (``crm.ids``); path ids now do too.

A JSON body is read strictly: Litestar converts it with msgspec's lax rules, which took ``{"away": 0}``
as false, ``"3e1"`` as 30 days and ``1800000000`` as a date. A body those rules alone accept is a 422
naming the field and the type it must be; anything else wrong is left to the handler's own decoding.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar import Request

from crm.errors import FieldError, field_message, validation_path

NUL = "\x00"
_MESSAGE = "must not contain the NUL character (\\u0000)"
_ASCII_DIGITS = re.compile(r"[0-9]+")
# C0 and C1 control characters but tab, line feed and carriage return (NUL among them).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Where a body may hold one, before it is decoded: a JSON escape (\u0007, \b, \f) or raw byte (C1 in
# UTF-8: C2 80-9F), or a form's percent-encoding. Only a body that matches is decoded and searched.
_RAW_CONTROL = rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_JSON_CONTROL = re.compile(rb"\\u00[0189][0-9a-fA-F]|\\u007[fF]|\\[bf]|\xc2[\x80-\x9f]|" + _RAW_CONTROL)
# A form byte beyond ASCII, raw or percent-encoded: only such a body is checked for UTF-8.
_FORM_HIGH = re.compile(rb"[\x80-\xff]|%[89a-fA-F][0-9a-fA-F]")
_FORM_CONTROL = re.compile(rb"%(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF]|[cC]2%[89][0-9a-fA-F])|" + _RAW_CONTROL)


def _where_in(value: Any, at: str) -> tuple[str, str] | None:
    """The path (``employer.name``, ``outcomes[0].note``) of the first string in ``value`` holding a control
    character, and the character."""
    if isinstance(value, str):
        return (at, found.group()) if (found := CONTROL.search(value)) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{at}.{key}" if at else str(key)
            if found := CONTROL.search(str(key)):
                return at or "body", found.group()
            if (where := _where_in(item, name)) is not None:
                return where
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if (where := _where_in(item, f"{at}[{i}]")) is not None:
                return where
    return None


def _where_in_pairs(pairs: list[tuple[str, str]], whole: str) -> tuple[str, str] | None:
    for key, value in pairs:
        if found := CONTROL.search(key):
            return whole, found.group()
        if found := CONTROL.search(value):
            return key, found.group()
    return None


def _refuse_non_utf8(body: bytes) -> None:
    """A 422 naming the first form field whose bytes are not UTF-8 (pages are UTF-8, so browsers send it):
    read as Latin-1, "\xff\xfe" became an employer named "ÿþ"."""
    for pair in body.split(b"&"):
        key, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        for part in (key, value):
            try:
                part.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldError(key.decode("utf-8", "replace") if part is value else "body",
                                 "is not UTF-8 text") from None


def control_message(char: str) -> str:
    """What a field holding the control character ``char`` is told."""
    return _MESSAGE if char == NUL else f"must not contain control characters (U+{ord(char):04X})"


# A page handler's ``opt`` key: its form's control characters are said beside their fields by the handler
# (``control_problems``), so the screen lets the form's body through.
AT_THE_FIELD = "control_characters_at_the_field"


def control_problems(pairs: Iterable[tuple[str, Any]], fields: Collection[str], whole: str) -> dict[str, str]:
    """What each field of a page's form holding a control character is told, for a handler that says it
    beside the field (``AT_THE_FIELD``): one the form does not show, or a field name holding one, under
    ``whole``. Empty when the form is clean; values that are not text (an upload) are not looked at."""
    wrong: dict[str, str] = {}
    for key, value in pairs:
        if key == "_csrf_token" or not isinstance(value, str):
            continue
        found = CONTROL.search(key) or CONTROL.search(value)
        if found:
            wrong.setdefault(key if key in fields and not CONTROL.search(key) else whole,
                             control_message(found.group()))
    return wrong


def without_control(value: str) -> str:
    """``value`` without its control characters: what a form refused for them shows again to be corrected."""
    return CONTROL.sub("", value)


def _refuse_control(where: tuple[str, str] | None) -> None:
    if where is not None:
        field, char = where
        raise FieldError(field or "body", control_message(char))


def _refuse_lax_json(request: Request[Any, Any, Any], body: bytes) -> None:
    """A 422 for a JSON body only msgspec's lax rules accept (``{"away": 0}``), naming the field."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None or not body.strip():
        return
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return  # not JSON, not UTF-8 or nested too deeply: the handler's own decoding says so
    try:
        msgspec.convert(decoded, type=data.annotation, strict=True, str_keys=True)
    except msgspec.ValidationError as strict:  # (a DecodeError too: caught apart from the one above)
        try:
            msgspec.convert(decoded, type=data.annotation, strict=False, str_keys=True)
        except (msgspec.ValidationError, TypeError, ValueError):
            return  # wrong however read: the handler's own validation names every field
        raise FieldError(validation_path(strict) or "body", field_message(str(strict))) from None


def _refuse_loose_path_ids(request: Request[Any, Any, Any]) -> None:
    """A 422 naming the path id whose segment is not plain ASCII digits."""
    ints = [name for name, value in request.path_params.items() if isinstance(value, int)]
    if not ints:
        return
    template = request.scope.get("path_template", "").split("/")
    segments = request.scope["path"].split("/")
    if len(template) != len(segments):
        return
    for part, segment in zip(template, segments, strict=True):
        if part[1:-1] in ints and part.startswith("{") and not _ASCII_DIGITS.fullmatch(segment):
            raise FieldError(part[1:-1], "must be a number written in the digits 0-9")


async def screen_request(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request``: a 422 when the path or the query holds a NUL, a form/JSON body a
    control character, a path id is not written in ASCII digits, or a JSON body is right only if read
    laxly."""
    _refuse_loose_path_ids(request)
    if NUL in request.scope["path"]:
        named = next((k for k, v in request.path_params.items() if isinstance(v, str) and NUL in v), "path")
        raise FieldError(named, _MESSAGE)
    query = request.scope["query_string"]
    if b"%00" in query or b"\x00" in query:  # the NUL only: a query is searched for, never stored
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        named = next((key for key, value in pairs if NUL in value), "query")
        raise FieldError(named, _MESSAGE)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    media = request.content_type[0]  # lower-cased, as Litestar reads it ("Application/X-WWW-Form-Urlencoded")
    at_the_field = bool(request.route_handler.opt.get(AT_THE_FIELD))
    if media == "multipart/form-data" and request.route_handler.parsed_fn_signature.parameters.get("data") is None:
        if at_the_field:
            return
        # A page's form (its handler reads the form itself): its text fields, not its files (an upload is the
        # import's to read, row by row). Read as the form, never as raw bytes: the CSRF check may have parsed
        # it already, consuming the stream, and a raw read would then wait for a body that never comes.
        form = await request.form()
        _refuse_control(_where_in_pairs([(k, v) for k, v in form.multi_items() if isinstance(v, str)], "body"))
        return
    body = await request.body()
    if media == "application/x-www-form-urlencoded":
        if _FORM_HIGH.search(body):
            _refuse_non_utf8(body)
        if _FORM_CONTROL.search(body) and not at_the_field:
            _refuse_control(_where_in_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True),
                                            "body"))
        return
    # Any other declared type: a JSON handler reads the body as JSON whatever its Content-Type says
    # ("multipart/mixed" carried a NUL and {"away": 0} past these checks), so it is screened as JSON.
    if _JSON_CONTROL.search(body):
        try:
            decoded = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return  # not JSON, not UTF-8 or nested too deeply: the handler's own decoding says so
        _refuse_control(_where_in(decoded, ""))
    _refuse_lax_json(request, body)
