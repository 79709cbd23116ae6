"""Headless Chromium for the report test: a screenshot of a local file, and pixel checks on it (no PIL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from twitchlog.report.pdf import headless_command

CANDIDATES = ("chromium", "chromium-browser")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(browser: str, page: Path, png: Path, width: int = 1200, height: int = 3000) -> np.ndarray:
    """Render `page` (a local file) headless and return the screenshot as an RGB uint8 array (H, W, 3)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.image as mpimg

    with tempfile.TemporaryDirectory() as profile:
        action = ("--hide-scrollbars", f"--screenshot={png}", f"--window-size={width},{height}")
        cmd = headless_command(browser, profile, page, *action)  # the flags report --pdf runs with
        env = {**os.environ, "HOME": profile}  # no writes to the real profile
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert png.exists(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    img = mpimg.imread(str(png))
    if img.dtype != np.uint8:
        img = (img * 255).round().astype(np.uint8)
    return img[:, :, :3]


def hex_rgb(colour: str) -> np.ndarray:
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=int)


def pixels_of(img: np.ndarray, colour: str, tolerance: int = 12) -> np.ndarray:
    """Boolean mask of pixels within `tolerance` (per channel) of `colour`."""
    return (np.abs(img.astype(int) - hex_rgb(colour)) <= tolerance).all(axis=-1)


def distinct_colours(img: np.ndarray) -> int:
    flat = img.reshape(-1, 3).astype(np.int64)
    return len(np.unique(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]))
