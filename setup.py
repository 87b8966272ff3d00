"""Only here to ship the top-level models.toml in the wheel, as localthink/models/models.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRegistry(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "localthink" / "models" / "models.toml"
        self.copy_file("models.toml", str(target))


setup(cmdclass={"build_py": BuildWithRegistry})
