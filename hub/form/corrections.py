"""纠错回流: community staff ask the department that owns a value to correct it.

A value an authority holds (姓名 「以公安分局登记为准」) is locked on the form: an edit there
would lose to the authority on the next run and nobody at the authority would hear of it. A
correction is instead a request (`hub.requests`, kind `correction`) from the community to the
authority's department, about one field of one resident: the value shown, the value it should
be, and why. The department accepts or declines it with a reason; an accepted correction then
outranks the authority's value it corrected for as long as the authority keeps sending that
same value (see `hub.core.corrections`), and the department's queue is its own list of fixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.core.corrections import SOURCE as CORRECTION_SOURCE
from hub.core.corrections import Accepted
from hub.form.consolidated import ConsolidatedForm, FormField
from hub.form.validate import blocking, check_value
from hub.form.values import as_text
from hub.registry.loader import Registry
from hub.requests import Request, decide, file_request, requests

KIND = "correction"
# fields that name the resident: corrected at the registering office, never through the hub
NOT_CORRECTED_HERE = ("citizen_id", "community_code")


class CorrectionError(ValueError):
    pass


def correctable(f: FormField) -> bool:
    return bool(f.authority) and f.name not in NOT_CORRECTED_HERE


def authority_department(registry: Registry, f: FormField, source: str | None) -> str:
    """The department to ask: that of the authority source whose value is shown, else the
    first department the field names as its authority."""
    if source and source in f.authority_sources:
        return registry.sources[source].department
    return f.authority[0]


def file_correction(
    folder: Any,
    registry: Registry,
    form: ConsolidatedForm,
    person: dict[str, Any],
    field: str,
    new: str,
    reason: str,
    by: str,
    community: str,
    source: str | None = None,
    origin: dict[str, Any] | None = None,
) -> Request:
    """File a correction of `field` of `person` (the published record) to `new`."""
    f = next((x for x in form.fields if x.name == field), None)
    if f is None or not correctable(f):
        raise CorrectionError("这一项不由部门登记，直接在表单中修改即可")
    shown, new = as_text(person.get(field)), new.strip()
    if not shown:
        raise CorrectionError(f"「{f.label}」还没有登记的值：直接在表单中填写即可")
    if not new:
        raise CorrectionError(f"请填写「{f.label}」的正确值")
    if f.choices and new not in {c for c, _ in f.choices}:
        raise CorrectionError(f"「{f.label}」只能从选项中选择")
    if not reason.strip():
        raise CorrectionError("请写明更正的理由（如：居民出示的户口簿上为…）")
    # judged and written as the pipeline would (1,234.5 → 1234.5; 1950年1月2日 → 1950-01-02);
    # staged beside a name and 号码待核 alone, so only this field's own rules can keep it out
    identity = {"id_unverified": "1", "name": as_text(person.get("name")) or "某"}
    issues, value = check_value(registry, identity | {field: new}, field)
    errors = blocking(issues)
    if errors or value is None:
        raise CorrectionError(
            "；".join(i.message for i in errors) or f"「{new}」不是有效的{f.label}"
        )
    new = as_text(value)
    if new == shown:
        raise CorrectionError(f"「{f.label}」现在就是这个值，无需更正")
    person_id = str(person["person_id"])
    for r in open_corrections(folder, person_id):
        if r.payload["field"] == field:
            raise CorrectionError(
                f"「{f.label}」已有一条待{r.to_unit}确认的更正申请（{r.at[:10]}），请等待处理"
            )
    # the value the authority sends: a value corrected before is still the authority's old
    # one underneath, and a new correction replaces that same one
    old = shown
    if source == CORRECTION_SOURCE:
        earlier = [a for a in accepted(folder) if (a.person_id, a.field) == (person_id, field)]
        old = earlier[0].old if earlier else shown
    req = Request(
        kind=KIND,
        from_unit=community,
        to_unit=authority_department(registry, f, source),
        subject=person_id,
        payload={
            "field": field,
            "label": f.label,
            "old": old,
            "new": new,
            "old_shown": _shown(f, shown),
            "new_shown": _shown(f, new),
            "reason": reason.strip()[:300],
            "name": as_text(person.get("name")),
            **({"origin": origin} if origin else {}),
        },
        by=by,
    )
    return file_request(folder, req)


def _shown(f: FormField, value: str) -> str:
    return dict(f.choices).get(value, value)


def corrections(folder: Any) -> list[Request]:
    return [r for r in requests(folder) if r.kind == KIND]


def open_corrections(folder: Any, person_id: str | None = None) -> list[Request]:
    return [
        r
        for r in corrections(folder)
        if r.status == "open" and (person_id is None or r.subject == person_id)
    ]


def of_person(folder: Any, person_id: str) -> list[Request]:
    return [r for r in corrections(folder) if r.subject == person_id]


def answer(folder: Any, request_id: str, accept: bool, by: str, why: str, unit: str) -> Request:
    """The department's decision; a decline needs its reason (the worker reads it)."""
    if not accept and not why.strip():
        raise CorrectionError("不予更正时须写明原因，社区工作人员会看到")
    found = [r for r in corrections(folder) if r.id == request_id]
    if not found:
        raise LookupError("没有这条更正申请")
    return decide(folder, request_id, "accepted" if accept else "declined", by, why, unit=unit)


def accepted(folder: Any) -> list[Accepted]:
    """Every accepted correction survivorship applies: the latest per resident and field."""
    latest: dict[tuple[str, str], Request] = {}
    for r in corrections(folder):
        if r.status == "accepted":
            key = (r.subject, r.payload["field"])
            if key not in latest or (r.decided_at or "") >= (latest[key].decided_at or ""):
                latest[key] = r
    return [
        Accepted(p, f, r.payload["old"], r.payload["new"], r.id, r.to_unit, r.decided_at or r.at)
        for (p, f), r in sorted(latest.items())
    ]


def counts(reqs: Iterable[Request]) -> dict[str, int]:
    out = {"filed": 0, "accepted": 0, "declined": 0, "open": 0}
    for r in reqs:
        out["filed"] += 1
        out[r.status] = out.get(r.status, 0) + 1
    return out
