"""Reading department files as exported: encodings, title rows, merged headers, footers,
row numbers a user can find, idempotent loads and kept originals."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from hub.ingest.encoding import EncodingError, detect_encoding
from hub.ingest.raw import load_incoming
from hub.ingest.read import ReadError, read_file
from hub.warehouse import connect

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _truth_first_rows() -> dict[str, int]:
    with (SAMPLE / "truth" / "rows.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, int] = {}
    for r in rows:
        out[r["file"]] = min(out.get(r["file"], 10**9), int(r["source_row"]))
    return out


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.*")), ids=lambda p: p.name)
def test_sample_files_read_with_registered_headers(path, registry):
    ft = read_file(path)
    src = next(
        s
        for s in registry.sources.values()
        if path.name.startswith(s.file_pattern[0].split("*")[0])
    )
    assert ft.headers == [c.header for c in src.columns]
    first = ft.table.column("_source_row")[0].as_py()
    assert first == _truth_first_rows()[path.name]
    truth_rows = sum(
        1
        for r in csv.DictReader((SAMPLE / "truth" / "rows.csv").open(encoding="utf-8"))
        if r["file"] == path.name
    )
    assert ft.table.num_rows == truth_rows


def test_title_merged_header_and_footer_of_the_dibao_roster():
    ft = read_file(next(SAMPLE.glob("民政_*.xlsx")))
    assert ft.header.row == 3 and ft.header.rows == 2
    assert "家庭成员信息/身份证号码" in ft.headers and "保障信息/保障类别" in ft.headers
    assert len(ft.dropped_footer) == 2  # 合计 and 填表人 rows
    assert not any("合计" in (v or "") for v in ft.table.column("序号").to_pylist())


def test_encodings_are_detected():
    text = "姓名,身份证号\n张三,110105194912310021\n"
    assert detect_encoding(text.encode("gb18030")) == "gb18030"
    assert detect_encoding(text.encode("gbk")) == "gb18030"
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode()) == "utf-8-sig"
    assert detect_encoding(text.encode("utf-16")) == "utf-16"
    with pytest.raises(EncodingError):
        detect_encoding(b"\xff\x00\xfe\x81\x30")


def test_gb18030_csv_reads_and_a_wrong_declared_encoding_is_detected_not_trusted(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        "姓名,身份证号码,性别\n張三,11010519491231002X,男\n李四,110105491231002,女\n".encode(
            "gb18030"
        )
    )
    ft = read_file(path)
    assert ft.encoding == "gb18030" and ft.table.column("姓名").to_pylist() == ["張三", "李四"]
    assert ft.notes == []
    declared_utf8 = read_file(path, encoding="utf-8")
    assert declared_utf8.table.column("姓名").to_pylist() == ["張三", "李四"]
    assert declared_utf8.notes == ["文件编码为 gb18030，与登记的 utf-8 不同，已按 gb18030 读取"]
    path.write_bytes("姓名,性别\n张三,男\n".encode())
    assert read_file(path, encoding="gb18030").encoding == "utf-8"  # valid UTF-8 wins
    path.write_bytes(b"\x81\x30\xff\xfe\xfd,\x80\x80\n")
    with pytest.raises(ReadError, match=r"roster\.csv.*无法识别文件编码"):
        read_file(path)


def test_footer_rows_in_csv_with_fewer_cells_are_dropped_not_data(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "某某花名册\n姓名,身份证号码,电话\n张三,11010519491231002X,13812345678\n\n"
        "李四,110105491231002,13812345679\n合计,2人\n填表人：王丽,,\n",
        encoding="utf-8",
    )
    ft = read_file(path)
    assert ft.table.column("姓名").to_pylist() == ["张三", "李四"]
    assert ft.table.column("_source_row").to_pylist() == [3, 5]
    assert ft.dropped_footer == [6, 7] and ft.blank_rows == 1


def test_sheet_that_starts_below_row_one_keeps_excel_row_numbers(tmp_path):
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("名单")
    ws.write_row(3, 1, ["姓名", "身份证号码", "出生日期"])
    ws.write_row(4, 1, ["张三", "11010519491231002X"])
    ws.write_number(4, 3, 18263)
    wb.close()
    ft = read_file(path)
    assert ft.header.row == 4
    assert ft.table.column("_source_row").to_pylist() == [5]
    assert ft.table.column("出生日期").to_pylist() == ["18263"]
    with pytest.raises(ReadError, match="没有工作表「花名册」"):
        read_file(path, sheet="花名册")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def test_loading_the_same_file_twice_is_a_no_op_and_the_original_is_archived(
    tmp_path, registry, monkeypatch
):
    from hub.ingest import raw

    incoming, archive = tmp_path / "incoming", tmp_path / "archive"
    incoming.mkdir()
    src_file = next(SAMPLE.glob("退役军人_*.csv"))
    shutil.copy(src_file, incoming)
    con = connect(tmp_path / "w.duckdb")
    first = load_incoming(con, registry, incoming, archive)
    assert [r.status for r in first] == ["loaded"]
    rows = _count(con, "SELECT count(*) FROM raw.tuiyi_veterans")
    shutil.copy(src_file, incoming)
    # known bytes are not parsed again (a city's roster sent twice)
    monkeypatch.setattr(raw, "read_file", lambda *a, **k: pytest.fail("已加载的文件又被解析"))
    second = load_incoming(con, registry, incoming, archive)
    assert [r.status for r in second] == ["duplicate"]
    assert _count(con, "SELECT count(*) FROM raw.tuiyi_veterans") == rows
    assert _count(con, "SELECT count(*) FROM raw._batches") == 1
    kept = list((archive / "tuiyi_veterans").iterdir())
    assert len(kept) == 1
    assert (
        hashlib.sha256(kept[0].read_bytes()).digest()
        == hashlib.sha256(src_file.read_bytes()).digest()
    )


def test_unreadable_files_are_set_aside_and_unregistered_ones_stay(tmp_path, registry):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "民政_城市低保花名册_202511.xlsx").write_bytes(b"not really a workbook")
    (incoming / "不认识的表.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    con = connect(tmp_path / "w.duckdb")
    results = {r.file: r for r in load_incoming(con, registry, incoming, tmp_path / "archive")}
    assert results["民政_城市低保花名册_202511.xlsx"].status == "rejected"
    assert "民政_城市低保花名册_202511.xlsx" in results["民政_城市低保花名册_202511.xlsx"].message
    assert results["不认识的表.csv"].status == "unmatched"
    assert sorted(p.name for p in incoming.iterdir() if p.is_file()) == ["不认识的表.csv"]
    (kept,) = (incoming / "rejected").glob("*_民政_城市低保花名册_202511.xlsx")
    assert kept.read_bytes() == b"not really a workbook"  # nothing lost
    assert (incoming / "rejected" / (kept.name + ".reason.txt")).exists()
    # the next load does not try it again
    assert load_incoming(con, registry, incoming, tmp_path / "archive")[0].status == "unmatched"


def test_ragged_csv_rows_keep_their_place_and_every_cell(tmp_path):
    """A title padded with commas, a stray extra cell, a quoted comma and line break, a BOM."""
    path = tmp_path / "t.csv"
    path.write_bytes(
        (
            "\ufeff某某社区花名册,,,,\n"
            "姓名,身份证号码,现住址\n"
            '张三,11010519491231002X,"幸福路1号,2单元"\n'
            "李四,110105491231002,和平路3号,多出来的一格\n"
            '王五,330102195001011236,"胜利路\n5号"\n'
            "合计,3人\n"
        ).encode("utf-8")
    )
    ft = read_file(path)
    assert ft.encoding == "utf-8-sig" and ft.header.row == 2
    assert ft.headers == ["姓名", "身份证号码", "现住址", "第4列"]
    assert ft.table.column("_source_row").to_pylist() == [3, 4, 5]
    assert ft.table.column("现住址").to_pylist() == ["幸福路1号,2单元", "和平路3号", "胜利路\n5号"]
    assert ft.table.column("第4列").to_pylist() == [None, "多出来的一格", None]
    assert ft.dropped_footer == [6]


def test_encoding_detection_on_a_prefix_that_cuts_a_character(tmp_path):
    text = "姓名,现住址\n" + "张三,幸福路1号\n" * 200_000
    data = text.encode("gb18030")
    cut = next(n for n in range(1 << 20, (1 << 20) + 4) if data[:n].decode("gb18030", "ignore"))
    assert detect_encoding(data[:cut], complete=False) == "gb18030"
    utf8 = text.encode("utf-8")
    assert detect_encoding(utf8[: (1 << 20) + 1], complete=False) == "utf-8"
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    ft = read_file(path)
    assert ft.encoding == "gb18030" and ft.table.num_rows == 200_000


def test_ascii_prefix_then_chinese_further_down_is_still_gb18030(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(("name,id\n" + "a,1\n" * 300_000 + "张三,2\n").encode("gb18030"))
    ft = read_file(path)
    assert ft.encoding == "gb18030" and ft.table.column("name").to_pylist()[-1] == "张三"


def test_a_sparse_group_row_over_many_columns_is_still_the_header():
    from hub.ingest.header import detect_header

    title = ["某某花名册", *[None] * 9]
    top = ["序号", "家庭成员信息", None, None, None, "保障信息", None, None, None, "备注"]
    below = [None, "姓名", "性别", "身份证号码", "出生日期", "类别", "证号", "人数", "金额", None]
    data = [
        "1",
        "张三",
        "男",
        "330102199001011234",
        "1990-01-01",
        "城市低保",
        "QH1",
        "3",
        "500",
        "x",
    ]
    assert detect_header([title, top, below, data, data]) == (1, 2)


def test_a_few_lines_in_another_encoding_are_marked_across_megabyte_pieces():
    """The encoding checks read a megabyte of lines at a time: lines in another encoding are
    marked wherever they fall, and a file wholly in another encoding is turned down."""
    from hub.ingest.encoding import _mostly, _utf8_lines, decode

    lines = [f"{i},张三{i},幸福路{i}号" for i in range(120_000)]  # about 3 MB
    odd = {5, 60_000, 119_999}  # first piece, a middle one, the last line (no newline)
    utf8 = "\n".join(lines).encode("utf-8")
    mixed = b"\n".join(
        (line.encode("gb18030") if i in odd else line.encode("utf-8"))
        for i, line in enumerate(lines)
    )
    text, enc = decode(Path("x.csv"), mixed, "auto")
    assert enc == "utf-8"
    out = text.split("\n")
    assert [i for i, line in enumerate(out) if line.startswith("\ufffd")] == sorted(odd)
    assert out[4] == lines[4] and len(out) == len(lines)
    gb = "\n".join(lines).encode("gb18030")
    assert _mostly(gb, "utf-8") is None
    # UTF-8 lines pasted into a GB18030 file: found in place, and shown readable (marked)
    pasted = b"\n".join(
        (line.encode("utf-8") if i in odd else line.encode("gb18030"))
        for i, line in enumerate(lines)
    )
    assert [i for i, _ in _utf8_lines(pasted)] == sorted(odd)
    assert _utf8_lines(gb) == [] and _utf8_lines(utf8[:0]) == []
    text, enc = decode(Path("x.csv"), pasted, "auto")
    assert enc == "gb18030"
    assert text.split("\n")[60_000] == "\ufffd60000,\ufffd张三60000,\ufffd幸福路60000号"


@pytest.mark.parametrize("budget, most", [(10**9, 2), (100, 1)])
def test_files_are_read_ahead_in_order_within_the_byte_budget(tmp_path, monkeypatch, budget, most):
    """Files are read two at a time while their bytes fit READ_AHEAD_BYTES (a file bigger
    than it is read alone), and handed over in name order whatever finishes first."""
    import threading
    import time

    from hub.ingest import raw

    paths = []
    for i in range(6):
        p = tmp_path / f"{i}.csv"
        p.write_bytes(b"x" * 1000)
        paths.append(p)
    lock, now, peak = threading.Lock(), [0], [0]

    def fake_read(registry, src, path, seen):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.05 if path.name != "0.csv" else 0.2)  # the first finishes last
        with lock:
            now[0] -= 1
        return raw._Read(path.read_bytes(), path.name)

    monkeypatch.setattr(raw, "_read", fake_read)
    monkeypatch.setattr(raw, "READ_AHEAD_BYTES", budget)
    got = [r.sha for r in raw._read_ahead(None, [(None, p) for p in paths])]
    assert got == [p.name for p in paths]
    assert peak[0] == most
