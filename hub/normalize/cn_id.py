"""GB 11643 citizen ID arithmetic in Python, for the generator and tests.

The pipeline itself checks IDs in SQL (`hub/normalize/macros.py`); both follow the same rules.
"""

from __future__ import annotations

from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits.

    Example:
        >>> check_char("11010519491231002")
        'X'
    """
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def make_id(area: str, birth: date, seq: int) -> str:
    """An 18-character ID; `seq` odd for men, even for women (GB 11643)."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def to15(id18: str) -> str:
    """The legacy 15-digit form (two-digit year, no check character)."""
    return id18[:6] + id18[8:17]


def is_valid(id18: str) -> bool:
    if len(id18) != 18 or not id18[:17].isdigit():
        return False
    return check_char(id18[:17]) == id18[17].upper()
