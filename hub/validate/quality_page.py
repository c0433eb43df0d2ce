"""The data docs as one self-contained page in Chinese: every staged table's expectations and
their latest results, readable offline (no scripts, styles or fonts from anywhere else).

GX's own data docs load their scripts and styles from CDNs, which a district's network often
cannot reach; this page is written by the hub from the results GX returned.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import duckdb

from hub.atomic import write_text
from hub.registry.loader import Registry
from hub.validate.expectations import ROWS_PRESENT
from hub.validate.gx_session import summary
from hub.validate.staged_checks import check_specs

_STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #dde;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef2f7}.ok{color:#1b5e20}.bad{color:#b00020;font-weight:bold}.warn{color:#a15c00}
.num{text-align:right}.summary{background:#f6f8fa;padding:.6em}
"""


def docs_index(data: Path) -> Path:
    """Where the quality page lives (beside GX's own project folder)."""
    return data / "gx" / "index.html"


def write_quality_page(con: duckdb.DuckDBPyConnection, registry: Registry, data: Path) -> Path:
    """Render the latest results of every suite to `docs_index(data)` (atomically)."""
    rows = [r[:5] + r[6:] for r in summary(con)]  # without guards_publish
    path = docs_index(data)
    write_text(path, _render(registry, rows))
    return path


def _render(registry: Registry, rows: list[tuple[object, ...]]) -> str:
    failed = sum(1 for r in rows if not r[5])
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>数据质量报告</title><style>{_STYLE}</style></head><body>",
        "<h1>数据质量报告（Great Expectations 校验结果）</h1>",
        f'<p class="summary">共 {len(rows)} 项期望，未通过 <b>{failed}</b> 项。'
        f"生成时间：{datetime.now():%Y-%m-%d %H:%M:%S}。每条规则与 Dagster 中同名检查判定的是同一批行"
        "（归集保留的行），结论一致；行数多时 GX 复核全部被规则判为不符合的行和固定抽取的部分合格行。</p>",
    ]
    by_source: dict[str, list[tuple[object, ...]]] = {}
    for r in rows:
        by_source.setdefault(str(r[0]), []).append(r)
    for source, items in by_source.items():
        src = registry.sources.get(source)
        title = f"{src.department}《{src.title}》" if src else source
        labels = {c.name: c.description for c in check_specs(registry, source)} if src else {}
        parts.append(f"<h2>{_e(title)}（staged.{_e(source)}）</h2>")
        parts.append(
            '<table class="validations"><thead><tr><th>规则</th><th>GX 期望</th><th>级别</th>'
            '<th>结果</th><th class="num">不符合的行</th><th class="num">校验行数</th>'
            "<th>校验时间</th></tr></thead><tbody>"
        )
        for _, kind, _col, rule, severity, success, unexpected, elements, at, kept in items:
            label = "表中有数据" if rule == ROWS_PRESENT else labels.get(str(rule), str(rule))
            level = "错误" if severity == "error" else "警告"
            verdict = (
                '<td class="ok">通过</td>'
                if success
                else f'<td class="{"bad" if severity == "error" else "warn"}">未通过</td>'
            )
            parts.append(
                f"<tr><td>{_e(label)}<br><small>{_e(rule)}</small></td><td>{_e(kind)}</td>"
                f"<td>{level}</td>{verdict}<td class=num>{_n(unexpected)}</td>"
                f"<td class=num>{_checked(elements, kept)}</td><td>{_e(at)}</td></tr>"
            )
        parts.append("</tbody></table>")
    if not rows:
        parts.append("<p>尚未运行校验：请先运行 hub run。</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _checked(elements: object, kept: object) -> str:
    """Rows GX judged; where that was a sample, of how many."""
    if kept is None or elements is None or int(str(kept)) <= int(str(elements)):
        return _n(elements)
    return f"{_n(elements)}<br><small>抽样：全部违规行与部分合格行，共 {_n(kept)} 行</small>"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _n(value: object) -> str:
    return "" if value is None else f"{int(str(value)):,}"
