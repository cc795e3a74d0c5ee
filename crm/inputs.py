"""What no request may carry, refused before its handler runs: the NUL character, and path ids not
written in ASCII digits.

PostgreSQL cannot store U+0000 in text (asyncpg: "invalid byte sequence for encoding UTF8: 0x00"), so
a NUL in any string that reached the database -- a path segment, a query parameter, a form field, a
JSON string -- answered 500, even the unauthenticated sign-in; SQLite stored it silently, so the two
databases disagreed. No real name, note or code holds one: it is refused here, in one place, with a
422 naming where it was, and nothing runs. File uploads (multipart) are the import's to read.

A path id (``{id:int}``) is read by Python's ``int()``, which also takes "１" (full-width), "٣"
(Arabic-Indic), "1_0" (ten), "+1" and " 1": each named a real record. Query, body and form ids
accept ASCII digits only (``crm.ids``); path ids now do too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from crm.errors import FieldError

NUL = "\x00"
_MESSAGE = "must not contain the NUL character (\\u0000)"
_JSON_NUL = (b"\\u0000", b"\x00")  # the JSON escape, or a raw byte (which the decoder refuses anyway)
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _where_in(value: Any, at: str) -> str | None:
    """The path (``employer.name``, ``outcomes[0].note``) of the first string in ``value`` holding a NUL."""
    if isinstance(value, str):
        return at if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{at}.{key}" if at else str(key)
            if NUL in str(key):
                return at or "body"
            if (found := _where_in(item, name)) is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _where_in(item, f"{at}[{i}]")) is not None:
                return found
    return None


def _where_in_pairs(pairs: list[tuple[str, str]], whole: str) -> str | None:
    for key, value in pairs:
        if NUL in key:
            return whole
        if NUL in value:
            return key
    return None


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
    """Litestar ``before_request``: a 422 when the path, the query or a form/JSON body holds a NUL, or
    a path id is not written in ASCII digits."""
    _refuse_loose_path_ids(request)
    if NUL in request.scope["path"]:
        named = next((k for k, v in request.path_params.items() if isinstance(v, str) and NUL in v), "path")
        raise FieldError(named, _MESSAGE)
    query = request.scope["query_string"]
    if b"%00" in query or b"\x00" in query:
        where = _where_in_pairs(parse_qsl(query.decode("latin-1"), keep_blank_values=True), "query")
        if where is not None:
            raise FieldError(where, _MESSAGE)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = await request.body()
        if b"%00" in body or b"\x00" in body:
            where = _where_in_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "body")
            if where is not None:
                raise FieldError(where, _MESSAGE)
    elif not content_type.startswith("multipart/"):
        body = await request.body()
        if any(marker in body for marker in _JSON_NUL):
            try:
                decoded = msgspec.json.decode(body)
            except (msgspec.DecodeError, UnicodeDecodeError):
                return  # not JSON (or not UTF-8): the handler's own decoding says so
            where = _where_in(decoded, "")
            if where is not None:
                raise FieldError(where or "body", _MESSAGE)
