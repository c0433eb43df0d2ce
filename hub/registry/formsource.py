"""The consolidated form as one more source: web submissions and filled Excel templates
enter the pipeline like any department table, under the fields' Chinese labels."""

from __future__ import annotations

from collections.abc import Mapping

from hub.registry.models import Field, Source, SourceColumn
from hub.registry.reports import Report, form_field_names

FORM_SOURCE = "community_form"
# columns the form adds besides the fields: who the row is about, which submission, who filled
# it, and which fields it changes (the others are carried only to identify the resident)
PERSON_REF, SUBMISSION, SUBMITTED_BY, CHANGED = "人员编号", "提交编号", "填报人", "变更字段"
CHANGED_COLUMN = "changed_fields"


def form_source(fields: Mapping[str, Field], reports: Mapping[str, Report]) -> Source:
    columns = [
        SourceColumn(header=fields[n].label, field=n) for n in form_field_names(fields, reports)
    ]
    columns += [
        SourceColumn(header=PERSON_REF, extension="person_ref"),
        SourceColumn(header=SUBMISSION, extension="submission_id"),
        SourceColumn(header=SUBMITTED_BY, extension="submitted_by"),
        SourceColumn(header=CHANGED, extension=CHANGED_COLUMN),
    ]
    return Source(
        name=FORM_SOURCE,
        department="社区（一张表）",
        title="社区一张表",
        entity="person",
        file_pattern=["社区一张表_*.xlsx", "社区一张表_*.csv"],
        period="adhoc",
        group="community",
        expect_rows=False,
        channel="form",
        asserts=CHANGED_COLUMN,
        columns=columns,
    )
