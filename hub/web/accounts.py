"""Staff accounts: a user name, the community they serve and a scrypt password hash.

Kept in `data/users.json` (git-ignored, mode 0600), never in the repository. Passwords are
never stored or logged; a wrong user name costs the same hash as a wrong password, so the
timing does not tell which one was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from hub.atomic import write_json

_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms per check on a small server


@dataclass(frozen=True)
class Staff:
    username: str
    community: str  # org-unit code of the community they serve
    display_name: str
    password_hash: str


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    enc = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


_DUMMY = hash_password("not a password", b"0" * 16)


def load_staff(path: Path) -> dict[str, Staff]:
    if not path.exists():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {u["username"]: Staff(**u) for u in doc.get("staff", [])}


def save_staff(path: Path, staff: dict[str, Staff]) -> None:
    """Written to a temp file and renamed: a crash leaves the old file, never half of one."""
    write_json(
        path, {"staff": [asdict(s) for s in sorted(staff.values(), key=lambda s: s.username)]}
    )


def add_staff(path: Path, username: str, community: str, password: str, display: str) -> Staff:
    staff = load_staff(path)
    user = Staff(username, community, display or username, hash_password(password))
    staff[username] = user
    save_staff(path, staff)
    return user


def authenticate(path: Path, username: str, password: str) -> Staff | None:
    user = load_staff(path).get(username)
    ok = verify_password(password, user.password_hash if user else _DUMMY)
    return user if user and ok else None
