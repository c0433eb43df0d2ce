"""Where each registry file is read from: the deployment's `schemas/`, else the generic copy
shipped in the package (hub/defaults), so a deployment holds only what it changes."""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"
# what only a district can say: never shipped, never copied from the package
DISTRICT_ONLY = ("orgunits.yaml", "sources", "shares", "code_synonyms.yaml")


def registry_file(root: Path, name: str) -> Path:
    """`root/name` when the deployment has it, else the package's."""
    own = root / name
    return own if own.exists() else DEFAULTS / name


def registry_folder(root: Path, folder: str) -> list[Path]:
    """The YAML files of `folder`: the package's, each replaced by the deployment's file of the
    same name, plus the deployment's own (a package upgrade adds lists and reports)."""
    found = {p.name: p for p in sorted((DEFAULTS / folder).glob("*.yaml"))}
    found |= {p.name: p for p in sorted((root / folder).glob("*.yaml"))}
    return [found[n] for n in sorted(found)]


def copy_defaults(dest: Path) -> list[Path]:
    """Write the package's generic registries under `dest` (existing files are kept: a
    re-run of init never overwrites a district's edits). Returns the files written."""
    written: list[Path] = []
    for src in sorted(DEFAULTS.rglob("*.yaml")):
        target = dest / src.relative_to(DEFAULTS)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    return written
