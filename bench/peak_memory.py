"""One whole run in a process of its own, so that its peak memory is its own.

    python bench/peak_memory.py ENDPOINT SPECS

Runs every report in the folder SPECS against the stand-in at ENDPOINT, as ``reportgen run --local`` does
(PDF workers and all), writes the PDFs to a temporary folder, and prints one JSON line: ``widgets``,
``failed``, ``seconds`` and ``peak_rss_mb`` (this process plus its largest child, which the PDF workers are).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import tempfile
from pathlib import Path

from probes import peak_rss_mb
from workload import NOW, load_plans

from reportgen.pipeline import run_reports


def main(endpoint_url: str, specs: Path) -> int:
    plans = load_plans(specs)
    with tempfile.TemporaryDirectory() as out:
        summary = asyncio.run(run_reports(plans, Path(out), generated_at=NOW, local=True, endpoint_url=endpoint_url))
    # A finished run does not wait for its PDF workers to exit: join them, so the largest of them is counted.
    for child in multiprocessing.active_children():
        child.join()
    print(json.dumps({"widgets": summary.widgets, "failed": summary.failed, "seconds": summary.seconds,
                      "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
