"""Rich tables for what the pipeline did and what the warehouse holds."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from hub.cli.context import console
from hub.pipeline import RunSummary

STATUS_LABEL = {
    "loaded": "已加载",
    "held": "暂缓采用",
    "duplicate": "已加载过",
    "rejected": "拒收",
    "unmatched": "未登记",
}


def summary_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "loads": [
            {
                "file": r.file,
                "status": r.status,
                "source": r.source,
                "batch_id": r.batch_id,
                "rows": r.rows,
                "message": r.message,
                "notes": r.notes,
            }
            for r in summary.loads
        ],
        "stages": [s.__dict__ for s in summary.stages],
        "checks_failed": [
            {
                "source": src,
                "check": c.name,
                "severity": c.severity,
                "blocking": c.guards_publish,
                "flagged": c.flagged,
                "staged_violations": c.staged_violations,
            }
            for src, cs in summary.checks.items()
            for c in cs
            if not c.passed
        ],
        "expectations_failed": [
            {"source": src, **e}
            for src, es in summary.expectations.items()
            for e in es
            if not e["success"]
        ],
        "link": summary.link.__dict__ if summary.link else None,
        "core": summary.core.__dict__ if summary.core else None,
        "published": summary.published.__dict__ if summary.published else None,
        "blocked": summary.blocked,
        "held": [b.__dict__ for b in summary.held],
        "seconds": summary.seconds,
        "peak_mb": summary.peak_mb,
    }


def print_loads(summary: RunSummary) -> None:
    if not summary.loads:
        console.print("没有新文件需要加载。")
        return
    t = Table(title="文件加载", show_lines=False)
    for col in ("文件", "来源", "结果", "行数", "说明"):
        t.add_column(col)
    for r in summary.loads:
        note = "；".join([r.message, *r.notes]) if r.status != "loaded" else "；".join(r.notes)
        t.add_row(r.file, r.source or "-", STATUS_LABEL.get(r.status, r.status), str(r.rows), note)
    console.print(t)


def print_status(doc: dict[str, Any]) -> None:
    t = Table(title="各来源数据状态")
    for col in ("来源", "部门", "批次", "原始行", "入库行", "隔离行", "警告行"):
        t.add_column(col, justify="right" if col not in ("来源", "部门") else "left")
    for s in doc["sources"]:
        t.add_row(
            s["source"],
            s["department"],
            str(s["batches"]),
            str(s["rows"]),
            str(s["staged"]),
            str(s["quarantine"]),
            str(s["warnings"]),
        )
    console.print(t)
    for b in doc.get("held", []):
        console.print(
            f"[bold yellow]暂缓采用[/] {b['source']} 的批次 {b['batch_id']}（{b['file_name']}，"
            f"{b['rows']} 行）：{b['reason']}"
        )
    pub = doc.get("published")
    pub_text = f"第 {pub['release']} 版（{pub['published_at']}）" if pub else "尚未发布"
    console.print(
        f"居民（一人一档）：[bold]{doc['persons']}[/] 人；来源不一致的字段：{doc['conflicts']} 处；"
        f"发布：{pub_text}"
    )
    k = doc.get("linkage")
    if k:
        console.print(
            f"关联：按身份证号码 {k['by_id']} 行；概率匹配 {k['probabilistic']} 行"
            f"（人工确认 {k['reviewed']} 行）；未匹配、单独成人 {k['alone']} 行；"
            f"待人工复核 [bold]{k['review_pairs']}[/] 对（hub review）"
        )
        if k.get("duplicates"):
            console.print(f"重复行：{k['duplicates']} 行与同一文件中的另一行完全相同，已随该行关联")
        if k.get("capped"):
            console.print(
                f"[bold yellow]{k['capped']} 行[/]所在的比对块过大（如许多记录同用一个电话），"
                "未能自动比对，单独成人：请人工核对（hub review --capped）"
            )


def print_run(summary: RunSummary, doc: dict[str, Any]) -> None:
    print_loads(summary)
    print_status(doc)
    failed = [(src, c) for src, cs in summary.checks.items() for c in cs if not c.passed]
    if failed:
        t = Table(title="校验提示（详见 quarantine.issues）")
        for col in ("来源", "检查", "级别", "标记行"):
            t.add_column(col)
        for src, c in failed:
            t.add_row(
                src,
                c.description,
                "错误（已隔离）" if c.severity == "error" else "警告",
                str(c.flagged),
            )
        console.print(t)
    for b in summary.held:
        console.print(
            f"[bold yellow]暂缓采用[/] {b.source} 的批次 {b.batch_id}（{b.file_name}）：{b.reason}。"
            f"决定：hub batch release {b.batch_id} 或 hub batch reject {b.batch_id} --reason …"
        )
    if summary.blocked:
        console.print("[bold red]未发布：[/]" + "；".join(summary.blocked))
    elif summary.published and summary.published.changed:
        console.print(
            f"[green]已发布第 {summary.published.release} 版：{'、'.join(summary.published.changed)}[/]"
        )
    elif summary.published:
        console.print(f"数据未变化，沿用第 {summary.published.release} 版发布。")
