"""Ships the top-level templates/, static/ and seeds/ inside the installed package (as
crm/templates, crm/static, crm/seeds) so a non-editable install finds them; see crm/paths.py."""

from setuptools import find_packages, setup

ASSETS = {"crm.templates": "templates", "crm.static": "static", "crm.seeds": "seeds"}

setup(
    packages=find_packages(include=["crm", "crm.*"]) + list(ASSETS),
    package_dir=ASSETS,
    package_data={
        "crm.templates": ["*.html", "**/*.html"],
        "crm.static": ["*.css", "**/*.js", "**/*.css", "**/*.svg", "**/*.txt"],
        "crm.seeds": ["*.csv", "*.md"],
        "crm": ["migrations/*.mako"],
    },
)
