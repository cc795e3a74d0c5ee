"""Alembic revisions (a package so setuptools ships them as modules, not as stray data files)."""
