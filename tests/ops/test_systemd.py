"""contrib/systemd/gntbot.service: valid for systemd, hardened, and (where systemd runs) serving."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, SHIPPED_RUNBOOKS

from .scrape import free_port, scrape, value

pytestmark = pytest.mark.systemd

UNIT = PROJECT_ROOT / "contrib" / "systemd" / "gntbot.service"
GNTBOT = Path(sys.executable).parent / "gntbot"  # the gntbot of this environment (scripts/install made it)
EXPOSURE_AT_MOST = 1.5  # systemd-analyze security: 1.1 when written ("OK"); 10 is an unconfined service


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    if not GNTBOT.exists():
        pytest.skip(f"{GNTBOT} is not there: run scripts/install first")
    return tool


def local_unit(folder: Path, name: str = "gntbot.service", **replace: str) -> Path:
    """The shipped unit, with ExecStart on this environment's gntbot instead of /opt/gntbot."""
    text = UNIT.read_text().replace("/opt/gntbot/bin/gntbot", str(GNTBOT))
    for old, new in replace.items():
        text = text.replace(old, new)
    unit = folder / name
    unit.write_text(text)
    return unit


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    verified = subprocess.run([analyze(), "verify", local_unit(tmp_path)], check=False, capture_output=True, text=True,
                              timeout=60)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout + verified.stderr == ""  # no unknown key, no missing program


def test_the_unit_is_hardened(tmp_path):
    checked = subprocess.run([analyze(), "security", "--offline=true", local_unit(tmp_path)],
                             check=False, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    exposure = float(re.search(r"Overall exposure level for gntbot.service: ([0-9.]+)", checked.stdout)[1])
    assert exposure <= EXPOSURE_AT_MOST, checked.stdout


@pytest.fixture
def systemd() -> Iterator[None]:
    if not Path("/run/systemd/system").is_dir():
        pytest.skip("systemd is not the init system here (no /run/systemd/system): cannot start the unit")
    if os.geteuid() != 0:
        pytest.skip("starting a system unit needs root")
    yield


def test_systemd_starts_reloads_and_stops_the_bot(systemd, tmp_path):
    """The real unit under the real systemd, with a network that refuses (the bot keeps trying)."""
    name = f"gntbot-test-{os.getpid()}"
    port = free_port()
    share = Path("/run") / name  # readable by the dynamic user, unlike /tmp (PrivateTmp) and /root
    share.mkdir(mode=0o755)
    config = share / "config.toml"
    config.write_text(f'[knowledge]\nrunbooks = "{SHIPPED_RUNBOOKS}"\n[metrics]\nlisten = "127.0.0.1:{port}"\n'
                      f'[irc.nowhere]\nserver = "127.0.0.1"\nport = {free_port()}\ntls = false\nlogin = "none"\n')
    config.chmod(0o644)
    unit = local_unit(Path("/run/systemd/system"), f"{name}.service", **{
        "GNTBOT_CONFIG=/etc/gntbot/config.toml": f"GNTBOT_CONFIG={config}",
        "StateDirectory=gntbot": f"StateDirectory={name}",
        # This test's Python may live under /root (pyenv); a real install is in /opt.
        "ProtectHome=yes": "ProtectHome=read-only",
    })
    systemctl = ["systemctl"]
    try:
        subprocess.run([*systemctl, "daemon-reload"], check=True, timeout=60)
        subprocess.run([*systemctl, "start", name], check=True, timeout=60)
        families = _scrape_when_up(f"http://127.0.0.1:{port}")
        assert value(families, "gntbot_chat_connected", network="irc.nowhere") == 0
        user = subprocess.run([*systemctl, "show", "-p", "User", "--value", name], capture_output=True,
                              text=True, check=True).stdout.strip()
        assert user and user != "root"
        subprocess.run([*systemctl, "reload", name], check=True, timeout=60)
        time.sleep(2)
        assert value(_scrape_when_up(f"http://127.0.0.1:{port}"), "gntbot_config_reloads_total",
                     result="applied") == 1
        subprocess.run([*systemctl, "stop", name], check=True, timeout=60)
        assert subprocess.run([*systemctl, "is-active", name], check=False, capture_output=True, text=True).stdout.strip() \
            in ("inactive", "failed")
    finally:
        subprocess.run([*systemctl, "stop", name], timeout=60, check=False)
        unit.unlink(missing_ok=True)
        subprocess.run([*systemctl, "daemon-reload"], timeout=60, check=False)
        shutil.rmtree(share, ignore_errors=True)


def _scrape_when_up(url: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return scrape(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
