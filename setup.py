"""The one thing pyproject.toml cannot say: `schema/` (top level in the repository, where the SQL is
reviewed and numbered) ships inside the wheel as `ingester/schema/`, where `ingester migrate` reads it
when installed. An editable install reads `schema/` beside the package instead (ingester/migrate.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithSchema(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "ingester" / "schema"
        shutil.copytree(HERE / "schema", target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithSchema})
