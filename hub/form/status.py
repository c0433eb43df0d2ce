"""What became of each form submission, published for the web app (which never opens the
warehouse): loaded and linked to a person, or quarantined with the reason.

A submission not in the published table has not been through a run yet: the web app shows
its values as 待归集 beside the golden record until then.
"""

from __future__ import annotations

import duckdb

from hub.registry.formsource import FORM_SOURCE, SUBMISSION
from hub.warehouse import lit, q, table_columns, table_exists

DATASET = "form_submissions"
TABLE = "core.form_submissions"
EMPTY = (
    "SELECT NULL::VARCHAR AS submission_id, NULL::VARCHAR AS person_id, "
    "NULL::VARCHAR AS status, NULL::VARCHAR AS errors WHERE false"
)


def build_form_status(con: duckdb.DuckDBPyConnection) -> None:
    """`core.form_submissions`: submission id -> person id, loaded | quarantined, errors."""
    have = table_exists(con, "raw", FORM_SOURCE) and SUBMISSION in table_columns(
        con, "raw", FORM_SOURCE
    )
    if not have:
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {EMPTY}")
        return
    con.execute(
        f"CREATE OR REPLACE TABLE {TABLE} AS "
        f"SELECT r.{q(SUBMISSION)} AS submission_id, any_value(l.person_id) AS person_id, "
        "CASE WHEN bool_or(e._errors IS NOT NULL) THEN 'quarantined' ELSE 'loaded' END AS status, "
        "string_agg(e._errors, '；') AS errors "
        f"FROM raw.{q(FORM_SOURCE)} r LEFT JOIN core.links l ON l.source = {lit(FORM_SOURCE)} "
        "AND l.batch_id = r._batch_id AND l.source_row = r._source_row "
        f"LEFT JOIN quarantine.{q(FORM_SOURCE)} e ON e._batch_id = r._batch_id "
        f"AND e._source_row = r._source_row WHERE r.{q(SUBMISSION)} IS NOT NULL GROUP BY 1"
    )
