"""The start-up heap is exempted from garbage collection once the bot is ready (bot/heap.py).

Counts, not timings: after freezing, a full collection walks only what was made since, and
garbage made while starting was collected first, not frozen with the rest."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

import bot.app  # noqa: F401  (the start-up heap: aiogram, pydantic, every handler)
from bot.heap import YOUNG_THRESHOLD, freeze_start_up_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()  # the test process carries on as it was
    gc.set_threshold(*threshold)


def test_the_start_up_heap_leaves_the_collections(thawed: None) -> None:
    garbage = _Node()
    dead = weakref.ref(garbage)
    del garbage
    assert gc.get_freeze_count() == 0

    frozen = freeze_start_up_heap()

    assert dead() is None  # start-up garbage collected, not frozen
    assert frozen == gc.get_freeze_count() > 50_000
    assert len(gc.get_objects()) < 0.1 * frozen  # what a full collection still walks
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    later = _Node()
    dead = weakref.ref(later)
    del later
    gc.collect()
    assert dead() is None  # what updates make is collected as before
