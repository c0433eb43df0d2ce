"""What linkage compares, per department row: the ID's parts, the name in simplified
characters and in pinyin, the birth date, and address tokens instead of the raw string.

`link_rows` gathers rows from every staged person table in one shape; `build_features`
turns them into the `link_features` table. Names are folded per distinct character (a few
thousand), not per row, so this stays set-at-a-time over large inputs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from hub.ingest.holds import current_batches
from hub.registry.loader import Registry
from hub.warehouse import lit, q, table_columns, table_exists

_FROM_STAGED = {
    "id_text": "_id_text",
    "trusted": "_id_trusted",
    "name": "name",
    "birth_date": "_birth_date_written",
    "gender": "_gender_written",
    "phone": "phone",
    "head_name": "household_head_name",
}
_ADDRESSES = ("current_address", "registered_address")  # where they live, else the hukou one
_CJK = r"\x{4e00}-\x{9fff}"


def record_key(source: str, batch: str, row: str) -> str:
    """SQL for a row's stable key: the batch id is derived from the file's content."""
    return f"{source} || '|' || {batch} || '|' || CAST({row} AS VARCHAR)"


def link_rows_sql(
    con: duckdb.DuckDBPyConnection, registry: Registry, batches: str | None = None
) -> str | None:
    """One SELECT over the current rows (`current_batches`) of every staged person table, in
    one shape (None if empty): record_key,
    source, batch, row, the ID as written and whether it is trusted, name, birth date, gender,
    phone, household head and address. `batches` (a table of source, batch_id) narrows it to
    those batches."""
    parts = []
    current = batches or current_batches(con, registry.sources)
    for src in registry.sources.values():
        if src.entity != "person" or not table_exists(con, "staged", src.name):
            continue
        have = set(table_columns(con, "staged", src.name))
        cols = [
            f"{record_key(lit(src.name), '_batch_id', '_source_row')} AS record_key",
            f"{lit(src.name)} AS source",
            "_batch_id AS batch_id",
            "_source_row AS source_row",
        ]
        for out, column in _FROM_STAGED.items():
            missing = "false" if out == "trusted" else "NULL"
            cols.append(f"{column if column in have else missing} AS {q(out)}")
        addresses = [c for c in _ADDRESSES if c in have]
        cols.append(f"coalesce({', '.join(addresses) or 'NULL'}, NULL) AS address")
        # rows alike in every field are one row said twice (hub.link.features.dedupe); an
        # extension column (序号, 备注) says nothing about who the row is
        extensions = {c.extension for c in src.columns if c.extension}
        values = sorted(have - {"_source_row"} - extensions)
        cols.append(f"hash({', '.join(q(c) for c in values)}) AS row_hash")
        parts.append(
            f"SELECT {', '.join(cols)} FROM staged.{q(src.name)} SEMI JOIN {current} c "
            f"ON c.source = {lit(src.name)} AND c.batch_id = _batch_id"
        )
    return " UNION ALL ".join(parts) if parts else None


def build_features(
    con: duckdb.DuckDBPyConnection, rows_sql: str, distrust: bool = True, into: str | None = None
) -> int:
    """Create the temp tables `link_features` from `rows_sql` (one row of each set of exact
    duplicates) and `link_dups` (the others, see `dedupe`); returns the feature rows.
    `trusted0` and `birth0` keep what the row says before `distrust_borrowed_ids` (which
    looks across batches; `distrust` False leaves it to the caller). `into` names a table
    to hold the features instead of the temp table (not written twice when kept whole)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE link_rows AS {rows_sql}")
    dedupe(con)
    _name_lookup(con)
    table = into or "link_features"
    con.execute(
        f"CREATE OR REPLACE {'' if into else 'TEMP '}TABLE {table} AS SELECT *, trusted AS trusted0, "
        "birth AS birth0, NULL::VARCHAR AS id_doubt FROM (SELECT r.*, "
        "n.name_s, n.name_py, h.name_py AS head_py, "
        "CASE WHEN length(r.id_text) = 18 THEN substr(r.id_text, 7, 8) END AS id_birth, "
        "CASE WHEN length(r.id_text) = 18 THEN substr(r.id_text, 1, 6) END AS id_area, "
        "coalesce(strftime(r.birth_date, '%Y%m%d'), "
        "CASE WHEN r.trusted THEN substr(r.id_text, 7, 8) END) AS birth, "
        f"nullif(regexp_extract(r.address, '([{_CJK}]{{2,6}}(社区|村))', 1), '') AS addr_comm, "
        r"nullif(regexp_extract(r.address, '(\d+)\s*号', 1), '') AS addr_no, "
        "nullif(regexp_replace(regexp_extract(r.address, "
        r"'号\s*(\d+\s*[幢栋-]\s*\d+\s*[单元-]*\s*\d+)', 1), '[^0-9]+', '-', 'g'), '') AS addr_unit "
        "FROM link_rows r LEFT JOIN _link_names n ON n.name = r.name "
        "LEFT JOIN _link_names h ON h.name = r.head_name)"
    )
    con.execute("DROP TABLE link_rows")
    if distrust:
        distrust_borrowed_ids(con, table)
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def distrust_borrowed_ids(
    con: duckdb.DuckDBPyConnection, table: str = "link_features", ids: str | None = None
) -> int:
    """A valid ID on rows with different names is someone's, not everyone's: a 低保 member's
    row carrying the head's ID. The ID belongs to the name most batches give it; rows whose
    name reads otherwise (not the same pinyin: relatives share a surname, so no "near"
    spelling is allowed) are not linked by it but
    by their other facts, with `id_doubt` saying why. Where no name has more batches than
    the others (head and member only in one file), no row of that ID is linked by it.

    Judged on `table` from each row's own `trusted0`; `ids` (a table of id_text) limits it
    to those IDs, whose rows are judged afresh (an incremental run: the IDs of rows that
    came or went)."""
    scope = f" AND id_text IN (SELECT id_text FROM {ids})" if ids else ""
    if ids:
        con.execute(
            f"UPDATE {table} SET trusted = trusted0, birth = birth0, id_doubt = NULL "
            f"WHERE (trusted <> trusted0 OR id_doubt IS NOT NULL){scope}"
        )
    # the owner's name: the smallest of the spellings with that pinyin (any one would do,
    # but a run and a rebuild must choose alike)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _id_names AS "
        "SELECT id_text, name_py, min(name) AS name, count(DISTINCT batch_id) AS batches "
        f"FROM {table} WHERE trusted0 AND name_py IS NOT NULL AND id_text IN ("
        f"SELECT id_text FROM {table} WHERE trusted0 AND name_py IS NOT NULL{scope} "
        "GROUP BY 1 HAVING count(DISTINCT name_py) > 1) GROUP BY 1, 2"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _id_owner AS SELECT id_text, "
        "CASE WHEN count(*) FILTER (WHERE batches = top) = 1 THEN arg_max(name_py, batches) END "
        "AS owner_py, arg_max(name, (batches, name_py)) AS owner "
        "FROM (SELECT *, max(batches) OVER (PARTITION BY id_text) AS top FROM _id_names) "
        "GROUP BY id_text"
    )
    n = con.execute(
        # a birth date taken from the borrowed ID is no fact of this row
        f"UPDATE {table} f SET trusted = false, "
        "birth = CASE WHEN f.birth_date IS NULL THEN NULL ELSE f.birth END, id_doubt = CASE WHEN o.owner_py IS NULL "
        "THEN '同一身份证号在同一文件中写在姓名不同的行上，无法确定号码属于谁：不按身份证号关联' "
        "ELSE '身份证号已属于「' || o.owner || '」，本行姓名不同（疑为借用他人号码）：不按身份证号关联' END "
        "FROM _id_owner o WHERE f.id_text = o.id_text AND f.trusted AND f.name_py IS NOT NULL "
        "AND (o.owner_py IS NULL OR f.name_py <> o.owner_py)"
    ).fetchall()[0][0]
    return int(n)


def dedupe(con: duckdb.DuckDBPyConnection) -> int:
    """Collapse rows of one batch that are equal in every field (a file of a million
    copies of one row must not become a million-squared pairs): the first stays in
    `link_rows`, the others go to `link_dups(record_key, source_row, rep, rep_row)` and get
    its person. `link_rows` carries `row_hash` (link_rows_sql; the linkage bench hashes the
    record key, so it collapses nothing)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE link_dups AS SELECT record_key, source_row, rep, rep_row "
        "FROM (SELECT record_key, source_row, first_value(record_key) OVER w AS rep, "
        "first_value(source_row) OVER w AS rep_row FROM link_rows WHERE row_hash IS NOT NULL "
        "WINDOW w AS (PARTITION BY source, batch_id, row_hash ORDER BY source_row)) "
        "WHERE rep <> record_key"
    )
    n = int(con.execute("SELECT count(*) FROM link_dups").fetchall()[0][0])
    if n:
        con.execute("DELETE FROM link_rows WHERE record_key IN (SELECT record_key FROM link_dups)")
    return n


def _name_lookup(con: duckdb.DuckDBPyConnection) -> None:
    """name -> simplified form and toneless pinyin (張偉, 张玮 and 张伟 all read zhangwei).
    The names stay in DuckDB and Arrow: one converter call folds them all, and pinyin is
    looked up per distinct character and joined back in SQL (per name in Python it was
    most of this step's time)."""
    names = con.sql(
        "SELECT DISTINCT name FROM (SELECT name FROM link_rows UNION ALL "
        "SELECT head_name FROM link_rows) WHERE name IS NOT NULL"
    ).to_arrow_table()
    column = names.column("name").combine_chunks()
    simplified = pa.array(fold_names(column), pa.string())
    con.register("_link_names_src", pa.table({"name": column, "name_s": simplified}))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _link_name_chars AS SELECT name, name_s, "
            "unnest(string_split(name_s, '')) AS ch, "
            "generate_subscripts(string_split(name_s, ''), 1) AS i FROM _link_names_src"
        )
    finally:
        con.unregister("_link_names_src")
    chars = [r[0] for r in con.execute("SELECT DISTINCT ch FROM _link_name_chars").fetchall()]
    readings = pa.table(
        {"ch": pa.array(chars, pa.string()), "py": pa.array(pinyin_of(chars), pa.string())}
    )
    con.register("_link_pinyin_src", readings)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _link_names AS SELECT c.name, c.name_s, "
            "string_agg(coalesce(p.py, c.ch), '' ORDER BY c.i) AS name_py "
            "FROM _link_name_chars c LEFT JOIN _link_pinyin_src p ON p.ch = c.ch "
            "GROUP BY c.name, c.name_s"
        )
    finally:
        con.unregister("_link_pinyin_src")
        con.execute("DROP TABLE IF EXISTS _link_name_chars")


def fold_names(names: pa.Array) -> list[str]:
    """Traditional characters as simplified, in one converter call for all names (joined
    in Arrow: no Python string per name). Names hold no line breaks (normalizing turned
    them into spaces); should one come, each name is converted alone."""
    if len(names) == 0:
        return []
    joined = pc.binary_join(pa.array([names], pa.list_(pa.string())), "\n")[0].as_py()
    out = str(_t2s().convert(joined)).split("\n")
    if len(out) != len(names):
        out = [str(_t2s().convert(n)) for n in names.to_pylist()]
    return out


def pinyin_of(names: list[str]) -> list[str]:
    """Toneless pinyin, character by character (polyphones read one way on both sides)."""
    from pypinyin import Style, pinyin

    chars = sorted({c for n in names for c in n})
    readings = pinyin(chars, style=Style.NORMAL, errors="default")
    table = {c: r[0] for c, r in zip(chars, readings, strict=True)}
    return ["".join(table.get(c, c) for c in n) for n in names]


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")
