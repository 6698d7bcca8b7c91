"""The machine the process runs on: CPU and memory, via psutil."""

from __future__ import annotations

import os
from typing import Any


def process_resources() -> dict[str, Any]:
    """CPU and memory of the current process (and the machine's memory use)."""
    import psutil

    process = psutil.Process(os.getpid())
    with process.oneshot():
        memory = process.memory_info()
        return {
            "pid": process.pid,
            "cpu_percent": process.cpu_percent(interval=0.1),
            "rss_mb": memory.rss / 2**20,
            "vms_mb": memory.vms / 2**20,
            "threads": process.num_threads(),
            "system_memory_percent": psutil.virtual_memory().percent,
            "cpu_count": psutil.cpu_count(),
        }
