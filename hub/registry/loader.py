"""Load and cross-check every registry under `schemas/`, eagerly, failing with file and entry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hub.registry.config import CatalogueConfig, Limits, LinkageConfig, MappingConfig
from hub.registry.departments import KINDS, Departments
from hub.registry.errors import RegistryError
from hub.registry.files import DISTRICTS, layers, registry_file, registry_folder
from hub.registry.formsource import FORM_SOURCE, form_source
from hub.registry.models import CodeList, Field, Source
from hub.registry.orgunits import OrgTree, office_names
from hub.registry.reports import Condition, Report
from hub.registry.shares import Share
from hub.registry.synonyms import with_synonyms


@dataclass(frozen=True)
class Registry:
    """All registries, validated together. Build with `load_registry(schemas_dir)`."""

    root: Path
    fields: dict[str, Field]
    codelists: dict[str, CodeList]
    orgs: OrgTree
    sources: dict[str, Source]
    mapping: MappingConfig
    linkage: LinkageConfig
    reports: dict[str, Report]
    shares: dict[str, Share] = dataclasses.field(default_factory=dict)
    limits: Limits = dataclasses.field(default_factory=Limits)
    departments: Departments = dataclasses.field(
        default_factory=lambda: Departments(departments=[])
    )
    catalogue: CatalogueConfig = dataclasses.field(default_factory=CatalogueConfig)
    # the other districts of a city deployment: rows naming their communities are theirs
    neighbours: list[OrgTree] = dataclasses.field(default_factory=list)
    # a city deployment's grants of its city view (hub.city.view.city_registry serves them)
    city_shares: dict[str, Share] = dataclasses.field(default_factory=dict)

    def field(self, name: str) -> Field:
        return self.fields[name]

    def department_name(self, name: str) -> str:
        """The registry's name for a department named by any of its spellings (else `name`)."""
        dept = self.departments.resolve(name)
        return dept.name if dept else name.strip()

    def authority_sources(self, field: str) -> list[str]:
        """The sources whose value of `field` stands, best first: `authority` names department
        kinds (every source of a department of that kind, by name) or single sources."""
        out: list[str] = []
        for entry in self.fields[field].authority:
            if entry in self.sources:
                named = [entry]
            else:
                named = sorted(
                    s.name
                    for s in self.sources.values()
                    if (d := self.departments.resolve(s.department)) and d.kind == entry
                )
            out += [n for n in named if n not in out]
        return out


def load_registry(root: Path) -> Registry:
    """Read `fields.yaml`, `codelists/`, `orgunits.yaml` and `sources/` under `root`.

    Example:
        >>> reg = load_registry(Path("schemas"))
        >>> reg.fields["citizen_id"].label
        '公民身份号码'
    """
    root = Path(root)
    fields = _load_fields(registry_file(root, "fields.yaml"))
    codelists = {}
    for path in registry_folder(root, "codelists"):
        cl = _model(CodeList, _read(path), path, "")
        if cl.name != path.stem:
            raise RegistryError(path, cl.name, f"代码表名应与文件名一致（{path.stem}）")
        codelists[cl.name] = cl
    codelists = _extended(root, codelists)
    codelists = with_synonyms(root, codelists)  # the district's own spellings (hub codes add)
    orgs = _model(OrgTree, _read(root / "orgunits.yaml"), root / "orgunits.yaml", "")
    departments = _config(Departments, root, "departments.yaml").with_streets(
        [
            (st.code, st.name, set().union(*(office_names(n) for n in (st.name, *st.aliases))))
            for st in orgs.streets
        ]
    )
    sources = load_sources(
        registry_folder(root, "sources", shipped=False),
        fields,
        departments,
        orgs.district.code,
        _district_codes(root, orgs),
    )
    mapping = _config(MappingConfig, root, "mapping.yaml")
    linkage = _config(LinkageConfig, root, "linkage.yaml")
    limits = _config(Limits, root, "limits.yaml")
    catalogue = _config(CatalogueConfig, root, "catalogue.yaml")
    reports = load_reports(registry_folder(root, "reports"), fields, codelists, departments)
    neighbours = _neighbours(root)
    shares = load_shares(
        registry_folder(root, "shares", shipped=False),
        fields,
        codelists,
        [orgs, *neighbours],
        departments,
        _district_codes(root, orgs),
    )
    for share in shares.values():
        path = registry_file(root, f"shares/{share.name}.yaml")
        if share.dataset == "city_person" and path.parent.parent == root and len(layers(root)) > 1:
            raise RegistryError(
                path, "dataset", "全市视图的授权（city_person）只能写在全市的 schemas/shares/ 中"
            )
    if FORM_SOURCE not in sources:  # a YAML of that name would be the data team's override
        sources[FORM_SOURCE] = form_source(fields, reports)
    _cross_check(root, fields, codelists, sources)
    for kind, name in mapping.content_defaults.items():
        if name not in fields:
            raise RegistryError(
                registry_file(root, "mapping.yaml"),
                f"content_defaults.{kind}",
                f"未知字段 {name!r}",
            )
    return Registry(
        root=root,
        fields=fields,
        codelists=codelists,
        orgs=orgs,
        sources=sources,
        mapping=mapping,
        linkage=linkage,
        reports=reports,
        shares={n: g for n, g in shares.items() if g.dataset == "person"},
        city_shares={n: g for n, g in shares.items() if g.dataset == "city_person"},
        limits=limits,
        departments=departments,
        catalogue=catalogue,
        neighbours=neighbours,
    )


def _district_codes(root: Path, orgs: OrgTree) -> set[str]:
    """The districts of the deployment: a city's district folders, else this district."""
    if root.parent.name != DISTRICTS:
        return {orgs.district.code}
    return {p.name for p in root.parent.iterdir() if (p / "orgunits.yaml").is_file()}


def _neighbours(root: Path) -> list[OrgTree]:
    """The org trees of the other districts beside a district of a city."""
    if root.parent.name != DISTRICTS:
        return []
    out = []
    for other in sorted(root.parent.iterdir()):
        path = other / "orgunits.yaml"
        if other.resolve() != root.resolve() and path.is_file():
            try:
                out.append(_model(OrgTree, _read(path), path, ""))
            except RegistryError:  # that district's own run reports it; this one goes on
                continue
    return out


M = TypeVar("M", bound=BaseModel)


def _named_files(paths: list[Path], model: type[M], kind: str) -> Iterator[tuple[Path, M]]:
    """Each YAML file as `model`, whose `name` must match its file name."""
    for path in paths:
        entry = _model(model, _read(path), path, "")
        name = getattr(entry, "name", "")
        if name != path.stem:
            raise RegistryError(path, name, f"{kind}名应与文件名一致（{path.stem}）")
        yield path, entry


def _check_column_fields(path: Path, columns: list[Any], fields: dict[str, Field]) -> None:
    for i, col in enumerate(columns):
        if col.field and col.field not in fields:
            raise RegistryError(
                path,
                f"columns[{i}] ({col.header})",
                f"未知字段 {col.field!r}（允许：fields.yaml 中的字段，如 {_some(fields)}）",
            )


def load_sources(
    paths: list[Path],
    fields: dict[str, Field],
    departments: Departments,
    district: str,
    districts: set[str],
) -> dict[str, Source]:
    """The registered tables of `district`: those naming no district and those naming it (a
    city's registration that names another of its `districts` is that district's)."""
    sources: dict[str, Source] = {}
    for path, src in _named_files(paths, Source, "来源"):
        if src.district and src.district not in districts:
            have = "、".join(sorted(districts))
            raise RegistryError(path, "district", f"{src.district} 不是本部署的区县（有：{have}）")
        if src.district and src.district != district:
            continue
        _check_column_fields(path, src.columns, fields)
        sources[src.name] = src.model_copy(
            update={"department": _department(path, src.department, departments)}
        )
    return sources


def load_reports(
    paths: list[Path],
    fields: dict[str, Field],
    codelists: dict[str, CodeList],
    departments: Departments,
) -> dict[str, Report]:
    reports: dict[str, Report] = {}
    for path, rep in _named_files(paths, Report, "报表"):
        rep = rep.model_copy(update={"department": _department(path, rep.department, departments)})
        _check_column_fields(path, rep.columns, fields)
        for i, col in enumerate(rep.columns):
            numeric = col.field and fields[col.field].type in ("integer", "decimal")
            if col.total and not numeric:
                raise RegistryError(
                    path,
                    f"columns[{i}] ({col.header})",
                    "total 只能用于数值字段（integer / decimal）",
                )
        for i, cond in enumerate(rep.population):
            _check_condition(path, f"population[{i}]", cond, fields, codelists)
        stray = [f for f in rep.asks or [] if f not in rep.fields]
        if stray:
            raise RegistryError(path, "asks", f"{', '.join(stray)} 不是本报表的列")
        reports[rep.name] = rep
    return reports


def load_shares(
    paths: list[Path],
    fields: dict[str, Field],
    codelists: dict[str, CodeList],
    trees: list[OrgTree],
    departments: Departments,
    districts: set[str],
) -> dict[str, Share]:
    """The grants; a district's rows name its own units, a city view's any district's (and
    whole districts by their code)."""
    shares: dict[str, Share] = {}
    own = {s.code for s in trees[0].streets} | {c.code for c in trees[0].communities}
    city = {t.district.code for t in trees}
    city |= {u.code for t in trees for u in t.streets}
    city |= {u.code for t in trees for u in t.communities}
    # a district whose tree cannot be read here: its own run reports that; its codes pass
    unread = {d for d in districts if d not in {t.district.code for t in trees}}
    for path, share in _named_files(paths, Share, "授权"):
        codes = city if share.dataset == "city_person" else own
        codes = codes | {
            c for c in share.rows.jurisdiction if share.dataset == "city_person" and c[:6] in unread
        }
        share = share.model_copy(
            update={"department": _department(path, share.department, departments)}
        )
        for key, names in (("fields", share.fields), ("unmasked", share.unmasked)):
            unknown = [n for n in names if n not in fields]
            if unknown:
                raise RegistryError(path, key, f"未知字段 {', '.join(unknown)}")
        stray = [n for n in share.unmasked if n not in share.fields]
        if stray:
            raise RegistryError(path, "unmasked", f"{', '.join(stray)} 不在授权字段 fields 中")
        bad = [c for c in share.rows.jurisdiction if c not in codes]
        if bad:
            raise RegistryError(
                path,
                "rows.jurisdiction",
                f"未知的街道或社区代码 {', '.join(bad)}（见 orgunits.yaml）",
            )
        for i, cond in enumerate(share.rows.population):
            _check_condition(path, f"rows.population[{i}]", cond, fields, codelists)
        shares[share.name] = share
    return shares


def _check_condition(
    path: Path,
    where: str,
    cond: Condition,
    fields: dict[str, Field],
    codelists: dict[str, CodeList],
) -> None:
    if cond.field is None:
        return
    f = fields.get(cond.field)
    if f is None:
        raise RegistryError(path, where, f"未知字段 {cond.field!r}")
    if cond.in_ is not None:
        if not f.codelist:
            raise RegistryError(path, where, f"字段 {f.name} 没有代码表，不能用 in 条件")
        codes = {e.code for e in codelists[f.codelist].entries}
        unknown = [c for c in cond.in_ if c not in codes]
        if unknown:
            raise RegistryError(
                path,
                where,
                f"代码 {', '.join(unknown)} 不在代码表《{f.label}》中（允许：{', '.join(sorted(codes))}）",
            )


def _load_fields(path: Path) -> dict[str, Field]:
    doc = _read(path)
    entries = doc.get("fields") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise RegistryError(path, "fields", "应为字段列表")
    out: dict[str, Field] = {}
    for i, raw in enumerate(entries):
        label = f"fields[{i}]" + (f" ({raw.get('name')})" if isinstance(raw, dict) else "")
        f = _model(Field, raw, path, label)
        if f.name in out:
            raise RegistryError(path, label, f"字段名 {f.name} 重复")
        out[f.name] = f
    return out


def _extended(root: Path, codelists: dict[str, CodeList]) -> dict[str, CodeList]:
    out = dict(codelists)
    for name, cl in codelists.items():
        if cl.extends is None:
            continue
        base = codelists.get(cl.extends)
        if base is None or base.extends is not None:
            raise RegistryError(
                registry_file(root, f"codelists/{name}.yaml"),
                "extends",
                f"代码表 {cl.extends!r} 不存在或本身也有 extends（允许：{', '.join(sorted(codelists))}）",
            )
        try:
            out[name] = cl.extended_by(base)
        except ValueError as exc:
            raise RegistryError(
                registry_file(root, f"codelists/{name}.yaml"), "extends", str(exc)
            ) from exc
    return out


def _cross_check(
    root: Path, fields: dict[str, Field], codelists: dict[str, CodeList], sources: dict[str, Source]
) -> None:
    path = registry_file(root, "fields.yaml")
    for f in fields.values():
        if f.codelist and f.codelist not in codelists:
            raise RegistryError(
                path,
                f.name,
                f"代码表 {f.codelist!r} 不存在（允许：{', '.join(sorted(codelists))}）",
            )
        for rule in f.rules:
            waiver = fields.get(rule.waived_by or "")
            if rule.waived_by and (waiver is None or waiver.type != "boolean"):
                raise RegistryError(
                    path, f.name, f"waived_by {rule.waived_by!r} 须为是/否（boolean）字段"
                )
        for s in f.authority:
            if s not in sources and s not in KINDS:
                raise RegistryError(
                    path,
                    f.name,
                    f"权威 {s!r} 既不是部门类别（{'、'.join(KINDS)}）也不是已登记的来源",
                )
    linkable = {"birth_date", "phone", "current_address", "registered_address"}
    for src in sources.values():
        mapped = {c.field for c in src.mapped}
        linkable_without_id = "name" in mapped and bool(mapped & linkable)
        if src.entity == "person" and "citizen_id" not in mapped and not linkable_without_id:
            raise RegistryError(
                root / "sources" / f"{src.name}.yaml",
                "columns",
                "人员类来源须有一列映射到 citizen_id；没有身份证号的表至少要有 name，"
                "以及 birth_date、phone、current_address、registered_address 之一，才能与居民关联",
            )


def _department(path: Path, name: str, departments: Departments) -> str:
    """The registry's name for the department a file names; an unknown one is a load error."""
    dept = departments.resolve(name)
    if dept is None:
        raise RegistryError(
            path,
            "department",
            f"部门 {name!r} 不在部门登记表 departments.yaml 中（已登记：{departments.names()}；"
            "其他叫法可加到该部门的 short）",
        )
    return dept.name


def _config(cls: type[M], root: Path, name: str) -> M:
    path = registry_file(root, name)
    return _model(cls, _read(path), path, "")


def _model(cls: type[M], raw: Any, path: Path, entry: str) -> M:
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = ".".join(p for p in (entry, loc) if p)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = f"取值无效 {err.get('input')!r}（允许：{err['ctx']['expected']}）"
        elif err["type"] == "missing":
            msg = "缺少必填项"
        elif err["type"] == "extra_forbidden":
            msg = f"未知的键 {err['loc'][-1]!r}"
        raise RegistryError(path, where, msg) from None


# libyaml's safe loader where PyYAML has it: ten times faster, and every run reads the registry
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> Any:
    if not path.exists():
        raise RegistryError(path, "", "文件不存在")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise RegistryError(path, "", f"YAML 格式错误：{exc}") from None


def _some(fields: dict[str, Field]) -> str:
    return ", ".join(list(fields)[:5]) + " …"
