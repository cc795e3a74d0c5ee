"""Typeahead / intake-resolution latency at California scale (see bench/README.md, "typeahead")."""
