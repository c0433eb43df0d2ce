"""Filled templates dropped into the incoming folder (by the data team, say) go through the
same import as an upload on the web: only changes become submissions."""

from __future__ import annotations

import logging

from hub.form.consolidated import derive_form
from hub.form.excel_import import import_template
from hub.ingest.raw import LoadResult, match_source
from hub.ingest.rejected import set_aside
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry
from hub.settings import Settings

log = logging.getLogger(__name__)
BY = "数据专班导入"


def import_incoming_templates(settings: Settings, registry: Registry) -> list[LoadResult]:
    """Import every form-source file in incoming; a file that cannot be imported is set aside."""
    if not settings.incoming.exists():
        return []
    files = sorted(
        p
        for p in settings.incoming.iterdir()
        if p.is_file() and not p.name.startswith(".") and _is_form(registry, p.name)
    )
    if not files:
        return []
    form = derive_form(registry)
    out = []
    for path in files:
        try:
            result = import_template(settings, registry, form, path, path.name, BY)
        except FileNotFoundError as exc:  # nothing published yet: no template can be genuine
            result_msg = str(exc)
            set_aside(path, result_msg)
            out.append(LoadResult(path.name, "rejected", FORM_SOURCE, message=result_msg))
            continue
        if result.rejected is not None:
            set_aside(path, result.rejected)
            out.append(LoadResult(path.name, "rejected", FORM_SOURCE, message=result.rejected))
            continue
        path.unlink()  # kept in the archive by the import
        notes = [f"第 {i.row} 行「{i.column}」：{i.message}" for i in result.issues]
        text = f"模板导入：{result.changed + result.added} 条提交（未改动 {result.unchanged} 行）"
        out.append(LoadResult(path.name, "loaded", FORM_SOURCE, None, 0, text, notes))
    return out


def _is_form(registry: Registry, name: str) -> bool:
    src = match_source(registry, name)
    return src is not None and src.name == FORM_SOURCE
