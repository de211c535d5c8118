"""Packaging beyond pyproject.toml: recipes/, data/ and evals/ stay at the top of the repository and ship
inside the wheel as `workshop/_shipped/<folder>`, where `workshop.core.paths` finds them with importlib.resources."""

from setuptools import find_packages, setup

SHIPPED = ("recipes", "data", "evals")

setup(
    packages=find_packages(include=["workshop", "workshop.*"]) + [f"workshop._shipped.{f}" for f in SHIPPED],
    package_dir={f"workshop._shipped.{f}": f for f in SHIPPED},
    package_data={"workshop": ["report/templates/*"], **{f"workshop._shipped.{f}": ["**/*"] for f in SHIPPED}},
    exclude_package_data={f"workshop._shipped.{f}": ["**/__pycache__/*", "**/*.pyc"] for f in SHIPPED},
)
