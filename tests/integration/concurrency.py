"""Running one call on several warehouse connections at the same moment (race tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


def run_at_once(
    call: Callable[[Any], Any], connections: Sequence[Any]
) -> tuple[list[Any], list[BaseException]]:
    """`call(connection)` in one thread per connection, released together by a barrier; the
    results and the exceptions raised (each thread joined within 60 s)."""
    barrier = threading.Barrier(len(connections))
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(connection: Any) -> None:
        try:
            barrier.wait(10)
            results.append(call(connection))
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors
