"""The one thing pyproject.toml cannot say: ship the runbooks inside the package.

The runbooks stay at the top of the repository (runbooks/, the wiki people edit
and the tests read); a built wheel carries a copy as bot/runbooks, so that an
installed gntbot answers from any directory. bot.config.shipped_runbooks()
finds whichever of the two is there.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRunbooks(build_py):
    """build_py, plus runbooks/ copied into the built package as bot/runbooks."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads runbooks/ where it is
            shutil.copytree("runbooks", Path(self.build_lib, "bot", "runbooks"), dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithRunbooks})
