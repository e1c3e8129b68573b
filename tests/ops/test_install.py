"""gntbot as a user installs it: a wheel built from this checkout, in a fresh venv elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot import __version__
from bot.config import PROJECT_ROOT

pytestmark = pytest.mark.install


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, check=False, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, and the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, PROJECT_ROOT, cwd=out)
    return out


def test_the_sdist_and_wheel_pass_twine_check(dist):
    checked = run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()), cwd=dist)
    assert checked.stdout.count("PASSED") == 2
    with zipfile.ZipFile(dist / f"gntbot-{__version__}-py3-none-any.whl") as wheel:
        names = wheel.namelist()
    shipped = sorted(p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "runbooks").rglob("*.md"))
    assert shipped and all(f"bot/{name}" in names for name in shipped)
    assert not [name for name in names if name.startswith(("tests/", "bench/", "index/"))]


def test_the_installed_wheel_answers_from_anywhere_and_keeps_its_index_in_the_state_directory(dist, tmp_path):
    venv, home, elsewhere = tmp_path / "venv", tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    # The test venv's pip installs into the new one (saves bootstrapping a pip there).
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q",
        dist / f"gntbot-{__version__}-py3-none-any.whl", cwd=tmp_path, timeout=600)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    gntbot = venv / "bin" / "gntbot"

    assert run(gntbot, "--version", cwd=elsewhere, env=env).stdout.strip() == f"gntbot {__version__}"
    asked = run(gntbot, "ask", "how do I rebalance the cluster", cwd=elsewhere, env=env)
    assert asked.stdout.startswith("How-to › Rebalancing a cluster — ganeti/cluster-operations.md")
    assert "hbal -L -C -v -p" in asked.stdout

    assert (home / ".local" / "state" / "gntbot" / "index").is_dir()
    assert list(elsewhere.iterdir()) == []
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not [p for p in site.rglob("*") if p.name == "gntbot-manifest.json" or p.suffix == ".seg"]
    assert (site / "bot" / "runbooks" / "ganeti").is_dir()
    assert os.access(gntbot, os.X_OK)
