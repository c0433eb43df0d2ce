"""An accepted 迁入申请 becomes a submission: the resident's community is the requester's,
filed on behalf of the community that holds them now (the only one that may change them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hub.form.consolidated import ConsolidatedForm
from hub.form.submissions import Submission, append_new
from hub.form.values import IDENTITY, form_values
from hub.publish.directory import Directory
from hub.requests import Request


class NotThere(LookupError):
    """The resident is no longer in the community the request was sent to."""


def file_move(
    folder: Path, form: ConsolidatedForm, directory: Directory, req: Request, by: str
) -> Submission:
    person = directory.person(req.to_unit, req.subject)
    if person is None:
        raise NotThere("该居民已不在原社区，无需迁出")
    values = {k: v for k, v in form_values(form, person).items() if k in IDENTITY}
    values["community_code"] = req.from_unit
    sub = Submission(
        by, req.to_unit, values, req.subject, changed=["community_code"], origin={"request": req.id}
    )
    append_new(folder, [sub], since=date.today())
    return sub
