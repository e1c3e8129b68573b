"""``[clusters.NAME]``: what an operator writes, and the errors a mistake gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.configreader import ConfigError

PIN = "sha256:" + ":".join(["AB"] * 32)


def config_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "read.secret").write_text("s3cret\n")
    path = tmp_path / "gntbot.toml"
    path.write_text(body)
    return path


def load(tmp_path: Path, body: str):
    return load_config(config_file(tmp_path, body))


def test_two_clusters_are_read_in_file_order_with_their_own_trust(tmp_path, tls):
    config = load(tmp_path, f"""
[clusters.gnt-fsn]
url = "https://fsn.example.org:5080/"
read_user = "gntbot"
read_password_file = "read.secret"
fingerprint = "{PIN}"

[clusters.gnt-chi]
url = "https://chi.example.org:5080"
read_user = "gntbot"
read_password_file = "read.secret"
ca_file = "{tls.ca_file}"
timeout = 4
retries = 0
cache_seconds = 0
""")
    fsn, chi = config.clusters
    assert (fsn.name, fsn.url) == ("gnt-fsn", "https://fsn.example.org:5080")
    assert (fsn.fingerprint, fsn.ca_file) == ("ab" * 32, None)
    assert fsn.read.user == "gntbot" and fsn.read.password == "s3cret"
    assert (chi.name, chi.ca_file, chi.fingerprint) == ("gnt-chi", tls.ca_file, None)
    assert (chi.timeout, chi.retries, chi.cache_seconds) == (4, 0, 0)


def test_no_clusters_section_means_no_clusters(tmp_path):
    assert load(tmp_path, "[bot]\nname = 'x'\n").clusters == ()


def test_the_password_comes_from_the_environment_and_never_shows_in_a_repr(tmp_path, monkeypatch):
    monkeypatch.setenv("GNT_READ", "from-env")
    config = load(tmp_path, f"""
[clusters.lab]
url = "https://127.0.0.1:5080"
read_user = "reader"
read_password_env = "GNT_READ"
write_user = "operator"
write_password_file = "read.secret"
fingerprint = "{PIN}"
""")
    cluster = config.clusters[0]
    assert cluster.read.password == "from-env" and cluster.write.user == "operator"
    assert "from-env" not in repr(config) and "s3cret" not in repr(config)


@pytest.mark.parametrize(("body", "complaint"), [
    ('url = "http://fsn.example.org:5080"', "clusters.gnt-fsn.url: must start with https://"),
    ('url = "https://gntbot:pw@fsn.example.org:5080"', "clusters.gnt-fsn.url: must not contain credentials"),
    ('url = "https://:5080"', "clusters.gnt-fsn.url: 'https://:5080' names no host"),
    ('url = "https://fsn.example.org:5080/2/info"', "must be just https://HOST[:PORT]"),
    ('url = "https://fsn.example.org:99999"', "bad port"),
])
def test_a_url_must_be_plain_https_to_a_host(tmp_path, body, complaint):
    with pytest.raises(ConfigError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        load(tmp_path, f"""
[clusters.gnt-fsn]
{body}
read_user = "gntbot"
read_password_file = "read.secret"
fingerprint = "{PIN}"
""")


def test_trust_must_be_configured_exactly_once(tmp_path, tls):
    base = ('[clusters.gnt-fsn]\nurl = "https://fsn.example.org:5080"\n'
            'read_user = "g"\nread_password_file = "read.secret"\n')
    with pytest.raises(ConfigError, match="gnt-fsn.fingerprint: set exactly one of fingerprint and ca_file"):
        load(tmp_path, base)
    with pytest.raises(ConfigError, match="set exactly one"):
        load(tmp_path, base + f'fingerprint = "{PIN}"\nca_file = "{tls.ca_file}"\n')
    with pytest.raises(ConfigError, match='expected "sha256:" and 32 hex bytes'):
        load(tmp_path, base + 'fingerprint = "sha1:AB:CD"\n')
    with pytest.raises(ConfigError, match="ca_file: .*missing.pem is not a readable file"):
        load(tmp_path, base + 'ca_file = "missing.pem"\n')


def test_secrets_in_the_toml_and_half_configured_users_are_refused(tmp_path):
    base = f'[clusters.gnt-fsn]\nurl = "https://fsn.example.org:5080"\nfingerprint = "{PIN}"\n'
    with pytest.raises(ConfigError, match="read_password: secrets are not read from the configuration"):
        load(tmp_path, base + 'read_user = "g"\nread_password = "oops"\n')
    with pytest.raises(ConfigError, match="read_user: missing"):
        load(tmp_path, base + 'read_password_file = "read.secret"\n')
    with pytest.raises(ConfigError, match="write_password: missing: set write_password_file or write_password_env"):
        load(tmp_path, base + 'read_user = "g"\nread_password_file = "read.secret"\nwrite_user = "op"\n')
    with pytest.raises(ConfigError, match="write_user: write_password is set but write_user is missing"):
        load(tmp_path, base + 'read_user = "g"\nread_password_file = "read.secret"\n'
                              'write_password_file = "read.secret"\n')


def test_unknown_keys_and_unusable_names_are_errors(tmp_path):
    body = (f'url = "https://f.example.org:5080"\nread_user = "g"\n'
            f'read_password_file = "read.secret"\nfingerprint = "{PIN}"\n')
    with pytest.raises(ConfigError, match="clusters.gnt-fsn.timout: unknown key"):
        load(tmp_path, f"[clusters.gnt-fsn]\n{body}timout = 3\n")
    with pytest.raises(ConfigError, match="clusters.gnt fsn: not a usable cluster name"):
        load(tmp_path, f'[clusters."gnt fsn"]\n{body}')
    with pytest.raises(ConfigError, match="read_user: must be non-empty ASCII"):
        load(tmp_path, "[clusters.gnt-fsn]\n" + body.replace('read_user = "g"', 'read_user = "gé"'))
