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

``StructReference`` completes Litestar's schema of a msgspec Struct with what msgspec enforces and
Litestar leaves out: ``additionalProperties: false`` for a body refusing unknown fields, the constraints
of list items (``contact_ids[i]`` is an id, ``aliases[i]`` a bounded name), and the ``extra_json_schema``
of a field's ``msgspec.Meta`` -- where ``choice`` puts the values a field accepts (``enum``), which the
handlers check themselves so that one 422 names every problem of a body.

A public handler (``exclude_from_auth``) is documented ``security: [{}]`` -- Litestar drops an empty
``security=[]``, which left the app-wide bearer requirement on it -- and a handler whose body has a
default documents the body as optional (Litestar marks every body required). ``ApiOperation`` drops
what Litestar still documents in its own shape (its 400 where no body is read: the API never answers it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import params

# Litestar's own Struct plugin (not exported; Litestar is pinned to 2.25): StructReference completes it.
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.constants import RESERVED_KWARGS
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse, OpenAPIType, Operation, Parameter, Reference, RequestBody, Schema
from litestar.params import ParameterKwarg
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator


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
        for parameter in self.parameters or ():
            if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
                _integral_bounds(parameter.schema)


def _integral_bounds(schema: Schema) -> None:
    """An integer parameter's bounds as integers: Litestar writes ``ge=1`` as ``1.0``. (A float past
    2**53 may not be the declared bound: such a parameter says its bounds in ``schema_extra``.)"""
    if schema.type != OpenAPIType.INTEGER:
        return
    for name in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        value = getattr(schema, name)
        if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
            setattr(schema, name, int(value))


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


def choice(values: Iterable[str], *, max_length: int) -> msgspec.Meta:
    """A string field's constraint naming the values it accepts, documented as its ``enum``; the handler
    checks the value (naming every problem of the body at once)."""
    return msgspec.Meta(max_length=max_length, extra_json_schema={"enum": [str(value) for value in values]})


def checked(**keywords: Any) -> msgspec.Meta:
    """A string field's constraints documented as JSON Schema ``keywords`` (``maxLength``, ``pattern``) but
    checked by the handler, which names every problem of the body at once: msgspec stops at the first."""
    return msgspec.Meta(extra_json_schema=keywords)


def choice_parameter(values: Iterable[str], *, max_length: int, description: str | None = None) -> ParameterKwarg:
    """A query parameter naming the values it accepts (its ``enum``); the handler checks the value."""
    return params.Parameter(max_length=max_length, description=description,
                            schema_extra={"enum": [str(value) for value in values]})


class StructReference(StructSchemaPlugin):
    """Litestar's component schema of a msgspec Struct, completed (see the module's docstring)."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _complete(prop, field.type)
        return schema


def _complete(schema: Schema, kind: msgspec.inspect.Type) -> None:
    """Adds to ``schema`` the Meta extras and list item constraints of the field type ``kind``."""
    nullable = False
    if isinstance(kind, msgspec.inspect.UnionType):
        nullable = any(isinstance(one, msgspec.inspect.NoneType) for one in kind.types)
        present = [one for one in kind.types if not isinstance(one, msgspec.inspect.NoneType)]
        if len(present) != 1:
            return
        kind = present[0]
    if isinstance(kind, msgspec.inspect.Metadata):
        extra = {key: value for key, value in (kind.extra_json_schema or {}).items()
                 if key not in {"title", "description", "examples"}}
        if nullable and "enum" in extra:
            extra["enum"] = [*extra["enum"], None]
        _set(schema, extra)
        kind = kind.type
    if isinstance(kind, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        _set(schema, _constraints(kind))  # Litestar's are floats: 2**63 - 1 became 2**63
    if schema.one_of is not None and len(schema.one_of) == 1 and isinstance(schema.one_of[0], Schema):
        # Litestar's schema of ``T | UnsetType``: a oneOf of one; the field is just T (or absent).
        only, schema.one_of = schema.one_of[0], None
        for name in ("type", "format", "items", "enum", "pattern"):
            if getattr(schema, name) is None:
                setattr(schema, name, getattr(only, name))
    if isinstance(kind, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType)):
        array = schema if schema.items is not None else next(
            (one for one in schema.one_of or () if isinstance(one, Schema) and one.items is not None), None)
        if array is not None and isinstance(array.items, Schema):
            _set(array.items, _constraints(kind.item_type))


def _constraints(kind: msgspec.inspect.Type) -> dict[str, Any]:
    """What msgspec checks of one value of type ``kind`` (a list item), as JSON Schema keywords."""
    extra: dict[str, Any] = {}
    if isinstance(kind, msgspec.inspect.Metadata):
        extra = dict(kind.extra_json_schema or {})
        kind = kind.type
    own: dict[str, Any] = {}
    if isinstance(kind, msgspec.inspect.StrType):
        own = {"minLength": kind.min_length, "maxLength": kind.max_length, "pattern": kind.pattern}
    elif isinstance(kind, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        own = {"minimum": kind.ge, "maximum": kind.le, "exclusiveMinimum": kind.gt,
               "exclusiveMaximum": kind.lt, "multipleOf": kind.multiple_of}
    # What the handler checks (``checked``) is documented as well as what msgspec checks.
    return {key: value for key, value in own.items() if value is not None} | extra


def _set(schema: Schema, keywords: dict[str, Any]) -> None:
    aliases = schema.field_aliases()
    for key, value in keywords.items():
        setattr(schema, aliases.get(key, key), value)
