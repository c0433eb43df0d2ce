"""Survivorship: per person and field, the authoritative source's value, else the most recent.

Builds `core.person` (one row per person as linkage formed them, typed, with the citizen ID
where one is trusted), `core.choice` (per person and field, the rank key of the chosen value),
the view `core.provenance` (every observed value, the chosen one marked) and `core.conflicts`
(fields where sources disagree).

The choice is one aggregate over the linked rows (see `observations`): per person and field
the lowest (rank key, value), and whether departments gave different values (compared by
hash: fixed-size states, so memory does not depend on the values). Provenance is each row
unnested beside its person's choice: a view, streamed when published, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub import unfinished
from hub.core.changes import TOUCHED, UNPUBLISHED, linked_sql, refresh_observed, touched_count
from hub.core.corrections import Accepted, corrected_fields
from hub.core.corrections import apply as corrections_apply
from hub.core.corrections import provenance_part as corrections_provenance
from hub.core.corrections import sync as corrections_sync
from hub.core.observations import (
    BUCKETS,
    DERIVED_DEPARTMENT,
    DERIVED_FIELDS,
    DERIVED_SOURCE,
    ROWS,
    ObservedField,
    bucket_sql,
    observed_fields,
)
from hub.registry.loader import Registry
from hub.warehouse import lit, one, q, temp_exists

BUCKET_ROWS = 200_000  # linked rows per survivorship aggregate at most (see `_chosen`)
PART_PERSONS = 250_000  # persons' rows gathered before core.person and core.choice get them
CHOSEN = "hub_chosen"  # a temp table: one bucket's aggregate behind core.person and core.choice
DIFFERS = "hub_differs"  # a temp table: (person_id, field) where departments disagree
LINKED = "hub_linked"  # a temp table: how each person was linked (`linked_sql`), by bucket
# Temp copies of the touched persons' rows of core tables (`_copy`), made as a run writes
# them: a filter by a list of persons cannot skip any row group of a large table, so each
# later read of those persons (survivorship, conflicts, publishing) would cost a whole scan.
_COPIED = ("core.observed", "core.person", "core.choice", "core.conflicts")
CHOICE = "core.choice"
_IS_TABLE = (
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'core' "
    "AND table_name = 'provenance' AND table_type = 'BASE TABLE'"
)


@dataclass
class CoreResult:
    persons: int
    observations: int  # values the departments gave (the provenance rows not read off IDs)
    conflicts: int
    touched: int | None = None  # persons recomputed (None: all of them)


def build_core(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    corrections: list[Accepted] | None = None,
) -> CoreResult:
    """Bring core up to date: every person the first time, else those a change touched.
    `corrections`: the accepted corrections now (None: those core already holds)."""
    fields = observed_fields(registry)
    # a killed run may have changed some touched persons' rows and not others: redo all
    whole = refresh_observed(con, registry, force=unfinished.begin(con, "core"))
    only = None if whole else TOUCHED
    changed = corrections_sync(con, corrections)
    if changed and not whole:  # a correction accepted or withdrawn: its resident is redone
        con.execute(f"INSERT INTO {TOUCHED} {changed} EXCEPT SELECT person_id FROM {TOUCHED}")
        con.execute(f"INSERT INTO {UNPUBLISHED} {changed}")
    for table in _COPIED:
        con.execute(f"DROP TABLE IF EXISTS {_copy(table)}")
    rows = _touched_rows(con, only)
    if one(con, _IS_TABLE)[0]:  # a warehouse from before provenance was a view
        con.execute("DROP TABLE core.provenance")
    _person_and_choice(con, fields, only, rows, corrected_fields(con, fields))
    con.execute(f"CREATE OR REPLACE VIEW core.provenance AS {provenance_sql(fields)}")
    choice = CHOICE if only is None else _copy(CHOICE)
    _replace(con, "core.conflicts", _conflicts_sql(fields, rows, choice), only)
    values = " + ".join(f"count({q(f.name)})" for f in fields) or "0"
    persons, observations, conflicts = one(
        con,
        "SELECT (SELECT count(*) FROM core.person), "
        f"(SELECT {values} FROM {ROWS}), (SELECT count(*) FROM core.conflicts)",
    )
    con.execute(f"DROP TABLE {DIFFERS}")
    unfinished.done(con, "core")
    return CoreResult(persons, observations, conflicts, touched_count(con))


def _replace(con: duckdb.DuckDBPyConnection, table: str, sql: str, only: str | None) -> None:
    """`table` := `sql` (whole), or only the rows of the persons in `only`."""
    _fill(con, table, sql, only, first=True)
    _swap_in(con, table, only)


def _fill(
    con: duckdb.DuckDBPyConnection, table: str, sql: str, only: str | None, first: bool
) -> None:
    """Add the rows of `sql` to what replaces `table`: the table itself when everyone is
    rebuilt (made anew by the `first` part), else this run's copy of the touched rows."""
    if only is None:
        into = f"CREATE OR REPLACE TABLE {table} AS" if first else f"INSERT INTO {table} BY NAME"
        con.execute(f"{into} {sql}")
        return
    copy = _copy(table)
    if first:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {copy} AS FROM {table} LIMIT 0")
    con.execute(f"INSERT INTO {copy} BY NAME {sql}")


def _swap_in(con: duckdb.DuckDBPyConnection, table: str, only: str | None) -> None:
    """The touched persons' rows of `table` := this run's copy of them (see `_fill`)."""
    if only is None:
        return
    con.execute(f"DELETE FROM {table} WHERE person_id IN (SELECT person_id FROM {only})")
    con.execute(f"INSERT INTO {table} FROM {_copy(table)}")


def _copy(table: str) -> str:
    return "hub_touched__" + table.replace(".", "_")


def rows_of(con: duckdb.DuckDBPyConnection, table: str, persons: str) -> str:
    """SQL of the rows of `persons` (SQL of person ids) of core `table`."""
    return f"SELECT * FROM {held(con, table, persons)} WHERE person_id IN ({persons})"


def held(con: duckdb.DuckDBPyConnection, table: str, persons: str) -> str:
    """Where to read the rows of `persons` (SQL of person ids) of core `table`: this run's
    copy of the touched persons' rows when it holds them all, else the table."""
    copy = _copy(table)
    if not temp_exists(con, copy):
        return table
    missing = one(
        con,
        f"SELECT count(*) FROM ({persons}) p "
        f"WHERE person_id NOT IN (SELECT person_id FROM {TOUCHED})",
    )[0]
    return table if missing else copy


def person_fields(registry: Registry) -> list[str]:
    """Fields that appear as columns of core.person: mapped by some source, in registry order."""
    return [f.name for f in observed_fields(registry)]


def _key(f: ObservedField) -> str:
    return q(f"{f.name}#key")


def _from_id(f: ObservedField) -> str:
    return q(f"{f.name}#from_id")


def _pick(f: ObservedField, alias: str = "", part: str = "v") -> str:
    """The chosen value (`part` v) or its rank key (k) of `f` in the temp table of choices."""
    return f"{alias + '.' if alias else ''}{q(f.name + '#' + part)}"


def _touched_rows(con: duckdb.DuckDBPyConnection, only: str | None) -> str:
    """Where the touched persons' rows are read from: a copy, made here, unless everyone or
    a large share of persons is touched (then the filtered scans are no dearer than a copy)."""
    if only is None:
        return ROWS
    touched, persons = one(
        con, f"SELECT (SELECT count(*) FROM {only}), (SELECT count(*) FROM core.person)"
    )
    if touched * 4 > persons:
        return ROWS
    con.execute(f"CREATE TEMP TABLE {_copy(ROWS)} AS SELECT * FROM {ROWS}{_only(only)}")
    return _copy(ROWS)


def _person_and_choice(
    con: duckdb.DuckDBPyConnection,
    fields: list[ObservedField],
    only: str | None,
    source: str,
    corrected: list[ObservedField] | None = None,
) -> None:
    """core.person and core.choice (whole, or the rows of the persons in `only`) and the temp
    table DIFFERS, from the survivorship aggregate over `source`'s rows.

    In buckets of persons: the aggregate holds every person's states at once, so its memory
    follows the rows of a bucket, not of the district. The buckets' choices are gathered up
    to PART_PERSONS persons, then written out before the next part: no table of every
    person's choices (a city's would not stay in memory) is built whole, and a district's
    tables are still written in one statement (writing compresses, at a cost per statement)."""
    narrow = _only(only, "AND") if source == ROWS else ""
    rows = int(one(con, f"SELECT count(*) FROM {source} WHERE true{narrow}")[0])
    n = min(max(1, -(-rows // BUCKET_ROWS)), BUCKETS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {LINKED} AS SELECT *, {bucket_sql('person_id')} AS _bucket "
        f"FROM ({linked_sql(f'SELECT person_id FROM {only}' if only else None)}) ORDER BY _bucket"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DIFFERS} (person_id VARCHAR, field VARCHAR)")
    cid = _pick(ObservedField("citizen_id", "", ()), "c")
    keys = "".join(f", {_pick(f, 'c', 'k')} AS {_key(f)}" for f in fields)
    # values read off the chosen ID, kept here so the provenance view needs no hub macro
    keys += "".join(f", {d} AS {_from_id(f)}" for f in fields if (d := _derived(f, fields, cid)))
    differs = ", ".join(
        f"CASE WHEN {q(f.name + '#differs')} THEN {lit(f.name)} END" for f in fields
    )
    held, lo, part = 0, 0, 0
    for i in range(n):
        hi = (i + 1) * BUCKETS // n
        _chosen(
            con, fields, f"{source} WHERE true{narrow}{_buckets(i * BUCKETS // n, hi, n)}", held > 0
        )
        held = int(one(con, f"SELECT count(*) FROM {CHOSEN}")[0])
        if held < PART_PERSONS and i < n - 1:
            continue
        corrections_apply(con, CHOSEN, corrected or [])
        linked = f"FROM {LINKED} WHERE true{_buckets(lo, hi, n)}"
        _fill(con, "core.person", _person_sql(fields, linked), only, first=not part)
        _fill(con, CHOICE, f"SELECT c.person_id{keys} FROM {CHOSEN} c", only, first=not part)
        con.execute(
            f"INSERT INTO {DIFFERS} SELECT person_id, field FROM (SELECT person_id, "
            f"unnest([{differs or 'NULL'}]) AS field FROM {CHOSEN}) WHERE field IS NOT NULL"
        )
        held, lo, part = 0, hi, part + 1
    con.execute(f"DROP TABLE {CHOSEN}; DROP TABLE {LINKED}")
    _swap_in(con, "core.person", only)
    _swap_in(con, CHOICE, only)


def _chosen(
    con: duckdb.DuckDBPyConnection, fields: list[ObservedField], rows: str, add: bool
) -> None:
    """The temp table CHOSEN (made anew, or added to if `add`): per person of `rows` (SQL
    after FROM) and field the lowest (rank key, value), and whether departments gave
    different values (compared by hash: fixed-size states, so memory does not depend on the
    values).

    A person of one row (most of a district's: in one roster only) has that row's values
    chosen as they stand: only the persons of several rows go through the aggregate, whose
    states per person and field are its cost."""
    aggs = []
    for f in fields:
        v = q(f.name)
        h = f"CASE WHEN {v} IS NOT NULL THEN hash({v}) END"  # hash(NULL) is a number
        aggs += [  # (key, value) in one state: min by the unique key (arg_min's states
            # hold more memory per person)
            f"min(CASE WHEN {v} IS NOT NULL THEN struct_pack(k := {f.key()}, v := {v}) END) "
            f"AS {q(f.name + '#kv')}",
            f"min({h}) IS DISTINCT FROM max({h}) AS {q(f.name + '#differs')}",
        ]
    observed = " OR ".join(f"{q(f.name)} IS NOT NULL" for f in fields) or "false"
    aggs += [
        f"list_sort(list(DISTINCT source) FILTER (WHERE {observed})) AS sources",
        f"max(observed_at) FILTER (WHERE {observed}) AS last_observed_at",
    ]
    split = "".join(
        f", {q(f.name + '#kv')}.v AS {_pick(f)}, {q(f.name + '#kv')}.k AS {_pick(f, part='k')}"
        for f in fields
    )
    # the same columns, in the same order, read off a person's only row
    alone = (
        "person_id"
        + "".join(f", false AS {q(f.name + '#differs')}" for f in fields)
        + f", CASE WHEN {observed} THEN [source] END AS sources"
        + f", CASE WHEN {observed} THEN observed_at END AS last_observed_at"
        + "".join(
            f", {q(f.name)} AS {_pick(f)}, "
            f"CASE WHEN {q(f.name)} IS NOT NULL THEN {f.key()} END AS {_pick(f, part='k')}"
            for f in fields
        )
    )
    into = f"INSERT INTO {CHOSEN}" if add else f"CREATE OR REPLACE TEMP TABLE {CHOSEN} AS"
    con.execute(
        f"{into} WITH _single AS (SELECT person_id FROM {rows} GROUP BY person_id "
        "HAVING count(*) = 1) SELECT * EXCLUDE ("
        + ", ".join(q(f.name + "#kv") for f in fields)
        + f"){split} FROM (SELECT person_id, {', '.join(aggs)} FROM (SELECT * FROM {rows}) r "
        "ANTI JOIN _single o ON o.person_id = r.person_id GROUP BY r.person_id) "
        f"UNION ALL SELECT {alone} FROM (SELECT * FROM {rows}) r "
        "SEMI JOIN _single o ON o.person_id = r.person_id"
    )


def _buckets(lo: int, hi: int, n: int) -> str:
    """SQL condition (after WHERE ...): the buckets from `lo` up to `hi` (all if n is 1)."""
    return f" AND _bucket >= {lo} AND _bucket < {hi}" if n > 1 else ""


def _only(only: str | None, word: str = "WHERE") -> str:
    return f" {word} person_id IN (SELECT person_id FROM {only})" if only else ""


def _derived(f: ObservedField, fields: list[ObservedField], citizen_id: str) -> str | None:
    """SQL: `f` read off the chosen citizen ID (the expression `citizen_id`), if `f` can be."""
    if f.name not in DERIVED_FIELDS or not any(x.name == "citizen_id" for x in fields):
        return None
    return f"CAST({DERIVED_FIELDS[f.name]}({citizen_id}) AS {f.sql_type})"


def _person_sql(fields: list[ObservedField], linked: str) -> str:
    """core.person's rows of the persons in CHOSEN; `linked` (SQL) holds how they were linked."""
    cols = []
    cid = _pick(ObservedField("citizen_id", "", ()), "c")
    for f in fields:
        derived = _derived(f, fields, cid)
        chosen = _pick(f, "c")
        value = f"coalesce({chosen}, {derived})" if derived else chosen
        cols.append(f"{value} AS {q(f.name)}")
    return (
        f"SELECT c.person_id, {''.join(x + ', ' for x in cols)}c.sources, c.last_observed_at, "
        f"k.by_id, k.rows_by_model FROM {CHOSEN} c LEFT JOIN ({linked}) k USING (person_id)"
    )


def provenance_sql(
    fields: list[ObservedField],
    persons: str | None = None,
    rows_from: str = ROWS,
    choice_from: str = CHOICE,
) -> str:
    """Every observed value of every person (of `persons`, a SQL relation of person_id, if
    given): each row of core.observed unnested beside core.choice (or of `rows_from` and
    `choice_from`, which hold all rows of those persons)."""

    def entries(of: list[ObservedField]) -> str:
        return (
            "["
            + ", ".join(
                f"{{'field': {lit(f.name)}, 'value': CAST(r.{q(f.name)} AS VARCHAR), "
                f"'selected': {f.key('r')} = c.{_key(f)}, 'derived': false}}"
                for f in of
            )
            + "]"
        )

    # a row lists the fields its source gives (the others are NULL on it): a third of the
    # entries to build and unnest
    sources = sorted({s for f in fields for s in f.sources})
    whens = "".join(
        f"WHEN {lit(s)} THEN {entries([f for f in fields if s in f.sources])} " for s in sources
    )
    items = f"CASE r.source {whens}ELSE {entries(fields)} END" if whens else entries(fields)
    cid = next((f for f in fields if f.name == "citizen_id"), None)
    # values read off the ID: once per person, beside the row whose ID was chosen; selected
    # where no department gives the field
    derived = [
        f"{{'field': {lit(f.name)}, 'value': CAST(c.{_from_id(f)} AS VARCHAR), "
        f"'selected': c.{_key(f)} IS NULL, 'derived': true}}"
        for f in fields
        if cid and _derived(f, fields, "")
    ]
    if cid and derived:
        on_id_row = f"{cid.key('r')} = c.{_key(cid)}"
        items = f"list_concat({items}, CASE WHEN {on_id_row} THEN [{', '.join(derived)}] END)"
    # the persons' rows and choices are narrowed before they meet (a filter after the join
    # would join every person first)
    rows, choice = (
        (f"(FROM {t} SEMI JOIN ({persons}) p USING (person_id))" for t in (rows_from, choice_from))
        if persons
        else (ROWS, CHOICE)
    )
    # values a department's accepted correction put in place of its own (see hub.core.corrections)
    corrected = corrections_provenance([f for f in fields if f.authority], choice, '"{}#key"')
    return (
        "SELECT person_id, o.field, o.value, "
        f"CASE WHEN o.derived THEN {lit(DERIVED_SOURCE)} ELSE source END AS source, "
        f"CASE WHEN o.derived THEN {lit(DERIVED_DEPARTMENT)} ELSE department END AS department, "
        "batch_id, source_row, "
        "CASE WHEN o.derived THEN DATE '1900-01-01' ELSE observed_at END AS observed_at, "
        "o.selected FROM (SELECT r.person_id, r.source, r.department, r.batch_id, r.source_row, "
        f"r.observed_at, unnest({items}) AS o FROM {rows} r JOIN {choice} c USING (person_id)"
        ") WHERE o.value IS NOT NULL" + (f" UNION ALL {corrected}" if corrected else "")
    )


def _conflicts_sql(fields: list[ObservedField], rows: str = ROWS, choice: str = CHOICE) -> str:
    pairs = f"SELECT person_id, field FROM {DIFFERS}"
    return (
        "SELECT person_id, field, "
        "any_value(value) FILTER (WHERE selected) AS chosen_value, "
        "any_value(source) FILTER (WHERE selected) AS chosen_source, "
        "count(DISTINCT value) AS n_values, "
        "list({'value': value, 'source': source, 'observed_at': observed_at} "
        "ORDER BY observed_at DESC, source, value) AS candidates "
        f"FROM ({provenance_sql(fields, f'SELECT DISTINCT person_id FROM ({pairs})', rows, choice)}) "
        f"SEMI JOIN ({pairs}) d USING (person_id, field) "
        f"WHERE source <> {lit(DERIVED_SOURCE)} GROUP BY ALL"
    )
