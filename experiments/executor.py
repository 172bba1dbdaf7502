"""Run many independent replication tasks, serially or in parallel, streaming results back.

Interface (stable; the implementation may change):

    run_tasks(tasks, on_result, workers=1, scheduler=None, progress=True)

Each `Task` is pure: its result depends only on (fn, kwargs). `on_result(task, result)` is
called in the driver as each result arrives, in any order, exactly once per task key.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    key: str  # unique within an experiment, e.g. "optimised-low/seed=7"
    fn: Callable[..., Any]  # a module-level function (picklable)
    kwargs: dict = field(default_factory=dict)


def run_tasks(tasks: Iterable[Task], on_result: Callable[[Task, Any], None], *, workers: int = 1,
              scheduler: str | None = None, progress: bool = True) -> None:
    """Serial placeholder: runs every task in this process."""
    for task in tasks:
        on_result(task, task.fn(**task.kwargs))
