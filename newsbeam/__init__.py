"""newsbeam: RSS/Atom and web-archive ingestion on Apache Beam that merges the variants of each story.

The repository's top-level folders are this package's subpackages (setup.py maps them):
`newsbeam.pipeline`, `newsbeam.transforms`, `newsbeam.schemas`, `newsbeam.state`, and the
Beam-free libraries `newsbeam.fetching`, `newsbeam.sources`, `newsbeam.extraction`,
`newsbeam.matching`, `newsbeam.outputs`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from newsbeam.version import __version__

if TYPE_CHECKING:
    from newsbeam.api import Assignment, dedup, extract, open_store
    from newsbeam.schemas import Article, Story, Variant

# The Python API, loaded on first use: `import newsbeam.fetching` (or a Beam worker
# unpickling a stage) need not load the sentence encoder's and the extractor's modules.
_API = {"extract": "newsbeam.api", "dedup": "newsbeam.api", "open_store": "newsbeam.api",
        "Assignment": "newsbeam.api", "Article": "newsbeam.schemas", "Story": "newsbeam.schemas",
        "Variant": "newsbeam.schemas"}
__all__ = ["__version__", "Article", "Assignment", "Story", "Variant", "dedup", "extract", "open_store"]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'newsbeam' has no attribute '{name}'")
    return getattr(importlib.import_module(_API[name]), name)
