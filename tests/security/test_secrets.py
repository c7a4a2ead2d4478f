"""No secrets in the repository: every tracked text file (``git ls-files``) is scanned for
private keys, AWS keys, passwords in URLs and high-entropy values assigned to names that say
SECRET / PASSWORD / TOKEN / API_KEY. ``.env.example`` holds placeholders only (``change-me-*``)
and is checked for that. Patterns are assembled from pieces so this file does not match itself.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRIVATE_KEY = re.compile("-----BEGIN ([A-Z]+ )*" + "PRIVATE KEY-----")
AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)" + r"[0-9A-Z]{16}\b")
AWS_SECRET = re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?([A-Za-z0-9/+=]{40})\b", re.I)
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/\s:@'\"]*):([^/\s@'\"]+)@", re.I)
NAMED = re.compile(
    r"\b([A-Za-z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY)[A-Za-z0-9_]*)"
    r"""\s*[:=]\s*['"]?([^'"\s,;)]+)""",
    re.I,
)
PLACEHOLDER = re.compile(r"^(\$\{?|\{\{|<|%\(|change-me|\*+$|x+$|none$|null$|true$|false$)", re.I)

#: (path, matched text) -> why it is not a secret.
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/acquire/test_warc.py", "u:p"): "test input: URLs with credentials are refused",
}


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in counts.values())


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = []
    for name in out.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        head = path.read_bytes()[:8192]
        if b"\0" in head or head[:2] == b"\x1f\x8b":
            continue  # binary (Parquet, gzip, images)
        files.append(path)
    return files


def findings(path: Path, text: str) -> list[str]:
    rel = path.relative_to(ROOT).as_posix() if path.is_absolute() else str(path)
    out = []
    for m in PRIVATE_KEY.finditer(text):
        out.append(f"{rel}: private key {m.group(0)}")
    for m in AWS_KEY_ID.finditer(text):
        out.append(f"{rel}: AWS access key id {m.group(0)[:8]}...")
    for m in AWS_SECRET.finditer(text):
        if _entropy(m.group(1)) > 3.5:
            out.append(f"{rel}: AWS secret key")
    for m in URL_PASSWORD.finditer(text):
        secret = m.group(2)
        if PLACEHOLDER.match(secret) or (rel, f"{m.group(1)}:{secret}") in ALLOWED:
            continue
        out.append(f"{rel}: password in URL ({m.group(1)}:***@)")
    for m in NAMED.finditer(text):
        value = m.group(3)
        if PLACEHOLDER.match(value) or len(value) < 16 or not re.fullmatch(r"[\w\-+/=.]+", value):
            continue
        if _entropy(value) >= 3.5 and re.search(r"\d", value) and re.search(r"[A-Za-z]", value):
            out.append(f"{rel}: {m.group(1)} = high-entropy value")
    return out


def test_no_secrets_in_tracked_files() -> None:
    problems = []
    for path in _tracked_text_files():
        problems += findings(path, path.read_text(encoding="utf-8", errors="replace"))
    assert not problems, "\n".join(problems)


def test_env_example_holds_placeholders_only() -> None:
    env = ROOT / ".env.example"
    if not env.exists():
        pytest.skip("no .env.example")
    for line in env.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and NAMED.search(line):
            assert value.strip().startswith("change-me") or not value.strip(), key


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE...",
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
        "key = AKIA" + "Q3EGRIOSFODNN7EX",
        "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "url = 'postgresql://kznews:" + "S3cr3tPassw0rd@db:5432/x'",
        "API_TOKEN = " + "'ghp_9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e'",
        "KZNEWS_DB_PASSWORD: Xk29vLq8" + "Zr7TwP3mN4s",
    ],
)
def test_the_scanner_catches(text: str) -> None:
    assert findings(Path("x.py"), text)


@pytest.mark.parametrize(
    "text",
    [
        "POSTGRES_PASSWORD=change-me-postgres",
        "conn: postgresql://airflow:${POSTGRES_PASSWORD:?set}@postgres/airflow",
        "token = uuid.uuid4().hex",
        "self._token: str | None = None",
        "password_file = self.home / 'passwords.json'",
    ],
)
def test_the_scanner_lets_placeholders_pass(text: str) -> None:
    assert not findings(Path("x.py"), text)
