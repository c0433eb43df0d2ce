"""Department API tokens: shown once when created, kept only as a hash, revocable.

A token reads `hubt_<id>_<secret>`; `data/api_tokens.json` (git-ignored, 0600) holds the id,
department, name, the SHA-256 of the secret (random 256 bits: a plain hash is enough) and
whether it was revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from hub.atomic import write_json

PREFIX = "hubt"


@dataclass
class Token:
    id: str
    department: str
    name: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None = None


def load_tokens(path: Path) -> dict[str, Token]:
    if not path.exists():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {t["id"]: Token(**t) for t in doc.get("tokens", [])}


def _save(path: Path, tokens: dict[str, Token]) -> None:
    write_json(path, {"tokens": [asdict(t) for t in tokens.values()]})


def create_token(path: Path, department: str, name: str) -> tuple[Token, str]:
    """A new token; the returned text is the only time the secret exists in the clear."""
    tokens = load_tokens(path)
    tid, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    now = datetime.now().isoformat(timespec="seconds")
    token = Token(tid, department, name, _digest(secret), now)
    tokens[tid] = token
    _save(path, tokens)
    return token, f"{PREFIX}_{tid}_{secret}"


def revoke_token(path: Path, tid: str) -> Token:
    tokens = load_tokens(path)
    if tid not in tokens:
        raise KeyError(f"没有编号为 {tid} 的令牌")
    tokens[tid].revoked_at = tokens[tid].revoked_at or datetime.now().isoformat(timespec="seconds")
    _save(path, tokens)
    return tokens[tid]


def check_token(path: Path, text: str) -> tuple[Token | None, str]:
    """(the token, "") if valid, else (None, why) — why in Chinese."""
    parts = text.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None, "令牌格式不正确"
    token = load_tokens(path).get(parts[1])
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(parts[2])):
        return None, "令牌无效"
    if token.revoked_at:
        return None, f"令牌已于 {token.revoked_at} 吊销"
    return token, ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
