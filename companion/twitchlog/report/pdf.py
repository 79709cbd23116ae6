"""`report --pdf`: the HTML report printed to PDF by a headless Chromium (nothing else to install in Python).

The browser is found on PATH (`chromium`, `chromium-browser`, `google-chrome`);
its profile is a temporary folder, so the user's own browser profile is
never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from twitchlog.errors import UserError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def headless_command(browser: str, profile: str, page: Path, *action: str) -> list[str]:
    """`browser` headless on the local file `page`, with a throwaway profile, doing `action` (--print-to-pdf=...)."""
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *action,
        Path(page).resolve().as_uri(),
    ]


def print_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 120.0) -> Path:
    """Print the report at `html_path` to `pdf_path` (A4/Letter as the browser defaults); UserError on failure."""
    browser = find_browser()
    if browser is None:
        raise UserError(
            f"--pdf needs Chromium or Chrome on PATH (looked for {', '.join(BROWSERS)}); "
            "on Debian/Ubuntu: apt-get install chromium"
        )
    pdf_path = Path(pdf_path).expanduser().resolve()
    try:
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        pdf_path.unlink(missing_ok=True)
    except OSError as e:
        raise UserError(f"{pdf_path}: cannot write the PDF: {e.strerror or e}") from None
    with tempfile.TemporaryDirectory(prefix="twitchlog-pdf-") as profile:
        cmd = headless_command(browser, profile, html_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}")
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "HOME": profile}
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"{browser} did not print the PDF within {timeout:.0f} s") from None
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise UserError(f"{browser} wrote no PDF ({tail[0]})")
    return pdf_path
