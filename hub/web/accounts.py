"""Accounts: a user name, a role, the community or department they serve and an argon2id
password hash. Community staff fill the one form; department users propose reports and answer
corrections; the district's 减负办 decides proposals.

Kept in `data/users.json` (git-ignored, mode 0600), never in the repository. Passwords are
never stored or logged; a wrong user name costs the same hash as a wrong password, so the
timing does not tell which one was wrong. Hashes from before argon2 (scrypt) still verify and
are replaced by an argon2id hash at that login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.atomic import write_json

# RFC 9106's second recommendation (64 MiB, 3 passes), two lanes for a two-core server
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


ROLES = {"community": "社区工作人员", "department": "部门用户", "admin": "减负办"}
HOME = {"community": "/", "department": "/dept", "admin": "/admin"}


@dataclass(frozen=True)
class Staff:
    username: str
    community: str  # org-unit code of the community they serve ("" for other roles)
    display_name: str
    password_hash: str
    role: str = "community"
    department: str = ""  # a department user's department (its registry name)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, bool]:
    """(the password matches, the hash should be replaced by a current one)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored), True
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@lru_cache(maxsize=1)
def _dummy() -> str:
    return hash_password("not a password")


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


def add_staff(
    path: Path,
    username: str,
    community: str,
    password: str,
    display: str,
    role: str = "community",
    department: str = "",
) -> Staff:
    if role not in ROLES:
        raise ValueError(f"未知的角色 {role!r}（可选：{'、'.join(ROLES)}）")
    staff = load_staff(path)
    user = Staff(
        username, community, display or username, hash_password(password), role, department
    )
    staff[username] = user
    save_staff(path, staff)
    return user


def authenticate(path: Path, username: str, password: str) -> Staff | None:
    user = load_staff(path).get(username)
    ok, stale = verify_password(password, user.password_hash if user else _dummy())
    if not (user and ok):
        return None
    if stale:  # an old scheme or weaker parameters: replaced while the password is at hand
        staff = load_staff(path)
        staff[user.username] = replace(user, password_hash=hash_password(password))
        save_staff(path, staff)
    return user
