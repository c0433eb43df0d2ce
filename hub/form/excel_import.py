"""A filled template, compared with what it was prefilled with and turned into submissions.

Only the cells the worker changed are submitted (with the resident's identity keys, carried
for linkage only). An edited locked cell is not taken: a value a department owns becomes a
correction request to that department (纠错回流); any other is reported at its cell. A
cell whose value the hub changed after the template was made is a conflict: the hub keeps its
newer value and the worker decides later (`hub.form.conflicts`). New residents in the blank
rows are submitted whole. Every submission is checked with the pipeline's rules first; a row
with an error is reported and not submitted (the worker fixes it and uploads again — rows
already taken in are recognised and not filed twice).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.form.conflicts import Conflict, record
from hub.form.consolidated import ConsolidatedForm, FormField
from hub.form.corrections import CorrectionError, correctable, corrections, file_correction
from hub.form.pending import current_people
from hub.form.prefill import PrefillError, cell_text
from hub.form.scope import scope_issues
from hub.form.submissions import Submission, append_new, read_all
from hub.form.template_read import FilledTemplate, read_template
from hub.form.validate import check_submissions
from hub.form.values import IDENTITY, as_text, choices, form_values
from hub.publish.directory import Directory
from hub.registry.formsource import FORM_SOURCE, PERSON_REF, SUBMITTED_BY
from hub.registry.loader import Registry
from hub.settings import Settings


@dataclass
class CellIssue:
    row: int  # the row number in the file, as staff see it in Excel
    column: str  # the header in the file
    severity: str
    message: str
    value: str | None


@dataclass
class _Correction:
    """An edited cell of a value a department owns: filed as a correction when committed."""

    person: dict[str, Any]
    field: FormField
    new: str
    row: int
    origin: dict[str, Any]


@dataclass
class ImportResult:
    file: str
    community: str | None = None
    rejected: str | None = None  # why nothing of the file can be taken, if so
    rows: int = 0  # rows with content
    unchanged: int = 0  # prefilled residents the worker did not change
    changed: int = 0  # residents whose changes were submitted
    added: int = 0  # new residents submitted
    cells: int = 0  # changed cells submitted
    already: int = 0  # rows taken in by an earlier import of the same content
    not_taken: int = 0  # rows with an error: reported, not submitted
    issues: list[CellIssue] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    corrections: int = 0  # correction requests filed to the departments that own the values
    submissions: list[Submission] = field(default_factory=list, repr=False)
    planned: list[_Correction] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k not in ("submissions", "planned")}
        doc["issues"] = [i.__dict__ for i in self.issues]
        doc["conflicts"] = [c.__dict__ for c in self.conflicts]
        return doc | {"accepted": self.rejected is None}


def import_template(
    settings: Settings,
    registry: Registry,
    form: ConsolidatedForm,
    path: Path,
    name: str,
    by: str,
    community: str | None = None,
) -> ImportResult:
    """Import a filled template of `community` (any community when None: the data team)."""
    out = ImportResult(name)
    try:
        sheet = read_template(path, settings.secret(), form)
    except (PrefillError, ValueError) as exc:
        out.rejected = str(exc)
        return out
    out.community = sheet.prefill.community
    if community is not None and sheet.prefill.community != community:
        out.rejected = (
            f"这份模板属于{_community_name(registry, sheet.prefill.community)}，"
            "不能导入本社区：请下载本社区的模板"
        )
        return out
    if sheet.prefill.community not in {c.code for c in registry.orgs.communities}:
        out.rejected = f"模板所属社区 {sheet.prefill.community} 不是本区已登记的社区"
        return out
    # what the hub holds now, web edits not yet run included: a change since the template
    # was made is a conflict, never overwritten
    directory = Directory(settings.published)
    people = current_people(settings.submissions, directory, sheet.prefill.community)
    stored = {s.id for s in read_all(settings.submissions)}
    planner = _Planner(out, registry, form, sheet.prefill.community, by, stored)
    planner.template = sheet.prefill.signature(settings.secret())
    planner.plan(sheet, {p["person_id"]: p for p in people})
    _check(out, registry, form, directory)
    _commit(out, settings, path, name)
    _file_corrections(out, settings, registry, form, directory, by)
    out.issues.sort(key=lambda i: (i.row, i.column))
    return out


@dataclass
class _Planner:
    """Turns each row into a submission, an unchanged row, issues and conflicts."""

    out: ImportResult
    registry: Registry
    form: ConsolidatedForm
    community: str
    by: str
    stored: set[str] = field(default_factory=set)  # ids already in the submission store
    template: str = ""  # which template (its signature): keys its rows' submissions

    def plan(self, sheet: FilledTemplate, people: dict[str, dict[str, Any]]) -> None:
        before_by_person = sheet.prefill.by_person()
        locks = sheet.prefill.locked_by_person()
        col = sheet.headers
        seen: dict[str, int] = {}
        for row, cells in sheet.rows:
            self.out.rows += 1
            text = {f.name: cell_text(f, cells[col[f.label]]) for f in self.form.fields}
            ref = (cells[col[PERSON_REF]] or "").strip()
            filler = (cells[col[SUBMITTED_BY]] if SUBMITTED_BY in col else None) or ""
            origin = {"file": self.out.file, "row": row} | ({"filled_by": filler} if filler else {})
            if not ref:
                self.new_resident(row, text, origin)
                continue
            before, person = before_by_person.get(ref), people.get(ref)
            why = None
            if before is None:
                why = "人员编号不是本模板预填的居民"
            elif person is None:
                why = "该居民已不在本社区"
            elif ref in seen:  # two rows for one resident: neither may silently win
                why = f"同一居民已在第 {seen[ref]} 行出现（人员编号重复）"
            if why is not None or before is None or person is None:
                self.issue(row, PERSON_REF, "error", f"{why}，本行未导入", ref)
                self.out.not_taken += 1
                continue
            seen[ref] = row
            self.changed_resident(row, text, before, locks.get(ref, set()), person, origin)

    def changed_resident(
        self,
        row: int,
        text: dict[str, str],
        before: dict[str, str],
        fixed: set[str],
        person: dict[str, Any],
        origin: dict[str, Any],
    ) -> None:
        intended = {
            f.name: self.code(f, text[f.name])
            for f in self.form.fields
            if text[f.name] != before.get(f.name, "") and text[f.name] and f.name not in fixed
        }
        sid = self.key(row, person["person_id"], intended)
        if intended and sid in self.stored:  # this row of this template was taken in before
            self.out.already += 1
            return
        now = {f.name: self.shown(f, person.get(f.name)) for f in self.form.fields}
        changes: dict[str, str] = {}
        for f in self.form.fields:
            cell, was = text[f.name], before.get(f.name, "")
            if cell == was or cell == now[f.name]:
                continue
            if f.name in fixed and correctable(f):  # asked of its department, not taken
                key = {"template": self.template, "row": row, "field": f.name}
                planned = _Correction(person, f, self.code(f, cell), row, origin | key)
                self.out.planned.append(planned)
            elif f.name in fixed:
                holder = "、".join(f.authority) or "已登记的信息"
                msg = f"「{f.label}」以{holder}为准，模板中不能修改；本格的改动未采用"
                self.issue(row, f.label, "error", msg, cell)
            elif not cell:
                msg = "清空单元格不会删除已登记的信息；本格未采用（如需更正请联系登记部门）"
                self.issue(row, f.label, "warning", msg, was)
            elif now[f.name] != was:
                self.out.conflicts.append(self.conflict(person, f, row, cell, was, now[f.name]))
                msg = f"模板生成后系统中已更新为「{now[f.name] or '（空）'}」，本格未采用：请在「待处理冲突」中确认"
                self.issue(row, f.label, "warning", msg, cell)
            else:
                changes[f.name] = self.code(f, cell)
        if not changes:
            self.out.unchanged += int(not intended)
            return
        identity = {k: v for k, v in form_values(self.form, person).items() if k in IDENTITY}
        self.submit(sid, identity | changes, person["person_id"], list(changes), origin)

    def new_resident(self, row: int, text: dict[str, str], origin: dict[str, Any]) -> None:
        values = {f.name: self.code(f, v) for f in self.form.fields if (v := text[f.name])}
        if values.get("community_code", self.community) != self.community:
            msg = "新增居民只能加入本社区，已按本社区处理"
            self.issue(row, "所属社区", "warning", msg, text.get("community_code"))
        values["community_code"] = self.community
        sid = self.key(row, None, values)
        if sid in self.stored:
            self.out.already += 1
            return
        self.submit(sid, values, None, list(values), origin)

    def key(self, row: int, person_id: str | None, values: dict[str, str]) -> str:
        """A row's submission id: from the template, the row and what it changes, so the same
        file imported twice files nothing new, and another template's row is its own."""
        body = json.dumps(
            [self.template, row, person_id, values], ensure_ascii=False, sort_keys=True
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]

    def submit(
        self,
        sid: str,
        values: dict[str, str],
        person_id: str | None,
        changed: list[str],
        origin: dict[str, Any],
    ) -> None:
        sub = Submission(
            self.by, self.community, values, person_id, sid, changed=changed, origin=origin
        )
        self.out.submissions.append(sub)

    def conflict(
        self, person: dict[str, Any], f: FormField, row: int, cell: str, was: str, now: str
    ) -> Conflict:
        key = f"{self.community}|{person['person_id']}|{f.name}|{was}|{cell}|{now}"
        return Conflict(
            id=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32],
            community=self.community,
            person_id=person["person_id"],
            name=str(person.get("name") or ""),
            field=f.name,
            label=f.label,
            template_value=was,
            worker_value=cell,
            worker_code=self.code(f, cell),
            hub_value=now,
            file=self.out.file,
            row=row,
            by=self.by,
        )

    def issue(self, row: int, column: str, severity: str, message: str, value: str | None) -> None:
        self.out.issues.append(CellIssue(row, column, severity, message, value))

    def shown(self, f: FormField, value: Any) -> str:
        """A golden-record value as the template shows it (labels for codes)."""
        options = dict(choices(self.registry, f, self.community))
        text = as_text(value)
        return cell_text(f, options.get(text, text) if options else value)

    def code(self, f: FormField, cell: str) -> str:
        """What a cell submits: the code of a label chosen from a list, else the text as
        written (the pipeline reads synonyms and flags the rest)."""
        by_label = {label: code for code, label in choices(self.registry, f, self.community)}
        return by_label.get(cell, cell)


def _check(
    out: ImportResult, registry: Registry, form: ConsolidatedForm, directory: Directory
) -> None:
    """The pipeline's rules and the community's lines on every submission; rows with an
    error are not submitted."""
    labels = {f.name: f.label for f in form.fields}
    kept = []
    for sub, found in zip(
        out.submissions, check_submissions(registry, out.submissions), strict=True
    ):
        new = sub.person_id is None
        found += scope_issues(registry, directory, sub.community, sub.values, new)
        row = int((sub.origin or {}).get("row", 0))
        for i in found:
            out.issues.append(
                CellIssue(row, labels.get(i.field, i.field), i.severity, i.message, i.value)
            )
        if any(i.severity == "error" for i in found):
            out.not_taken += 1
        else:
            kept.append(sub)
    out.submissions = kept
    out.issues.sort(key=lambda i: (i.row, i.column))


def _commit(out: ImportResult, settings: Settings, path: Path, name: str) -> None:
    """Store the new submissions and conflicts; keep the file as it came."""
    fresh = append_new(settings.submissions, out.submissions)
    out.already += len(out.submissions) - len(fresh)
    for sub in fresh:
        if sub.person_id is None:
            out.added += 1
        else:
            out.changed += 1
            out.cells += len(sub.changed or [])
    record(settings.form_conflicts, out.conflicts)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    folder = settings.archive / FORM_SOURCE
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha[:12]}_{Path(name).name}"
    if not target.exists():
        shutil.copyfile(path, target)


def _file_corrections(
    out: ImportResult,
    settings: Settings,
    registry: Registry,
    form: ConsolidatedForm,
    directory: Directory,
    by: str,
) -> None:
    """File each planned correction once: the same template imported again files none."""
    seen = {
        json.dumps(
            [r.payload.get("origin", {}).get(k) for k in ("template", "row", "field")]
            + [r.payload["new"]]
        )
        for r in corrections(settings.requests)
    }
    for c in out.planned:
        key = json.dumps([c.origin["template"], c.row, c.field.name, c.new])
        if key in seen:
            continue
        source = directory.origins(str(c.person["person_id"])).get(c.field.name)
        try:
            req = file_correction(
                settings.requests,
                registry,
                form,
                c.person,
                c.field.name,
                c.new,
                f"社区模板导入（{out.file} 第 {c.row} 行）",
                by,
                out.community or "",
                source.source if source else None,
                c.origin,
            )
        except CorrectionError as exc:
            out.issues.append(CellIssue(c.row, c.field.label, "error", f"本格未采用：{exc}", c.new))
            continue
        seen.add(key)
        out.corrections += 1
        msg = (
            f"「{c.field.label}」以{req.to_unit}登记为准，模板中不能直接修改："
            f"已作为更正申请发给{req.to_unit}，确认后生效"
        )
        out.issues.append(CellIssue(c.row, c.field.label, "warning", msg, c.new))


def _community_name(registry: Registry, code: str) -> str:
    name = next((c.name for c in registry.orgs.communities if c.code == code), None)
    return f"「{name}」" if name else f"社区 {code}"
