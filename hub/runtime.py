"""How Truc's processes run their event loop.

uvloop (libuv) runs the loop's own work (sockets, timers, callbacks) in C; the hub and the
adapters are I/O-bound loops of many small messages, where that is measurable (README,
Performance). It is optional: without it, or with TRUC_LOOP=asyncio, the standard loop runs.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Allocations between two young collections of a serving process (CPython's default, 700,
# collects every few messages; each batch allocates thousands of short-lived objects, which
# reference counting frees anyway). Only the serving roles (`truc up`) change it.
YOUNG_GENERATION = 20_000


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when installed and not turned off, else None (standard loop)."""
    if os.environ.get("TRUC_LOOP", "uvloop") == "asyncio":
        return None
    try:
        uvloop: Any = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name() -> str:
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop where available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def tune_collector() -> None:
    """Fewer collections for a long-running server: a larger young generation, and what is
    alive at start-up (modules, configuration) moved out of the collector's sight, so full
    collections no longer rescan it (about 3% of the hub's time went to the collector)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
