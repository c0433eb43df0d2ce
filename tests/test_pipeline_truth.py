"""Score one full `hub run` against the sample generator's truth."""

from __future__ import annotations

from hub.sample.errors import EXPECTED_RULE
from hub.validate.quality_page import docs_index


def test_persons_equal_true_distinct_residents(sample_run):
    true_residents = {r["citizen_id"] for r in sample_run.truth_rows}
    persons = sample_run.sql("SELECT citizen_id FROM core.person")
    assert len(persons) == len(true_residents)
    assert {r[0] for r in persons} == true_residents


def test_every_injected_error_is_caught_by_its_rule(sample_run):
    issues = {
        (s, int(row), f, rule)
        for s, row, f, rule in sample_run.sql(
            "SELECT source, source_row, field, rule FROM quarantine.issues"
        )
    }
    injected = [r for r in sample_run.truth_rows if r["error_kind"]]
    assert len(injected) >= 20
    missed = [
        r
        for r in injected
        if (r["source"], int(r["source_row"]), r["error_field"], EXPECTED_RULE[r["error_kind"]])
        not in issues
    ]
    assert missed == []


def test_a_row_without_a_name_is_quarantined_with_the_original_row(sample_run):
    blocking = {
        (r["source"], int(r["source_row"]))
        for r in sample_run.truth_rows
        if r["error_kind"] == "name_missing"
    }
    assert blocking
    for source, row in blocking:
        quarantined = sample_run.sql(
            f"SELECT _errors FROM quarantine.{source} WHERE _source_row = ?", [row]
        )
        assert len(quarantined) == 1 and "姓名为空" in quarantined[0][0]
        staged = sample_run.sql(
            f"SELECT count(*) FROM staged.{source} WHERE _source_row = ?", [row]
        )
        assert staged[0][0] == 0


def test_rows_with_a_bad_or_missing_id_are_kept_and_linked_to_their_resident(sample_run):
    """A bad check digit, no ID, or a birth date that disagrees with the ID: the row is
    flagged for the department and still joins the right person."""
    damaged = [
        r
        for r in sample_run.truth_rows
        if r["error_kind"] in ("bad_check_digit", "id_missing", "birth_mismatch")
    ]
    assert damaged
    for r in damaged:
        linked = sample_run.sql(
            "SELECT l.method, p.citizen_id FROM core.links l JOIN core.person p USING (person_id) "
            "WHERE l.source = ? AND l.source_row = ?",
            [r["source"], int(r["source_row"])],
        )
        assert linked == [("probabilistic", r["citizen_id"])], r


def test_under_half_a_percent_of_clean_rows_are_flagged(sample_run):
    flagged = {
        (s, int(r))
        for s, r in sample_run.sql("SELECT DISTINCT source, source_row FROM quarantine.issues")
    }
    clean = [
        (r["source"], int(r["source_row"])) for r in sample_run.truth_rows if not r["error_kind"]
    ]
    false_flags = [c for c in clean if c in flagged]
    assert len(false_flags) / len(clean) < 0.005, false_flags[:10]


def test_nothing_is_silently_dropped(sample_run):
    for source, raw, staged, quarantined in sample_run.sql(
        "SELECT source, count(*), 0, 0 FROM raw._batches GROUP BY source"
    ):
        raw = sample_run.sql(f"SELECT count(*) FROM raw.{source}")[0][0]
        staged = sample_run.sql(f"SELECT count(*) FROM staged.{source}")[0][0]
        quarantined = sample_run.sql(f"SELECT count(*) FROM quarantine.{source}")[0][0]
        assert raw == staged + quarantined, source
    truth_total = len(sample_run.truth_rows)
    assert sample_run.sql("SELECT sum(rows) FROM raw._batches")[0][0] == truth_total


def test_issues_name_file_row_column_and_speak_chinese(sample_run):
    rows = sample_run.sql(
        "SELECT file_name, source_row, column_header, value, message FROM quarantine.issues "
        "WHERE rule = 'cn_id_checksum' LIMIT 1"
    )
    file_name, row, header, value, message = rows[0]
    assert file_name.endswith((".csv", ".xlsx")) and row > 1
    assert "身份证" in header or "社会保障" in header
    assert "校验位" in message and value


def test_survivorship_prefers_authority_then_recency(sample_run):
    # name: 公安 is authoritative even though other sources are more recent
    wrong = sample_run.sql(
        "SELECT count(*) FROM core.provenance WHERE field = 'name' AND selected "
        "AND source <> 'gongan_household'"
    )
    assert wrong[0][0] == 0
    # phone has no authority: the newest observation wins
    stale = sample_run.sql(
        "SELECT count(*) FROM core.provenance p WHERE field = 'phone' AND selected AND EXISTS ("
        " SELECT 1 FROM core.provenance o WHERE o.person_id = p.person_id AND o.field = 'phone' "
        " AND o.observed_at > p.observed_at)"
    )
    assert stale[0][0] == 0
    conflicts = sample_run.sql("SELECT count(*) FROM core.conflicts WHERE field = 'phone'")[0][0]
    assert conflicts > 0


def test_person_record_keeps_canonical_types(sample_run):
    row = sample_run.sql(
        "SELECT typeof(birth_date), typeof(household_size), typeof(living_alone) FROM core.person LIMIT 1"
    )
    assert row[0] == ("DATE", "INTEGER", "BOOLEAN")
    assert (
        sample_run.sql(
            "SELECT count(*) FROM core.person WHERE birth_date IS NULL OR gender IS NULL"
        )[0][0]
        == 0
    )


def test_gx_suites_ran_and_data_docs_exist(sample_run):
    results = sample_run.sql(
        "SELECT source, count(*), bool_and(success) FROM staged._expectations GROUP BY 1"
    )
    assert len(results) == 6 and all(n >= 3 for _, n, _ in results)
    index = docs_index(sample_run.data)
    assert index.exists() and "staged.gongan_household" in index.read_text(encoding="utf-8")


def test_run_summary_reports_published_release(sample_run):
    assert sample_run.summary["blocked"] == []
    assert sample_run.summary["published"]["release"] == 1
    assert sample_run.summary["core"]["persons"] == len(
        {r["citizen_id"] for r in sample_run.truth_rows}
    )
    assert sample_run.summary["link"]["persons"] == sample_run.summary["core"]["persons"]


def test_each_rule_has_one_verdict(sample_run):
    """The SQL check and its GX twin judge the same kept rows: same outcome, same count."""
    checks = {
        (c["source"], c["check"]): c["staged_violations"]
        for c in sample_run.summary["checks_failed"]
    }
    gx = {
        (e["source"], e["rule"]): e["unexpected"]
        for e in sample_run.summary["expectations_failed"]
        if e["rule"] != "rows_present"
    }
    assert checks and checks == gx
