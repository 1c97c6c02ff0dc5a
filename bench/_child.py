"""Runs one benchmark phase in a fresh interpreter: ``python -m bench._child module:function ARGS_JSON RESULT_PATH``.

The function's return value (a JSON-able dict) is written to RESULT_PATH,
with the sampled peak RSS of this process and its descendants added.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys

from bench._util import TreeSampler, vm_hwm_kb


def main() -> None:
    target, args, result_path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    with TreeSampler() as sampler:
        result = function(**args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    result = dict(result or {})
    result["_tree_peak_kb"] = max(sampler.peak_kb, vm_hwm_kb())
    result["vm_hwm_mb"] = vm_hwm_kb() / 1024
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
