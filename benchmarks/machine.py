"""The machine line every benchmark prints with its numbers."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(with_torch: bool = False) -> str:
    """CPU, cores, memory, Python, platform and, with `with_torch`, torch threads and GPU."""
    parts = [cpu_name(), f"{os.cpu_count()} logical cores"]
    try:
        import psutil

        parts.append(f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM")
    except ImportError:
        pass
    parts.append(f"Python {platform.python_version()}")
    if with_torch:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads, {gpu})")
    parts.append(platform.platform())
    return "; ".join(parts)


def print_run_header(with_torch: bool = False) -> None:
    """Print the machine line (with the load average) and the command that ran."""
    print(f"machine: {machine_info(with_torch)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
