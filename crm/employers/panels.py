"""Sections other domains add to the employer page (timeline, councils, duplicates, ...).

A domain registers an async loader with ``@employer_panel(order)``; the loader gets the
database session, the viewer and the employer and returns the context for its partial
(``{"template": "touches/_timeline.html", ...}``) or None to show nothing. The employer page
renders the panels in order, so a domain adds to it without editing the employers package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.principal import Principal
from crm.employers.models import Employer

PanelLoader = Callable[[AsyncSession, Principal, Employer], Awaitable[dict[str, Any] | None]]

_PANELS: list[tuple[int, str, PanelLoader]] = []


def employer_panel(order: int) -> Callable[[PanelLoader], PanelLoader]:
    """Register a panel loader; lower ``order`` renders first. Re-registering a name replaces it."""

    def register(loader: PanelLoader) -> PanelLoader:
        name = f"{loader.__module__}.{loader.__qualname__}"
        _PANELS[:] = [p for p in _PANELS if p[1] != name]
        _PANELS.append((order, name, loader))
        _PANELS.sort(key=lambda p: (p[0], p[1]))
        return loader

    return register


async def load_panels(db: AsyncSession, principal: Principal, employer: Employer) -> list[dict[str, Any]]:
    panels = []
    for _, _, loader in _PANELS:
        context = await loader(db, principal, employer)
        if context is not None:
            panels.append(context)
    return panels
