"""Proposals of new reports (报表准入申请) and the 减负办's decisions on them.

A proposal is a request in the one request store (`hub.requests`): from the department, to the
district's 减负办, with the analysis of its draft as payload and the draft kept beside it. The
administrator approves it (the report enters `schemas/reports/` as data, each genuinely new
column a new field of `fields.yaml`), rejects it with a reason, or answers it with a share grant
(改为共享) when the hub already holds every field. Registry files are written only if the whole
registry still loads with them, and put back as they were if it does not.
"""

from __future__ import annotations

import fcntl
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from hub.atomic import write_text
from hub.mapping.register import extension_name
from hub.registry.files import DEFAULTS
from hub.registry.loader import Registry, load_registry
from hub.registry.models import _NAME, NORMALIZERS_BY_TYPE
from hub.reports.proposal import TYPE_LABEL, Analysis
from hub.requests import STATUS, Request, decide, file_request, requests
from hub.settings import Settings

KIND = "report_proposal"
ADMIN = "减负办"  # the district's office for reducing the grassroots' burden: decides proposals
NORMALIZER = {t: "text" if t == "string" else t for t in NORMALIZERS_BY_TYPE}
SHARE_DAYS = 365  # a share granted instead of a report: reviewed again after a year


class ProposalError(ValueError):
    pass


def file_proposal(settings: Settings, analysis: Analysis, draft: Path, by: str) -> Request:
    """Record the proposal and keep its draft (the department's file, as sent)."""
    req = Request(
        kind=KIND,
        from_unit=analysis.department,
        to_unit=ADMIN,
        subject=analysis.title,
        payload={"analysis": analysis.to_json(), "draft": draft.suffix.lower()},
        by=by,
    )
    kept = _drafts(settings) / f"{req.id}{draft.suffix.lower()}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(draft, kept)
    return file_request(settings.requests, req)


def _drafts(settings: Settings) -> Path:
    return settings.requests / "drafts"


def proposals(settings: Settings) -> list[Request]:
    return [r for r in requests(settings.requests) if r.kind == KIND]


def find_proposal(settings: Settings, prefix: str) -> Request:
    found = [r for r in proposals(settings) if prefix and r.id.startswith(prefix)]
    if len(found) != 1:
        raise LookupError(f"没有唯一匹配「{prefix}」的报表准入申请（hub proposal list 查看编号）")
    return found[0]


@dataclass
class FieldEdit:
    """The administrator's word on a new column: its field name, label, type, code list."""

    name: str | None = None
    label: str | None = None
    type: str | None = None
    codelist: str | None = None


def new_columns(req: Request) -> list[dict[str, Any]]:
    """The proposal's columns nothing holds, as the analysis recorded them."""
    cols: list[dict[str, Any]] = req.payload["analysis"]["columns"]
    return [c for c in cols if c["status"] == "new"]


def approve(
    settings: Settings,
    registry: Registry,
    req: Request,
    by: str,
    why: str = "",
    edits: dict[str, FieldEdit] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Let the report in: new fields into fields.yaml, the report into schemas/reports/; the
    one form then asks only the new fields. Returns what was written."""
    edits = edits or {}
    with _locked(settings):
        req = _open(settings, req)
        analysis = req.payload["analysis"]
        stray = [h for h in edits if h not in {c["header"] for c in new_columns(req)}]
        if stray:
            raise ProposalError(f"列「{'、'.join(stray)}」不是这份草案中的新增列，无需指定字段")
        fields, field_of = _new_fields(registry, req, edits)
        same = [
            r.name
            for r in registry.reports.values()
            if r.title == analysis["title"] and r.department == analysis["department"]
        ]
        if same:
            raise ProposalError(
                f"{analysis['department']}已有同名报表《{analysis['title']}》（{same[0]}）：请改名后重新提交"
            )
        report_name = name or _report_name(registry, analysis)
        if not _NAME.match(report_name) or report_name in registry.reports:
            raise ProposalError(f"报表名 {report_name!r} 须为 snake_case 且未被使用")
        report = _report_doc(analysis, report_name, field_of, by, why)
        _write_registry(settings.schemas, fields, report, analysis)
        decide(settings.requests, req.id, "accepted", by, why)
    return {"report": report_name, "fields": [f["name"] for f in fields], "asks": report["asks"]}


def reject(settings: Settings, req: Request, by: str, why: str) -> Request:
    if not why.strip():
        raise ProposalError("驳回须写明原因（--why）")
    with _locked(settings):
        req = _open(settings, req)
        return decide(settings.requests, req.id, "declined", by, why)


def share_instead(
    settings: Settings,
    registry: Registry,
    req: Request,
    by: str,
    why: str = "",
    today: date | None = None,
) -> dict[str, Any]:
    """Answer the proposal with a grant: the department reads what it asked for, in its
    jurisdiction and the proposal's population, masked by the share rules, for a year."""
    today = today or date.today()
    with _locked(settings):
        req = _open(settings, req)
        analysis = req.payload["analysis"]
        new = [c["header"] for c in new_columns(req)]
        if new:
            raise ProposalError(
                f"还有 {len(new)} 列是库中没有的（{'、'.join(new)}）：只有每个字段都已有时才能改为共享"
            )
        dept = registry.departments.resolve(analysis["department"])
        fields = [c["field"] for c in analysis["columns"] if c.get("field")]
        name = _unused(
            f"{dept.code if dept else 'dept'}_{_pinyin(analysis['title'])}", registry.shares
        )
        doc = {
            "name": name,
            "department": analysis["department"],
            "title": analysis["title"],
            "share_type": "有条件共享",
            "purpose": f"报表准入申请《{analysis['title']}》改为共享（{req.id[:12]}）"
            + (f"：{why}" if why else ""),
            "fields": list(dict.fromkeys(["name", *fields])),
            "rows": {
                "jurisdiction": [dept.code] if dept and dept.kind == "街道" else [],
                "population": analysis["population"],
            },
            "expires": (today + timedelta(days=SHARE_DAYS)).isoformat(),
        }
        path = settings.schemas / "shares" / f"{name}.yaml"
        head = f"# 报表准入申请改为共享：{_comment(by)}，{today.isoformat()}\n"
        _checked_write(settings.schemas, {path: head + _yaml(doc)})
        decide(settings.requests, req.id, "shared", by, why)
    return {"share": name, "fields": doc["fields"], "expires": doc["expires"]}


def _open(settings: Settings, req: Request) -> Request:
    """The request as the store has it now: a second click finds it decided."""
    now = next((r for r in proposals(settings) if r.id == req.id), None)
    if now is None:
        raise LookupError("没有这条报表准入申请")
    if now.status != "open":
        raise ProposalError(
            f"这条申请已处理（{STATUS[now.status]}，{now.decided_by}，{now.decided_at}）"
        )
    return now


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """One decision at a time: two administrators cannot both write the same report."""
    settings.requests.mkdir(parents=True, exist_ok=True)
    with (settings.requests / ".proposals.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_fields(
    registry: Registry, req: Request, edits: dict[str, FieldEdit]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(field definitions to add, header -> field) for the proposal's new columns."""
    title = req.payload["analysis"]["title"]
    out: list[dict[str, Any]] = []
    field_of: dict[str, str] = {}
    for col in new_columns(req):
        header = col["header"]
        edit = edits.get(header, FieldEdit())
        if col.get("field") and not edit.name:  # a known element nobody collected yet
            field_of[header] = col["field"]
            continue
        proposed = col.get("proposed") or {}
        if edit.name and edit.name in registry.fields:  # pointed at an existing field
            field_of[header] = edit.name
            continue
        # the mapper's name may have been given to another report's field since: a new one
        name = edit.name or _unused(proposed.get("name") or "", registry.fields)
        ftype = edit.type or proposed.get("type") or "string"
        if ftype not in NORMALIZER:
            raise ProposalError(
                f"列「{header}」的类型 {ftype!r} 无效（可选：{'、'.join(TYPE_LABEL.values())}）"
            )
        codelist = (
            edit.codelist or proposed.get("codelist") or ("yes_no" if ftype == "boolean" else None)
        )
        if ftype == "code" and not codelist:
            raise ProposalError(f"列「{header}」是代码类型，须指定代码表（--codelist）")
        if codelist and codelist not in registry.codelists:
            known = "、".join(sorted(registry.codelists))
            raise ProposalError(f"列「{header}」的代码表 {codelist!r} 不存在（可选：{known}）")
        if not _NAME.match(name) or name in {f["name"] for f in out}:
            raise ProposalError(f"列「{header}」的字段名 {name!r} 须为 snake_case 且不重复")
        label = edit.label or proposed.get("label") or header
        labels = {f.label for f in registry.fields.values()} | {f["label"] for f in out}
        if label in labels:  # the one form shows each label once
            label = f"{label}（{title}）"
        entry: dict[str, Any] = {
            "name": name,
            "label": label,
            "group": title,
            "entity": "person",
            "type": ftype,
        }
        if codelist and ftype in ("code", "boolean"):
            entry["codelist"] = codelist
        entry |= {"normalize": NORMALIZER[ftype], "sensitivity": "internal", "aliases": [header]}
        out.append(entry)
        field_of[header] = name
    return out, field_of


def _report_doc(
    analysis: dict[str, Any], name: str, field_of: dict[str, str], by: str, why: str
) -> dict[str, Any]:
    columns: list[dict[str, Any]] = []
    for c in analysis["columns"]:
        if c.get("derived"):
            columns.append({"header": c["header"], "value": c["derived"]})
        elif c["status"] == "held":
            columns.append({"header": c["header"], "field": c["field"]})
        else:
            columns.append({"header": c["header"], "field": field_of[c["header"]]})
    return {
        "name": name,
        "department": analysis["department"],
        "title": analysis["title"],
        "period": analysis["period"],
        "population": analysis["population"],
        "columns": columns,
        "basis": why or None,
        "approved_by": by,
        "approved_at": date.today().isoformat(),
        # held values come from the departments' data: the form asks only the rest
        "asks": sorted(
            {field_of[c["header"]] for c in analysis["columns"] if c["status"] == "new"}
        ),
    }


def _report_name(registry: Registry, analysis: dict[str, Any]) -> str:
    dept = registry.departments.resolve(analysis["department"])
    return _unused(
        f"{dept.code if dept else 'dept'}_{_pinyin(analysis['title'])}", registry.reports
    )


def _pinyin(text: str) -> str:
    return extension_name(re.sub(r"[（(].*?[)）]", "", text), set())[:30].strip("_")


def _unused(name: str, taken: Any) -> str:
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _comment(text: str) -> str:
    """Text for a YAML comment line: one line, whatever a title or a name holds."""
    return re.sub(r"\s+", " ", text).strip()


def _yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {k: v for k, v in doc.items() if v is not None},
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=100,
    )


def _write_registry(
    schemas: Path, fields: list[dict[str, Any]], report: dict[str, Any], analysis: dict[str, Any]
) -> None:
    writes: dict[Path, str] = {}
    if fields:
        target = schemas / "fields.yaml"
        text = (target if target.exists() else DEFAULTS / "fields.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
        if list(doc) != ["fields"]:
            raise ProposalError(f"{target} 除 fields 外还有其他键，无法自动追加字段，请手工添加")
        block = _yaml({"fields": fields}).split("\n", 1)[1]  # the list items, without `fields:`
        note = f"\n  # 报表准入新增：《{_comment(analysis['title'])}》（{_comment(analysis['department'])}）\n"
        writes[target] = text.rstrip("\n") + "\n" + note + _indent(block)
    head = f"# 报表准入批准：{_comment(analysis['department'])}《{_comment(analysis['title'])}》\n"
    writes[schemas / "reports" / f"{report['name']}.yaml"] = head + _yaml(report)
    _checked_write(schemas, writes)


def _indent(block: str) -> str:
    """yaml.safe_dump writes list items flush left under a key; fields.yaml indents them."""
    return "".join(f"  {line}\n" if line else "\n" for line in block.rstrip("\n").split("\n"))


def _checked_write(schemas: Path, writes: dict[Path, str]) -> None:
    """Write every file, then load the whole registry; on any error put every file back."""
    before = {p: p.read_bytes() if p.exists() else None for p in writes}
    try:
        for path, text in writes.items():
            write_text(path, text)
        load_registry(schemas)
    except Exception as exc:  # anything that stops the registry loading: put it all back
        for path, old in before.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(old)
        raise ProposalError(f"写入登记表失败，已恢复原样：{exc}") from exc
