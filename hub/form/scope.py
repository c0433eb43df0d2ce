"""Lines a community worker's entry may not cross, checked by the server whatever the page
or the template offered: community and grid only of the worker's own community, and no new
resident who is already registered (here, or — without saying where — elsewhere)."""

from __future__ import annotations

from hub.form.validate import FieldIssue
from hub.publish.directory import Directory
from hub.registry.loader import Registry

ELSEWHERE = (
    "该身份证号码已登记在其他社区，不能在本社区新增；如该居民已迁入本社区，请提交迁入申请，"
    "由原社区或区数据专班确认"
)
HERE = "该身份证号码的居民已在本社区登记：请在「查找居民」中找到并打开"


def scope_issues(
    registry: Registry,
    directory: Directory,
    community: str,
    values: dict[str, str],
    new: bool,
) -> list[FieldIssue]:
    """Blocking issues of an entry by staff of `community`."""
    out = []
    grids = {g.code for c in registry.orgs.communities if c.code == community for g in c.grids}
    if values.get("community_code", community) != community:
        out.append(
            FieldIssue("community_code", "error", "所属社区只能是本社区", values["community_code"])
        )
    if values.get("grid_code") and values["grid_code"] not in grids:
        out.append(
            FieldIssue("grid_code", "error", "所属网格须为本社区的网格", values["grid_code"])
        )
    if new and values.get("citizen_id"):
        found = directory.locate(values["citizen_id"])
        if found is not None:
            message = HERE if found[1] == community else ELSEWHERE
            out.append(FieldIssue("citizen_id", "error", message, values["citizen_id"]))
    return out


def registered_elsewhere(issues: list[FieldIssue]) -> bool:
    return any(i.message == ELSEWHERE for i in issues)
