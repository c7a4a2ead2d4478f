"""Import Great Expectations without loading what the gate never runs.

``import great_expectations`` registers every core expectation, and the distribution ones
(KL divergence, the KS-test metrics) import SciPy's statistics and Altair at module level.
The gate uses none of them (``kznews.quality.specs``), yet those two imports are about a
quarter of GX's import time, paid by every night's quality step. Here they are bound
lazily (:class:`importlib.util.LazyLoader`, the standard library's recipe): the names
exist, and the modules load on first attribute access, so an expectation that does need
them still works, one import later.

Only the import of GX itself is affected: the finder is on ``sys.meta_path`` for its
duration and removed after, and a module already imported stays as it is. On Python 3.11
a lazy module's first load is not thread-safe (fixed in 3.12); nothing of ours touches
these modules at all, and the gate, the helper and the worker preload each import GX from
one thread.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

#: Imported by GX's distribution expectations at module level; no check of ours uses them.
LAZY_MODULES = ("scipy.stats", "altair")

_lock = threading.Lock()


class _LazyFinder:
    """A meta path finder that hands out lazily executed modules for ``names`` only."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None  # not installed: the normal machinery raises as it would
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def import_great_expectations() -> ModuleType:
    """``import great_expectations`` with :data:`LAZY_MODULES` bound lazily; analytics off
    (no network from a nightly task)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with _lock:
        if "great_expectations" not in sys.modules:
            finder = _LazyFinder(LAZY_MODULES)
            sys.meta_path.insert(0, finder)
            try:
                import great_expectations  # noqa: F401
            finally:
                sys.meta_path.remove(finder)
    return sys.modules["great_expectations"]
