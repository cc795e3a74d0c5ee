"""What the API reference (/schema) says beyond each handler's own types, decided in one place.

Litestar documents every operation with a 400 in its own error body (``status_code/detail/extra``)
and nothing else; our handlers answer crm.errors' shape, with more statuses. ``ApiReference`` gives
every operation the statuses it can answer, each described by ``Error``, from what the handler is:

- 400 and 413: it reads a body (not JSON; over Litestar's body size limit);
- 422: it reads a body or parameters (``FieldError`` and msgspec validation, naming the field);
- 401 and 403: it is not public (no or a revoked token; role, region scope, CSRF for a cookie session);
- 404: its path names a record;
- 409: it writes (a concurrent or repeated change, a unique key);
- and any a handler declares with ``raises=`` (signing in: 401 and 429).

A public handler (``exclude_from_auth``) is documented ``security: [{}]`` -- Litestar drops an empty
``security=[]``, which left the app-wide bearer requirement on it -- and a handler whose body has a
default documents the body as optional (Litestar marks every body required). ``ApiOperation`` drops
what Litestar still documents in its own shape (its 400 where no body is read: the API never answers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.constants import RESERVED_KWARGS
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse, Operation, Reference, RequestBody, Schema
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute


class ErrorField(msgspec.Struct):
    field: str
    message: str


class ErrorDetail(msgspec.Struct):
    status: int
    code: str
    message: str
    fields: list[ErrorField]


class Error(msgspec.Struct):
    """Every error the API answers: ``fields`` names what to fix (empty when no field is to blame)."""

    error: ErrorDetail


_WHY = {
    400: "The body is not JSON",
    401: "Sign in required: no bearer token, or a revoked one",
    403: "Signed in, but the role, the region or the record's scope does not allow this",
    404: "No such record (or not one the caller may see)",
    409: "The change conflicts with the record's current state or existing data",
    413: "The body is too large",
    422: "A value is missing or invalid; fields names each",
    429: "Too many attempts; try again later",
}
_WRITES = {HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE}
# An empty requirement object: the operation needs no credentials (OpenAPI 3.1, "Security Requirement").
PUBLIC: list[dict[str, list[str]]] = [{}]


@dataclass
class ApiOperation(Operation):
    """Drops the errors Litestar documents in its own body (a 400 for every operation with parameters,
    one per ``raises=`` exception) that ``ApiReference`` did not replace: the API never answers them."""

    def __post_init__(self) -> None:
        self.responses = {status: response for status, response in (self.responses or {}).items()
                          if not _litestars_error(response)}


def _litestars_error(response: OpenAPIResponse | Reference) -> bool:
    content = response.content if isinstance(response, OpenAPIResponse) else None
    schemas = [media.schema for media in (content or {}).values() if isinstance(media.schema, Schema)]
    schemas += [one for schema in schemas for one in schema.one_of or () if isinstance(one, Schema)]
    return any({"status_code", "detail"} <= set(schema.properties or ()) for schema in schemas)


@dataclass
class OptionalBodyOperation(ApiOperation):
    """An operation whose request body may be left out."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def error_statuses(handler: HTTPRouteHandler, path_parameters: bool) -> set[int]:
    """The error statuses a handler can answer (see the module's docstring)."""
    signature = handler.parsed_fn_signature.parameters
    has_body = "data" in signature
    parameters = set(signature) - RESERVED_KWARGS - set(handler.resolve_dependencies())
    statuses = {exc.status_code for exc in handler.raises or ()}
    if has_body:
        statuses |= {400, 413}
    if has_body or parameters or path_parameters:
        statuses.add(422)
    if not handler.opt.get("exclude_from_auth"):
        statuses |= {401, 403}
    if path_parameters:
        statuses.add(404)
    if handler.http_methods & _WRITES:
        statuses.add(409)
    return statuses


class ApiReference(ReceiveRoutePlugin):
    """Documents errors, public operations and optional bodies as routes are registered (before the
    schema is generated, which Litestar does on first use)."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            responses: dict[int, ResponseSpec] = {
                status: ResponseSpec(Error, description=_WHY.get(status, "Error"),
                                     generate_examples=False)
                for status in sorted(error_statuses(handler, bool(route.path_parameters)))
            }
            # The handler's own (a 200 besides its 201, say) win: they describe what it answers.
            handler.responses = {**responses, **(handler.responses or {})}
            if handler.opt.get("exclude_from_auth"):
                handler.security = PUBLIC
            data: Any = handler.parsed_fn_signature.parameters.get("data")
            handler.operation_class = (OptionalBodyOperation if data is not None and data.has_default
                                       else ApiOperation)
