"""DuckDB macros that turn department spellings into canonical forms, set-at-a-time.

Each macro takes raw text and returns the canonical value or NULL; `*_problem` macros name
the rule a value breaks. The Python twins in `hub/normalize/cn_id.py` and
`hub/registry/models.py` follow the same rules.
"""

from __future__ import annotations

import duckdb

_FW = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_HW = ("".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " ").replace("'", "''")
_WS = r"[\s\x{00A0}\x{200B}\x{FEFF}]"
# a value with neither whitespace nor a full-width character is already clean: one scan for
# both lets the common value skip the translate and replace (half the cost of a column)
_PLAIN = r"NOT regexp_matches(s, '[\s\x{00A0}\x{200B}\x{FEFF}\x{FF01}-\x{FF5E}\x{3000}]')"

MACROS = [
    # full-width letters, digits and punctuation -> half-width; translate() rebuilds its map
    # per call, so it runs only on the few values that hold a full-width character
    r"hub_hw(s) AS CASE WHEN regexp_matches(s, '[\x{FF01}-\x{FF5E}\x{3000}]') "
    f"THEN translate(s, '{_FW}', '{_HW}') ELSE s END",
    f"hub_clean(s) AS CASE WHEN {_PLAIN} THEN nullif(s, '') "
    f"ELSE nullif(trim(regexp_replace(hub_hw(s), '{_WS}+', ' ', 'g')), '') END",
    f"hub_nospace(s) AS CASE WHEN {_PLAIN} THEN nullif(s, '') "
    f"ELSE nullif(regexp_replace(hub_hw(s), '{_WS}+', '', 'g'), '') END",
    "hub_code_key(s) AS upper(hub_nospace(s))",
    # GB 11643: MOD 11-2 check character of the first 17 digits
    # a flat sum: list lambdas here cost ~20x more per row
    "hub_id_check(b) AS substr('10X98765432', 1 + (((ord(substr(b, 1, 1)) - 48) * 7 + (ord(substr(b, 2, 1)) - 48) * 9 + (ord(substr(b, 3, 1)) - 48) * 10 + (ord(substr(b, 4, 1)) - 48) * 5 + (ord(substr(b, 5, 1)) - 48) * 8 + (ord(substr(b, 6, 1)) - 48) * 4 + (ord(substr(b, 7, 1)) - 48) * 2 + (ord(substr(b, 8, 1)) - 48) * 1 + (ord(substr(b, 9, 1)) - 48) * 6 + (ord(substr(b, 10, 1)) - 48) * 3 + (ord(substr(b, 11, 1)) - 48) * 7 + (ord(substr(b, 12, 1)) - 48) * 9 + (ord(substr(b, 13, 1)) - 48) * 10 + (ord(substr(b, 14, 1)) - 48) * 5 + (ord(substr(b, 15, 1)) - 48) * 8 + (ord(substr(b, 16, 1)) - 48) * 4 + (ord(substr(b, 17, 1)) - 48) * 2) % 11)::INTEGER, 1)",
    # legacy 15-digit IDs belong to people born 1900-1999
    "hub_id18_of(x) AS CASE WHEN regexp_full_match(x, '[0-9]{15}') "
    "THEN substr(x, 1, 6) || '19' || substr(x, 7) || hub_id_check(substr(x, 1, 6) || '19' || substr(x, 7)) "
    "ELSE x END",
    "hub_id18(s) AS hub_id18_of(upper(hub_nospace(s)))",
    "hub_id_problem(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN NOT regexp_full_match(x, '[0-9]{17}[0-9X]') THEN 'cn_id_format' "
    # no date, or one to come: one parse (a macro's repeated call is evaluated twice)
    "WHEN coalesce(try_strptime(substr(x, 7, 8), '%Y%m%d') > current_date, true) "
    "THEN 'cn_id_birthdate' "
    "WHEN hub_id_check(x) <> substr(x, 18, 1) THEN 'cn_id_checksum' END",
    "hub_id_birth(x) AS try_strptime(substr(x, 7, 8), '%Y%m%d')::DATE",
    # NULL for no ID (not '2'): a GX twin compares it where the SQL check is guarded
    "hub_id_gender(x) AS CASE CAST(substr(x, 17, 1) AS INTEGER) % 2 WHEN 1 THEN '1' WHEN 0 THEN '2' END",
    # dates: 2023-05-01, 2023/5/1, 2023.5.1, 2023年5月1日, 20230501, 2023.05 (month), Excel serials
    r"hub_date_text(s) AS hub_nospace(regexp_replace(hub_clean(s), '\s+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$', ''))",
    "hub_date_of(x) AS CASE "
    # Excel serials: 3-5 digits (a 4-digit serial is a date before 1927, not a year)
    r"WHEN regexp_full_match(x, '[0-9]{3,5}(\.0+)?') THEN DATE '1899-12-30' + CAST(split_part(x, '.', 1) AS INTEGER) "
    "WHEN regexp_full_match(x, '[0-9]{8}') THEN try_strptime(x, '%Y%m%d')::DATE "
    "ELSE hub_date_parts(regexp_replace(regexp_replace(x, '[日号]$', ''), '[年月./]', '-', 'g')) END",
    "hub_date_parts(y) AS CASE "
    "WHEN regexp_full_match(y, '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}') THEN try_strptime(y, '%Y-%m-%d')::DATE "
    "WHEN regexp_full_match(y, '[0-9]{4}-[0-9]{1,2}-?') THEN try_strptime(rtrim(y, '-') || '-1', '%Y-%m-%d')::DATE "
    # 1973年: a year alone (only with 年: four bare digits are an Excel serial)
    "WHEN regexp_full_match(y, '[0-9]{4}-') THEN try_strptime(y || '1-1', '%Y-%m-%d')::DATE "
    "END",
    # how precisely a date was written (hub_date_text output): a year or month only is dated
    # at its first day, and compared with other dates only to that precision
    "hub_date_precision(x) AS CASE WHEN regexp_full_match(x, '[0-9]{4}年') THEN 'year' "
    r"WHEN regexp_full_match(x, '[0-9]{4}[年./-][0-9]{1,2}月?') THEN 'month' ELSE 'day' END",
    "hub_as_precise(x, d) AS CASE hub_date_precision(x) WHEN 'year' THEN date_trunc('year', d)::DATE "
    "WHEN 'month' THEN date_trunc('month', d)::DATE ELSE d END",
    "hub_date(s) AS hub_date_of(hub_date_text(s))",
    # phones: mainland mobiles, landlines with area code as 0571-87654321
    r"hub_phone_digits(s) AS regexp_replace(regexp_replace(hub_nospace(s), '[-()（）—]', '', 'g'), '^(\+?0?086|\+86)', '')",
    "hub_phone_of(x) AS CASE "
    "WHEN regexp_full_match(x, '1[3-9][0-9]{9}') THEN x "
    "WHEN regexp_full_match(x, '0(10|2[0-9])[0-9]{8}') THEN substr(x, 1, 3) || '-' || substr(x, 4) "
    "WHEN regexp_full_match(x, '0[3-9][0-9]{2}[0-9]{7,8}') THEN substr(x, 1, 4) || '-' || substr(x, 5) END",
    "hub_phone(s) AS hub_phone_of(hub_phone_digits(s))",
    r"hub_integer(s) AS TRY_CAST(regexp_extract(hub_nospace(s), '^([0-9]+)(\.0+)?[人户口个岁]?$', 1) AS INTEGER)",
    r"hub_decimal(s) AS TRY_CAST(regexp_replace(hub_nospace(s), '^[￥¥]|元$|,', '', 'g') AS DECIMAL(14, 2))",
    "hub_account(s) AS regexp_replace(hub_nospace(s), '-', '', 'g')",
    "hub_cert_no(s) AS upper(hub_nospace(s))",
    "hub_name(s) AS CASE WHEN regexp_matches(hub_clean(s), '[A-Za-z]') THEN hub_clean(s) "
    "ELSE replace(replace(hub_nospace(s), '.', '·'), '•', '·') END",
]


def register_macros(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the hub's macros as temporary macros of this connection."""
    for body in MACROS:
        con.execute(f"CREATE OR REPLACE TEMP MACRO {body}")
