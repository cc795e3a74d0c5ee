"""`/region`: a lead's region settings — pacing policy form and routing rules (add/remove, SPOC pool)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import seen
from crm.auth.guards import requires_lead
from crm.auth.models import Role, RoleGrant
from crm.auth.principal import Principal
from crm.auth.service import set_away
from crm.deps import Db, Me, PathId
from crm.directory.models import Region
from crm.directory.service import employers_known_in, led_regions, region_by_code, set_establishment_count
from crm.employers.naics import naics_prefix_problem
from crm.employers.service import spoc_candidates
from crm.errors import Conflict, FieldError
from crm.ids import parse_id
from crm.templating import back_words, held_words
from crm.touches import policy
from crm.touches.touch_schemas import PolicyIn, RoutingRuleEdit, RoutingRuleIn
from crm.web import flash, form_data, redirect, render

# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_WHOLE = re.compile(r"-?[0-9]+")


_BEYOND = 10**18  # past every range a form here takes


def _whole_number(form: dict[str, str], name: str) -> int:
    """A whole number as typed, for a field whose range the caller checks and says: a number of any length
    is read (one of more than 18 digits as just beyond ±10^18, which no range takes), so that a 20-digit
    policy number is told the range the form shows ("between 1 and 366"), not some other limit."""
    value = form.get(name, "").strip()
    if not _WHOLE.fullmatch(value):
        raise FieldError(name, "must be a whole number")
    if len(value.lstrip("-").lstrip("0")) > 18:
        return -_BEYOND if value.startswith("-") else _BEYOND
    return int(value)


async def spocs_of(db: AsyncSession, region_id: int) -> set[int]:
    """Users holding a SPOC role in the region: those a lead may mark away."""
    return set(await db.scalars(select(RoleGrant.user_id).where(RoleGrant.region_id == region_id,
                                                                 RoleGrant.role == Role.spoc.value)))


async def _rule_form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], list[str]]:
    """A rule form's fields, and the user ids ticked in its pool (a field sent once per box)."""
    raw = await request.form()
    return await form_data(request), [v for v in raw.getall("pool", []) if isinstance(v, str)]


def _pool_and_priority(form: dict[str, str], ticked: list[str], wrong: list[tuple[str, str]],
                       blank_priority: int | None = None) -> tuple[list[int], int]:
    """A rule form's SPOC pool (the ticked user ids) and priority, each mistake added to ``wrong``;
    ``blank_priority``: what an empty priority means (a new rule's default), else it is required."""
    chosen = [parse_id(v) for v in ticked]
    pool = [v for v in chosen if v is not None]
    if not pool or len(pool) != len(chosen):
        wrong.append(("pool", "choose at least one SPOC"))
    priority = blank_priority if blank_priority is not None else 0
    if blank_priority is None or form.get("priority", "").strip():
        try:
            priority = _whole_number(form, "priority")
            if not 0 <= priority <= 10_000:
                wrong.append(("priority", "must be between 0 and 10000"))
        except FieldError as exc:
            wrong.extend(exc.fields)
    return pool[:50], priority


def _routed(said: str, routed: list[int]) -> str:
    """``said``, and the waiting touches the rules just routed."""
    if not routed:
        return said
    return f"{said}; it routed {len(routed)} waiting touch{'es' if len(routed) != 1 else ''}: " + ", ".join(
        f"#{t}" for t in routed)


class RegionPages(Controller):
    path = "/region"
    guards = [requires_lead]
    include_in_schema = False

    @get("/")
    async def settings(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       region: Annotated[str | None, Parameter(max_length=32)] = None) -> Template:
        return await self._page(request, db, principal, region)

    async def _page(self, request: Request[Any, Any, Any], db: Db, principal: Principal, code: str | None, *,
                    policy_errors: dict[str, str] | None = None, rule_errors: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None, status_code: int = 200,
                    partial: str | None = None, saved: bool = False,
                    establishment_errors: dict[str, str] | None = None,
                    establishments_saved: bool = False, said: str = "",
                    edit_errors: dict[int, dict[str, str]] | None = None,
                    edit_values: dict[int, dict[str, Any]] | None = None) -> Template:
        """The region page (or its ``partial``); ``said``: what the change just made did, in the card."""
        regions = await led_regions(db, principal, counties=True)
        if not regions:
            raise PermissionDeniedException("You lead no region")
        current = next((r for r in regions if code and r.code == code.strip().upper()), regions[0])
        current_policy = await policy.get_policy(db, current)
        return render(request, "region/index.html", partial=partial, status_code=status_code, regions=regions,
                      region=current, policy=current_policy, rules=await policy.list_rules(db, current),
                      candidates=await spoc_candidates(db, current.id), policy_errors=policy_errors or {},
                      rule_errors=rule_errors or {}, values=values or {}, policy_saved=saved,
                      establishment_errors=establishment_errors or {}, establishments_saved=establishments_saved,
                      establishments_known=await employers_known_in(db, current.id),
                      spoc_ids=await spocs_of(db, current.id), said=said, edit_errors=edit_errors or {},
                      edit_values=edit_values or {}, rule_seen=policy.rule_seen)

    @post("/{code:str}/spocs/{user_id:int}/away")
    async def set_away(self, request: Request[Any, Any, Any], db: Db, principal: Me, code: FromPath[str],
                       user_id: PathId) -> Template | Redirect:
        """A lead marks a SPOC of the region away or back (SPEC §3.5); the service checks who may."""
        region = await self._region(db, principal, code)
        code = region.code
        away = (await form_data(request)).get("away") == "1"
        user, returned = await set_away(db, principal, user_id, away)
        message = f"{user.name} is {'marked away: their backups get their new touches' if away else 'back'}"
        message += back_words(returned)
        flash(request, message)
        return redirect(request, f"/region?region={code}#region-spocs")

    async def _region(self, db: Db, principal: Principal, code: str) -> Region:
        region = await region_by_code(db, code)
        policy.require_lead(principal, region)
        return region

    @post("/{code:str}/policy")
    async def set_policy(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                         code: FromPath[str]) -> Template | Redirect:
        region = await self._region(db, principal, code)
        code = region.code  # the rollback below expires `region`
        form = await form_data(request)
        try:
            numbers, problems = {}, []
            for name in policy.POLICY_FIELDS:  # every field's problem at once
                try:
                    numbers[name] = _whole_number(form, name)
                except FieldError as exc:
                    problems += exc.fields
            # The numbers that did parse are checked for range too: "abc / 0 / -5" names all three.
            problems += policy.range_problems(numbers)
            if problems:
                raise FieldError(*problems[0], *problems[1:])
            saved = await policy.set_policy(db, principal, region, PolicyIn(**numbers))
        except FieldError as exc:
            await db.rollback()
            return await self._page(request, db, principal, code, policy_errors=dict(exc.fields), values=form,
                                    status_code=422, partial="region/_policy.html")
        held = held_words(saved.held)
        return await self._saved(request, db, principal, code, "region/_policy.html",
                                 f"Pacing policy of {code} saved{held}", saved=True,
                                 said=held.removeprefix("; ").capitalize() + "." if held else "")

    @post("/{code:str}/establishments")
    async def set_establishments(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                                 code: FromPath[str]) -> Template | Redirect:
        region = await self._region(db, principal, code)
        code = region.code  # the rollback below expires `region`
        form = await form_data(request)
        raw = form.get("establishment_count", "").replace(",", "").strip()
        try:
            count = _whole_number({"establishment_count": raw}, "establishment_count") if raw else None
            await set_establishment_count(db, principal, region, count)
        except FieldError as exc:
            await db.rollback()
            return await self._page(request, db, principal, code, establishment_errors=dict(exc.fields),
                                    values=form, status_code=422, partial="region/_establishments.html")
        return await self._saved(request, db, principal, code, "region/_establishments.html",
                                 f"Establishment count of {code} saved", establishments_saved=True)

    async def _saved(self, request: Request[Any, Any, Any], db: Db, principal: Principal, code: str, partial: str,
                     message: str, *, saved: bool = False, establishments_saved: bool = False,
                     said: str = "") -> Template | Redirect:
        """After a save: htmx gets the form's card back with its confirmation (and ``said``: what else the
        save did), a plain post a redirect and the whole ``message``."""
        if request.headers.get("hx-request"):
            return await self._page(request, db, principal, code, partial=partial, saved=saved,
                                    establishments_saved=establishments_saved, said=said)
        flash(request, message)
        return redirect(request, f"/region?region={code}")

    @post("/{code:str}/rules")
    async def add_rule(self, request: Request[Any, Any, Any], db: Db, principal: Me,
                       code: FromPath[str]) -> Template | Redirect:
        region = await self._region(db, principal, code)
        code = region.code  # the rollback below expires `region`
        form, ticked = await _rule_form(request)
        try:
            wrong: list[tuple[str, str]] = []  # every mistake of the form at once
            pool, priority = _pool_and_priority(form, ticked, wrong, blank_priority=100)
            prefix = form.get("naics_prefix", "").strip()
            if prefix and (problem := naics_prefix_problem(prefix)):
                wrong.append(("naics_prefix", problem))
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            data = RoutingRuleIn(pool=pool, naics_prefix=prefix or None,
                                 county=form.get("county") or None, priority=priority)
            await policy.add_rule(db, principal, region, data)
            routed = await policy.route_waiting_touches(db, principal, region)
        except (FieldError, Conflict) as exc:  # said in the form, not above the page
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": str(exc.detail)}
            return await self._page(request, db, principal, code, rule_errors=errors, values={**form, "pool": ticked},
                                    status_code=exc.status_code, partial="region/_rules.html")
        return await self._after_rule(request, db, principal, region, _routed("Routing rule added", routed))

    @post("/{code:str}/rules/{rule_id:int}")
    async def edit_rule(self, request: Request[Any, Any, Any], db: Db, principal: Me, code: FromPath[str],
                        rule_id: PathId) -> Template | Redirect:
        """A rule's Edit form: its SPOC pool and priority."""
        region = await self._region(db, principal, code)
        code = region.code  # the rollback below expires `region`
        form, ticked = await _rule_form(request)
        try:
            wrong: list[tuple[str, str]] = []  # every mistake of the form at once
            pool, priority = _pool_and_priority(form, ticked, wrong)
            if wrong:
                raise FieldError(*wrong[0], *wrong[1:])
            rule = await policy.update_rule(db, principal, region, rule_id, RoutingRuleEdit(
                pool=pool, priority=priority, seen=form.get("seen") or None))
            routed = await policy.route_waiting_touches(db, principal, region, policy.CHANGED_RULE)
        except (FieldError, Conflict) as exc:  # said in the rule's form, which stays open
            await db.rollback()
            errors = dict(exc.fields) if isinstance(exc, FieldError) else {"form": str(exc.detail)}
            # A stale form comes back with the rule as saved now (and its new ``seen``), not what was typed.
            values = {} if isinstance(exc, seen.Changed) else {**form, "pool": ticked}
            return await self._page(request, db, principal, code, edit_errors={rule_id: errors},
                                    edit_values={rule_id: values}, status_code=exc.status_code,
                                    partial="region/_rules.html")
        except NotFoundException:
            return await self._after_rule(request, db, principal, region,
                                          f"Routing rule #{rule_id} was removed meanwhile: nothing was saved")
        return await self._after_rule(request, db, principal, region, _routed(f"Routing rule #{rule.id} saved", routed))

    @post("/{code:str}/rules/{rule_id:int}/remove")
    async def remove_rule(self, request: Request[Any, Any, Any], db: Db, principal: Me, code: FromPath[str],
                          rule_id: PathId) -> Template | Redirect:
        region = await self._region(db, principal, code)
        message = f"Routing rule #{rule_id} removed"
        try:
            await policy.remove_rule(db, principal, region, rule_id)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            message = f"Routing rule #{rule_id} was already gone"  # removed meanwhile, e.g. in another tab
        return await self._after_rule(request, db, principal, region, message)

    async def _after_rule(self, request: Request[Any, Any, Any], db: Db, principal: Principal, region: Region,
                          message: str) -> Template | Redirect:
        if request.headers.get("hx-request"):
            return await self._page(request, db, principal, region.code, partial="region/_rules.html", said=message)
        flash(request, message)
        return redirect(request, f"/region?region={region.code}")
