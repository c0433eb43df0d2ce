"""A run redoes only what is new, and gives what a full rebuild from raw gives: compared by
content (order aside), ids included, after each kind of change a district sees."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest
import yaml

from hub.compare import content, differences
from hub.form.consolidated import derive_form
from hub.form.corrections import file_correction
from hub.form.submissions import Submission, append
from hub.ingest.encoding import detect_encoding
from hub.link.decisions import record
from hub.normalize.macros import register_macros
from hub.publish.snapshot import dataset_files, dataset_sql, read_current
from hub.registry import load_registry
from hub.settings import Settings
from tests.conftest import SCHEMAS, copy_schemas, hub_cli


def sql(data: Path, query: str, params: list | None = None) -> list[tuple]:
    """Rows of `query` over the district's warehouse (read-only, the hub's macros known)."""
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        register_macros(con)
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def assert_equals_full_rebuild(data: Path, tmp_path: Path, schemas: Path = SCHEMAS) -> None:
    """Rebuild a copy of `data` with `hub run --full`; its content must equal `data`'s."""
    copy = tmp_path / f"full-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(data, copy)
    hub_cli(["run", "--full", "--json", "--no-gx"], copy, schemas)
    assert content(data), "没有可比较的内容"
    differ = differences(data, copy)
    assert not differ, f"增量结果与全量重建不同：{differ}"


def run(data: Path, schemas: Path) -> dict:
    doc = json.loads(hub_cli(["run", "--json", "--no-gx"], data, schemas, check=False).stdout)
    if doc.get("link") and doc.get("core"):  # linkage counts its persons from its clusters
        assert doc["link"]["persons"] == doc["core"]["persons"]
    return doc


def rewrite_csv(path: Path, dest: Path, change) -> None:
    """Write `dest` as `path` with `change(header, rows)` applied, in the file's encoding."""
    raw = path.read_bytes()
    enc = detect_encoding(raw[:65536], complete=True)
    rows = list(csv.reader(io.StringIO(raw.decode(enc))))
    at = next(i for i, r in enumerate(rows) if sum(1 for c in r if c.strip()) >= 3)  # past a title
    header, body = rows[at], rows[at + 1 :]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([*rows[:at], header, *change(header, body)])
    dest.write_bytes(out.getvalue().encode(enc))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The district's own registries, for tests that change a mapping or a code list."""
    return copy_schemas(tmp_path_factory.mktemp("incr-schemas") / "schemas")


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory, schemas: Path) -> Path:
    """A district whose first run loaded the sample's files but one (held back in `later/`)."""
    data = tmp_path_factory.mktemp("incr") / "data"
    hub_cli(["sample", "--residents", "500", "--seed", "5"], data, schemas)
    later = data.parent / "later"
    later.mkdir()
    for f in (data / "incoming").glob("退役军人_*"):
        shutil.move(f, later / f.name)
    run(data, schemas)
    return data


def test_a_new_file_is_staged_alone_and_equals_a_rebuild(district, schemas, tmp_path):
    for f in (district.parent / "later").iterdir():
        shutil.move(f, district / "incoming" / f.name)
    before = _staged_batches(district)
    doc = run(district, schemas)
    assert [s["source"] for s in doc["stages"] if s["staged"]] != []
    after = _staged_batches(district)
    assert set(after) - set(before) and set(before) <= set(after)
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_new_row_bridging_two_persons_merges_them_under_the_older_id(district, schemas, tmp_path):
    """Two rows with no ID, alike in name alone (the second has no birth date, another phone
    and address), are two persons; a later row with the first's birth date and address and
    the second's phone bridges them: one person, under the older id (the other recorded as
    merged into it)."""
    later = sorted((district.parent / "later").glob("退役军人_*"))  # not loaded yet
    template = later[0] if later else archived(district, "退役军人_")

    def rows_of(*people: dict[str, str]):
        def change(header: list[str], rows: list[list[str]]) -> list[list[str]]:
            at = {h: i for i, h in enumerate(header)}
            address = rows[0][at["现居住地址"]]
            out = []
            for n, person in enumerate(people, start=1):
                row = [""] * len(header)
                row[at["序号"]] = str(n)
                for h, v in person.items():
                    row[at[h]] = v.replace("{address}", address)
                out.append(row)
            return out

        return change

    who = {"姓名": "桥连生", "性别": "男", "优抚对象类别": "在乡复员军人"}
    first = {**who, "出生日期": "1951-07-09", "联系电话": "13912340001", "现居住地址": "{address}"}
    second = {**who, "联系电话": "15812340002", "现居住地址": "幸福路88号2-1-301"}
    rewrite_csv(
        template, district / "incoming" / "退役军人_信息采集表_202601.csv", rows_of(first, second)
    )
    run(district, schemas)
    ids = sql(district, "SELECT DISTINCT person_id FROM core.person WHERE name = '桥连生'")
    assert len(ids) == 2, "两行本应是两个人（模型改变后请调整本测试的数据）"
    bridge = {**who, "出生日期": "1951-07-09", "联系电话": "15812340002", "现居住地址": "{address}"}
    rewrite_csv(template, district / "incoming" / "退役军人_信息采集表_202602.csv", rows_of(bridge))
    doc = run(district, schemas)
    now = sql(district, "SELECT DISTINCT person_id FROM core.person WHERE name = '桥连生'")
    older = min(ids)[0]  # born in the same run: the smaller id is the older
    assert now == [(older,)] and doc["link"]["merged"] == 1
    merged = sql(district, "SELECT merged_id, into_id FROM identity.person_merges")
    assert (max(ids)[0], older) in merged
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_corrected_reexport_of_a_full_roster_supersedes_it(district, schemas, tmp_path):
    first = archived(district, "卫健_")
    fixed: dict[str, str] = {}

    def change(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        i_id = next(i for i, h in enumerate(header) if "身份证" in h)
        i_phone = next(i for i, h in enumerate(header) if "电话" in h)
        for r in rows[:5]:
            r[i_phone] = f"1399999{len(fixed):04d}"
            fixed[r[i_id].strip()] = r[i_phone]
        return rows[5:] + rows[:5]  # a re-export may list rows in another order

    name = first.name.split("_", 1)[1].replace(".csv", "（更正）.csv")
    rewrite_csv(first, district / "incoming" / name, change)
    doc = run(district, schemas)
    # only changed nodes that can be in a pair are scored again: the rest keep their scores
    assert doc["link"]["fresh"] < doc["link"]["rows"] / 3
    assert doc["link"]["cached_pairs"] > 0
    got = sql(
        district,  # the roster's phone is the corrected one: the first export no longer counts
        "SELECT p.citizen_id, list(v.value) FROM core.provenance v JOIN core.person p "
        "USING (person_id) WHERE v.source = 'weijian_elderly' AND v.field = 'phone' "
        "AND list_contains(?, p.citizen_id) GROUP BY 1",
        [list(fixed)],
    )
    assert len(got) == len(fixed) and all(v == [fixed[k]] for k, v in got)
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_full_roster_that_drops_a_resident_takes_its_values_away(district, schemas, tmp_path):
    first = archived(district, "民政_")
    wb = openpyxl.load_workbook(first)
    ws = wb.active
    id_col = next(
        c.column
        for row in ws.iter_rows(max_row=6)
        for c in row
        if isinstance(c.value, str) and "身份证" in c.value
    )
    data_rows = [
        r
        for r in range(1, ws.max_row + 1)
        if isinstance(ws.cell(r, id_col).value, str) and ws.cell(r, id_col).value[:1].isdigit()
    ]
    dropped = str(ws.cell(data_rows[0], id_col).value).strip()
    ws.delete_rows(data_rows[0])
    name = first.name.split("_", 1)[1].replace("202510", "202511")
    assert "202511" in name
    wb.save(district / "incoming" / name)
    had = sql(district, "SELECT assistance_type FROM core.person WHERE citizen_id = ?", [dropped])
    assert had and had[0][0] is not None
    run(district, schemas)
    now = sql(district, "SELECT assistance_type FROM core.person WHERE citizen_id = ?", [dropped])
    assert now == [] or now[0][0] is None
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_form_submissions_are_one_new_batch_and_equal_a_rebuild(district, schemas, tmp_path):
    people = sql(
        district,
        "SELECT person_id, community_code, name, citizen_id FROM core.person "
        "WHERE community_code IS NOT NULL AND citizen_id IS NOT NULL ORDER BY person_id LIMIT 3",
    )
    settings = Settings(schemas=schemas, data=district)
    for i, (pid, comm, name, cid) in enumerate(people):
        values = {"name": name, "citizen_id": cid, "phone": f"1388888{i:04d}"}
        append(settings.submissions, Submission("staff", comm, values, pid, changed=["phone"]))
    doc = run(district, schemas)
    assert any(s["source"] == "community_form" and s["staged"] for s in doc["stages"])
    assert doc["core"]["touched"] is not None and 3 <= doc["core"]["touched"] <= 10
    phones = dict(
        sql(
            district,
            "SELECT person_id, phone FROM core.person WHERE list_contains(?, person_id)",
            [[p[0] for p in people]],
        )
    )
    assert phones == {p[0]: f"1388888{i:04d}" for i, p in enumerate(people)}
    # the release wrote the persons it touched as a delta; the base is the last release's file
    current = read_current(district / "published")
    segments = dataset_files(district / "published", "person", current)
    written = [f for f in segments if f.stat().st_nlink == 1]
    assert len(segments) >= 2 and len(written) == 1
    delta = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{written[0]}')")
    assert delta.fetchall()[0][0] == doc["core"]["touched"]
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_review_decision_is_applied_and_equals_a_rebuild(district, schemas, tmp_path):
    """The data team rejects a pair the model linked: the row becomes a person of its own."""
    row, linked_to, person = sql(
        district,
        "SELECT record_key, matched_to, person_id FROM core.links "
        "WHERE method = 'probabilistic' ORDER BY record_key LIMIT 1",
    )[0]
    record(Settings(schemas=schemas, data=district).decisions, row, linked_to, "reject", "tester")
    run(district, schemas)
    now = sql(district, "SELECT person_id, method FROM core.links WHERE record_key = ?", [row])[0]
    kept = sql(district, "SELECT count(*) FROM core.links WHERE person_id = ?", [person])[0][0]
    assert now[0] != person and now[1] == "alone" and kept > 0  # the person kept its id
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_changed_mapping_restages_that_source_alone(district, schemas, tmp_path):
    path = schemas / "sources" / "tuiyi_veterans.yaml"
    text = path.read_text(encoding="utf-8")
    assert "field: phone}" in text
    path.write_text(text.replace("field: phone}", "extension: tel}"), encoding="utf-8")
    doc = run(district, schemas)
    assert doc["link"]["fresh"] < doc["link"]["rows"] / 2
    left = sql(
        district,
        "SELECT count(*) FROM core.provenance WHERE source = 'tuiyi_veterans' AND field = 'phone'",
    )[0][0]
    assert left == 0
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_new_code_list_synonym_rejudges_the_rows_it_names(district, schemas, tmp_path):
    field, value, n = sql(
        district,
        "SELECT field, value, count(*) FROM quarantine.issues WHERE rule = 'code_unknown' "
        "AND field = 'ethnicity' AND value IS NOT NULL GROUP BY ALL ORDER BY 3 DESC, 2 LIMIT 1",
    )[0]
    path = schemas / "codelists" / "ethnicity.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["entries"][0].setdefault("synonyms", []).append(value)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    run(district, schemas)
    still = sql(
        district,
        "SELECT count(*) FROM quarantine.issues WHERE field = ? AND value = ?",
        [field, value],
    )[0][0]
    assert n > 0 and still == 0
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_borrowed_id_and_a_repeated_row_come_and_go_with_their_roster(
    district, schemas, tmp_path
):
    """What crosses batches: a roster row carrying another resident's ID (the ID stays its
    owner's) and a row said twice (linked as its first). Only the new roster's rows are
    featured; its correction takes both away again. Each run equals a full rebuild."""
    template = archived(district, "卫健_")
    owners = dict(
        sql(
            district,
            "SELECT citizen_id, person_id FROM core.person p WHERE citizen_id IS NOT NULL AND "
            "(SELECT count(DISTINCT batch_id) FROM core.links l WHERE l.person_id = p.person_id "
            "AND l.method = 'id' AND l.source <> 'weijian_elderly') >= 2",
        )
    )
    borrower: dict[str, str] = {}

    def borrow_and_repeat(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        i_id = next(i for i, h in enumerate(header) if "身份证" in h)
        i_name = next(i for i, h in enumerate(header) if "姓名" in h)
        row = next(r for r in rows[2:] if r[i_id].strip() in owners and r[i_name].strip())
        row[i_name] = "司马" + row[i_name].strip()[-1]  # someone else writes the owner's ID
        borrower.update(name=row[i_name], id=row[i_id].strip())
        return [*rows, list(rows[1])]  # the second row said twice

    name = template.name.split("_", 1)[1].replace(".csv", "（补报）.csv")
    rewrite_csv(template, district / "incoming" / name, borrow_and_repeat)
    doc = run(district, schemas)
    batch = next(r["batch_id"] for r in doc["loads"] if r["file"] == name)
    staged, repeated = sql(
        district,
        "SELECT (SELECT count(*) FROM staged.weijian_elderly WHERE _batch_id = ?), "
        "(SELECT count(*) FROM core.link_duplicates WHERE starts_with(record_key, ?))",
        [batch, f"weijian_elderly|{batch}|"],
    )[0]
    assert repeated == 1
    assert doc["link"]["featured"] == staged - 1 < doc["link"]["rows"] / 3
    method, evidence, person = sql(
        district,
        "SELECT l.method, l.evidence, l.person_id FROM core.links l JOIN staged.weijian_elderly s "
        "ON l.batch_id = s._batch_id AND l.source_row = s._source_row "
        "WHERE l.batch_id = ? AND s.name = ?",
        [batch, borrower["name"]],
    )[0]
    owner_id, owner = borrower["id"], owners[borrower["id"]]
    assert method != "id" and "借用" in evidence and person != owner
    assert sql(district, "SELECT citizen_id FROM core.person WHERE person_id = ?", [owner]) == [
        (owner_id,)
    ]
    assert_equals_full_rebuild(district, tmp_path, schemas)

    fixed = template.name.split("_", 1)[1].replace(".csv", "（补报更正）.csv")
    rewrite_csv(template, district / "incoming" / fixed, lambda header, rows: rows[::-1])
    doc = run(district, schemas)
    assert doc["link"]["featured"] < doc["link"]["rows"] / 3
    gone = sql(
        district,
        "SELECT (SELECT count(*) FROM core.link_duplicates WHERE starts_with(record_key, ?)), "
        "(SELECT count(*) FROM core.links WHERE batch_id = ?), "
        "(SELECT count(*) FROM core.link_features WHERE id_doubt IS NOT NULL AND id_text = ?)",
        [f"weijian_elderly|{batch}|", batch, owner_id],
    )[0]
    assert gone == (0, 0, 0)
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_kept_row_judged_otherwise_is_linked_again(district, schemas, tmp_path):
    """An ID one batch gave alone is written by a new file under another name: neither name
    has more batches, so the kept row, linked by the ID until now, no longer is (the run
    must redo that row's link although its batch did not change)."""
    kept_id, kept_batch, kept_row = sql(
        district,
        "SELECT citizen_id, any_value(batch_id), any_value(source_row) FROM core.links "
        "WHERE method = 'id' GROUP BY citizen_id HAVING count(*) = 1 ORDER BY citizen_id LIMIT 1",
    )[0]
    template = next(
        p
        for p in [*(district / "archive").rglob("*"), *(district.parent / "later").glob("*")]
        if p.name.split("_", 1)[-1].startswith("退役军人_")
    )

    def another_name(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        i_id = next(i for i, h in enumerate(header) if "身份证" in h)
        i_name = next(i for i, h in enumerate(header) if "姓名" in h)
        i_birth = next(i for i, h in enumerate(header) if "出生" in h)
        i_sex = next(i for i, h in enumerate(header) if "性别" in h)
        row = list(rows[0])
        row[i_id], row[i_name] = kept_id, "欧阳言"
        # the ID agrees with the row (else the row is no witness of whose the ID is)
        row[i_birth] = f"{kept_id[6:10]}-{kept_id[10:12]}-{kept_id[12:14]}"
        row[i_sex] = "男" if int(kept_id[16]) % 2 else "女"
        return [row]

    name = template.name.split("_", 1)[1].replace(".csv", "（增补）.csv")
    rewrite_csv(template, district / "incoming" / name, another_name)
    run(district, schemas)
    method, evidence = sql(
        district,
        "SELECT method, evidence FROM core.links WHERE batch_id = ? AND source_row = ?",
        [kept_batch, kept_row],
    )[0]
    assert method != "id" and "无法确定号码属于谁" in evidence
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_killed_incremental_run_leaves_the_release_readable(district, schemas, tmp_path):
    """Killed at several points of a run with new data: readers still get the last release,
    and the next run gives what a full rebuild gives."""
    settings = Settings(schemas=schemas, data=district)
    people = sql(
        district,
        "SELECT person_id, community_code, name, citizen_id FROM core.person "
        "WHERE community_code IS NOT NULL AND citizen_id IS NOT NULL ORDER BY person_id DESC LIMIT 5",
    )
    env = {**os.environ, "HUB_DATA": str(district), "HUB_SCHEMAS": str(schemas)}
    for i, delay in enumerate((4.5, 6.0, 7.5)):
        pid, comm, name, cid = people[i]
        values = {"name": name, "citizen_id": cid, "phone": f"1377777{i:04d}"}
        append(settings.submissions, Submission("staff", comm, values, pid, changed=["phone"]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--no-gx"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        current = read_current(district / "published")
        person = dataset_sql(district / "published", "person", current)
        rows = duckdb.connect().execute(f"SELECT count(*) FROM ({person})").fetchall()
        assert rows[0][0] > 400
    run(district, schemas)
    assert_equals_full_rebuild(district, tmp_path, schemas)


KILL_AT = """
import os, sys
import {module} as m
calls = [0]
orig = m.{func}
def killed(*a, **k):
    out = orig(*a, **k)
    calls[0] += 1
    if calls[0] == {nth}:
        os._exit(9)
    return out
m.{func} = killed
sys.argv = ["hub", "run", "--no-gx"]
from hub.cli.main import main
main()
"""


@pytest.mark.parametrize(
    ("module", "func", "nth", "stage"),
    [
        ("hub.link.run", "refresh_nodes", 1, "link"),  # features and nodes changed, links not
        ("hub.link.run", "assign_ids", 1, "link"),  # the person store changed, links not
        ("hub.core.golden", "_replace", 1, "core"),  # core.person changed, choices not
    ],
)
def test_a_run_killed_inside_a_stage_has_it_redone_whole(
    district, schemas, tmp_path, module, func, nth, stage
):
    settings = Settings(schemas=schemas, data=district)
    pid, comm, name, cid = sql(
        district,
        "SELECT person_id, community_code, name, citizen_id FROM core.person "
        "WHERE community_code IS NOT NULL AND citizen_id IS NOT NULL "
        f"ORDER BY hash(person_id || '{func}') LIMIT 1",
    )[0]
    values = {"name": name, "citizen_id": cid, "phone": f"1366666{len(func):04d}"}
    append(settings.submissions, Submission("staff", comm, values, pid, changed=["phone"]))
    env = {**os.environ, "HUB_DATA": str(district), "HUB_SCHEMAS": str(schemas)}
    code = KILL_AT.format(module=module, func=func, nth=nth)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    left = sql(district, "SELECT stage FROM core._unfinished")
    assert left == [(stage,)]
    run(district, schemas)
    assert sql(district, "SELECT count(*) FROM core._unfinished")[0][0] == 0
    assert sql(district, "SELECT phone FROM core.person WHERE person_id = ?", [pid]) == [
        (values["phone"],)
    ]
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_an_accepted_correction_outranks_its_authority_until_it_sends_another_value(
    district, schemas, tmp_path
):
    """纠错回流: a worker's correction of a 公安-held 民族, accepted by 公安, stands while 公安
    keeps sending the old value; corrected again, the second replaces the first; a new value
    from 公安 wins again. Each time equal to a rebuild."""
    reg = load_registry(schemas)
    code = {e.label: e.code for e in reg.codelists["ethnicity"].entries}
    roster = archived(district, "公安_")
    written: list[str] = []  # the IDs the register writes as they are (the sample's are messy)

    def keep(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        written.extend(r[header.index("公民身份号码")] for r in rows)
        return rows

    rewrite_csv(roster, tmp_path / "ids.csv", keep)
    (pid, cid, name_, community), *_ = sql(
        district,
        "SELECT p.person_id, p.citizen_id, p.name, p.community_code FROM core.person p "
        "JOIN core.provenance v USING (person_id) WHERE v.field = 'ethnicity' AND v.selected "
        "AND v.source = 'gongan_household' AND p.ethnicity = ? AND p.community_code IS NOT NULL "
        "AND list_contains(?, p.citizen_id) ORDER BY p.citizen_id LIMIT 1",
        [code["汉族"], written],
    )
    s = Settings(schemas=schemas, data=district)
    form = derive_form(reg)
    person = {"person_id": pid, "name": name_, "citizen_id": cid, "ethnicity": code["汉族"]}
    req = file_correction(
        s.requests,
        reg,
        form,
        person,
        "ethnicity",
        code["回族"],
        "户口簿为回族",
        "w1",
        community,
        "gongan_household",
    )
    assert req.to_unit == "公安分局"
    hub_cli(["corrections", "accept", req.id[:10]], district, schemas)
    doc = run(district, schemas)
    assert doc["core"]["touched"] == 1  # the corrected resident alone
    ethnicity = "SELECT ethnicity FROM core.person WHERE person_id = ?"
    assert sql(district, ethnicity, [pid]) == [(code["回族"],)]
    chosen = sql(
        district,
        "SELECT source FROM core.provenance WHERE person_id = ? AND field = 'ethnicity' "
        "AND selected",
        [pid],
    )
    assert chosen == [("correction",)]
    assert_equals_full_rebuild(district, tmp_path, schemas)
    # corrected again: the second correction replaces the first (公安 still sends 汉族)
    again = file_correction(
        s.requests,
        reg,
        form,
        person | {"ethnicity": code["回族"]},
        "ethnicity",
        code["蒙古族"],
        "再次核对户口簿",
        "w1",
        community,
        "correction",
    )
    assert again.payload["old"] == code["汉族"] and again.payload["old_shown"] == "回族"
    hub_cli(["corrections", "accept", again.id[:10]], district, schemas)
    run(district, schemas)
    assert sql(district, ethnicity, [pid]) == [(code["蒙古族"],)]

    def sends(label: str):
        def change(header: list[str], rows: list[list[str]]) -> list[list[str]]:
            i_id, i_eth = header.index("公民身份号码"), header.index("民族")
            for r in rows:
                if r[i_id] == cid:
                    r[i_eth] = label
            return rows

        return change

    # 公安 sends its whole register again, 汉族 unchanged: the correction stands
    rewrite_csv(roster, district / "incoming" / "公安_户籍人口花名册_202601.csv", sends("汉族"))
    run(district, schemas)
    assert sql(district, ethnicity, [pid]) == [(code["蒙古族"],)]
    # then a value of its own: the authority's newer value wins again
    rewrite_csv(roster, district / "incoming" / "公安_户籍人口花名册_202602.csv", sends("满族"))
    run(district, schemas)
    assert sql(district, ethnicity, [pid]) == [(code["满族"],)]
    assert_equals_full_rebuild(district, tmp_path, schemas)


def test_a_rerun_with_nothing_new_stages_nothing(district, schemas):
    doc = run(district, schemas)
    assert doc["published"]["changed"] == []
    assert sql(district, "SELECT count(*) FROM staged._stage_state")[0][0] >= 5


def archived(data: Path, prefix: str) -> Path:
    """The archived file of the department whose files start with `prefix`."""
    return next(
        p for p in (data / "archive").rglob("*") if p.name.split("_", 1)[-1].startswith(prefix)
    )


def _staged_batches(data: Path) -> list[str]:
    return [r[0] for r in sql(data, "SELECT batch_id FROM staged._staged_batches")]


def test_core_built_in_many_parts_equals_core_built_in_one(
    district, schemas, tmp_path, monkeypatch
):
    """A city's survivorship runs bucket by bucket and writes core in parts: with buckets of
    a few dozen rows and parts of a few dozen persons, core is what one part gives."""
    from hub.core import golden
    from hub.registry.loader import load_registry
    from hub.unfinished import begin
    from hub.warehouse import connect

    def rebuilt(folder: str) -> dict[str, list[tuple]]:
        copy = tmp_path / folder
        shutil.copytree(district, copy)
        con = connect(copy / "warehouse.duckdb")
        try:
            begin(con, "core")  # as after a killed run: core is rebuilt whole
            golden.build_core(con, load_registry(schemas))
            return {
                t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("core.person", "core.choice", "core.provenance", "core.conflicts")
            }
        finally:
            con.close()

    one = rebuilt("one")
    monkeypatch.setattr(golden, "BUCKET_ROWS", 37)
    monkeypatch.setattr(golden, "PART_PERSONS", 41)
    many = rebuilt("many")
    assert one["core.person"] and one["core.conflicts"]
    assert many == one


def test_persons_of_one_row_are_chosen_as_the_aggregate_chooses(district, schemas, tmp_path):
    """A person of one linked row skips the survivorship aggregate: core.person and
    core.choice are what the aggregate gives when every row is there twice (then no person
    has one row, and a row said twice changes no choice)."""
    from hub.core import golden
    from hub.core.observations import observed_fields
    from hub.registry.loader import load_registry
    from hub.warehouse import connect

    copy = tmp_path / "copy"
    shutil.copytree(district, copy)
    con = connect(copy / "warehouse.duckdb")
    try:
        (single,) = con.execute(
            "SELECT count(*) FROM (SELECT person_id FROM core.observed GROUP BY 1 "
            "HAVING count(*) = 1)"
        ).fetchone()
        assert single > 100  # most of the sample's persons are in one roster only

        def core() -> list[list[tuple]]:
            return [
                sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("core.person", "core.choice")
            ]

        fields = observed_fields(load_registry(schemas))
        # and a person whose only row gives no value (no source, no date observed)
        con.execute(
            "INSERT INTO core.observed SELECT * REPLACE ('P-EMPTY' AS person_id"
            + "".join(f", NULL AS {f.name}" for f in fields)
            + ") FROM core.observed LIMIT 1"
        )
        golden._person_and_choice(con, fields, None, "core.observed")
        shortcut = core()
        assert con.execute(
            "SELECT sources, last_observed_at FROM core.person WHERE person_id = 'P-EMPTY'"
        ).fetchall() == [(None, None)]
        con.execute(
            "CREATE TEMP TABLE doubled AS SELECT * FROM core.observed "
            "UNION ALL SELECT * FROM core.observed"
        )
        golden._person_and_choice(con, fields, None, "doubled")
        assert core() == shortcut
    finally:
        con.close()
