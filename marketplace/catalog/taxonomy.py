"""The category taxonomy, loaded from its data file once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.toml")


@dataclass(frozen=True)
class Category:
    slug: str
    names: dict[str, str]

    @property
    def parent(self) -> str | None:
        return self.slug.rpartition("/")[0] or None

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


@cache
def categories() -> dict[str, Category]:
    raw = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))["categories"]
    return {slug: Category(slug, spec["name"]) for slug, spec in raw.items()}


def in_subtree(slug: str, root: str) -> bool:
    return slug == root or slug.startswith(root + "/")
