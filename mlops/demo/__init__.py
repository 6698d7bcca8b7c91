"""The end-to-end demo of the MLOps loop (`python -m mlops demo`): the story in `story`, its
inputs in `inputs`, its fixed data as files in `data/`."""

from mlops.demo.inputs import DEFAULT_BENCHMARK, DemoError, benchmark_files, check_empty
from mlops.demo.story import DemoReport, run_demo

__all__ = ["DEFAULT_BENCHMARK", "DemoError", "DemoReport", "benchmark_files", "check_empty", "run_demo"]
