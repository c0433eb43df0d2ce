"""Where each registry file is read from: the deployment's `schemas/`, else the generic copy
shipped in the package (hub/defaults), so a deployment holds only what it changes."""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"
# what only a district can say: never shipped, never copied from the package
DISTRICT_ONLY = ("orgunits.yaml", "sources", "shares", "code_synonyms.yaml")


# a city deployment keeps each district's own registries in schemas/districts/<code>/, over the
# city's schemas/ (see hub.city.districts)
DISTRICTS = "districts"


def layers(root: Path) -> list[Path]:
    """The folders a registry at `root` reads, nearest first: a district of a city reads its
    own folder, then the city's."""
    if root.parent.name == DISTRICTS:
        return [root, root.parent.parent]
    return [root]


def registry_file(root: Path, name: str) -> Path:
    """`name` from the nearest layer that has it, else the package's."""
    for layer in layers(root):
        if (layer / name).exists():
            return layer / name
    return DEFAULTS / name


def registry_folder(root: Path, folder: str, shipped: bool = True) -> list[Path]:
    """The YAML files of `folder`: the package's (unless not `shipped`), each replaced by a
    deployment's file of the same name, plus the deployment's own (a package upgrade adds lists
    and reports); a district's files over its city's."""
    found = {p.name: p for p in sorted((DEFAULTS / folder).glob("*.yaml"))} if shipped else {}
    for layer in reversed(layers(root)):
        found |= {p.name: p for p in sorted((layer / folder).glob("*.yaml"))}
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
