"""Where templates, static files and seeds are, whether run from a checkout or installed."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """``templates``, ``static`` or ``seeds``: inside the installed package, else the checkout root."""
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
