"""Building blocks of the California-scale benchmark data set (``python -m bench.generate``).

``world`` plans every row (pure, seeded, no I/O); ``store`` writes rows in bulk to SQLite or
PostgreSQL.
"""
