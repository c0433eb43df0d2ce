"""Registries under `schemas/`: fields, code lists, org units and sources as validated models."""

from hub.registry.errors import RegistryError
from hub.registry.loader import Registry, load_registry
from hub.registry.models import CodeList, Field, Rule, Source, SourceColumn
from hub.registry.orgunits import OrgTree

__all__ = [
    "CodeList",
    "Field",
    "OrgTree",
    "Registry",
    "RegistryError",
    "Rule",
    "Source",
    "SourceColumn",
    "load_registry",
]
