"""A registered table's next file differs from its registration: the load says how, loads what
it can and loses nothing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import duckdb

from tests.conftest import REPO, hub_cli

VETERANS = next((REPO / "data" / "sample").glob("退役军人_*.csv"))
NEXT_FILE = "退役军人_信息采集表_202511.csv"


def _rows() -> tuple[list[str], list[list[str]]]:
    with VETERANS.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]], encoding="utf-8", title=None):
    buf = io.StringIO()
    w = csv.writer(buf)
    if title:
        w.writerow([title])
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _drop(header: list[str], rows: list[list[str]], name: str):
    i = header.index(name)
    return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]


def _run(home) -> tuple[dict, subprocess.CompletedProcess[str]]:
    proc = hub_cli(["run", "--no-gx", "--json"], home.data, home.schemas, check=False)
    return json.loads(proc.stdout), proc


def _sql(home, query: str):
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def test_added_column_is_kept_and_proposed(hub_home):
    header, rows = _rows()
    _write(
        hub_home.incoming / NEXT_FILE,
        [*header, "手机号码2", "微信号"],
        [[*r, f"1370000{i:04d}", f"wx{i}"] for i, r in enumerate(rows)],
    )
    summary, _ = _run(hub_home)
    load = summary["loads"][0]
    assert load["status"] == "loaded" and load["rows"] == len(rows)
    notes = "\n".join(load["notes"])
    assert "新增列「微信号」已保留在原始层，建议作为扩展列登记" in notes
    assert "新增列「手机号码2」已保留在原始层，建议映射为 phone" in notes
    assert "已由「联系电话」列提供" in notes
    kept = _sql(hub_home, 'SELECT count("微信号") FROM raw.tuiyi_veterans')[0][0]
    assert kept == len(rows)


def test_dropped_optional_column_loads_the_rest(hub_home):
    header, rows = _drop(*_rows(), "工作单位")
    _write(hub_home.incoming / NEXT_FILE, header, rows)
    summary, _ = _run(hub_home)
    load = summary["loads"][0]
    assert load["status"] == "loaded" and load["rows"] == len(rows)
    assert "缺少登记的非必填列：工作单位（其余列照常加载）" in load["notes"]
    staged = _sql(hub_home, "SELECT count(*), count(phone) FROM staged.tuiyi_veterans")[0]
    assert staged[0] > 0.9 * len(rows) and staged[1] > 0.9 * len(rows)


def test_dropped_required_column_rejects_the_file_and_keeps_it(hub_home):
    header, rows = _drop(*_rows(), "身份证号")
    path = hub_home.incoming / NEXT_FILE
    _write(path, header, rows)
    original = path.read_bytes()
    summary, proc = _run(hub_home)
    load = summary["loads"][0]
    assert proc.returncode == 1 and load["status"] == "rejected"
    assert "缺少必填列：身份证号" in load["message"] and "rejected/" in load["message"]
    assert not path.exists()  # set aside, not retried at every run, and nothing lost:
    (kept,) = (hub_home.incoming / "rejected").glob(f"*_{NEXT_FILE}")
    assert kept.read_bytes() == original
    assert "缺少必填列" in kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
    assert _sql(hub_home, "SELECT count(*) FROM raw._rejections")[0][0] == 1
    assert _sql(hub_home, "SELECT count(*) FROM raw._batches")[0][0] == 0


def test_renamed_column_loads_under_its_field_and_says_so(hub_home):
    header, rows = _rows()
    header = ["手机号码" if h == "联系电话" else h for h in header]
    _write(hub_home.incoming / NEXT_FILE, header, rows)
    summary, _ = _run(hub_home)
    load = summary["loads"][0]
    assert load["status"] == "loaded"
    assert any(
        n.startswith("列「联系电话」在本文件中名为「手机号码」，已按 phone 加载")
        for n in load["notes"]
    )
    phones = _sql(hub_home, "SELECT count(phone) FROM staged.tuiyi_veterans")[0][0]
    assert phones > 0.9 * len(rows)
    renamed = _sql(hub_home, "SELECT renamed_columns FROM raw._batches")[0][0]
    assert renamed == [{"registered": "联系电话", "in_file": "手机号码"}]
    # a problem in the renamed column points at the header the department's file used
    headers = _sql(
        hub_home, "SELECT DISTINCT column_header FROM quarantine.issues WHERE field = 'phone'"
    )
    assert headers in ([], [("手机号码",)])


def test_changed_encoding_and_header_row_are_detected_not_trusted(hub_home):
    path = hub_home.schemas / "sources" / "tuiyi_veterans.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("encoding: auto", "encoding: utf-8").replace(
        "header: auto", "header: {row: 1, rows: 1}"
    )
    path.write_text(text, encoding="utf-8")
    header, rows = _rows()
    _write(
        hub_home.incoming / NEXT_FILE, header, rows, encoding="gb18030", title="退役军人信息采集表"
    )
    summary, _ = _run(hub_home)
    load = summary["loads"][0]
    assert load["status"] == "loaded" and load["rows"] == len(rows)
    assert "文件编码为 gb18030，与登记的 utf-8 不同，已按 gb18030 读取" in load["notes"]
    assert any(n.startswith("表头位置与登记不同：登记为第 1 行") for n in load["notes"])
    names = {r[0] for r in _sql(hub_home, "SELECT name FROM staged.tuiyi_veterans")}
    assert {r[1].replace(" ", "") for r in rows} & names  # decoded right, not mojibake
