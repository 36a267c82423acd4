"""A report's HTML printed to PDF by headless Chromium (optional: needs the ``chromium`` binary)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from boostkg.errors import BoostKGError

PDF_TIMEOUT_S = 120


def print_pdf(html: Path) -> Path:
    """Print ``html`` to a PDF beside it (same name, ``.pdf``); return its path.

    Raises:
        BoostKGError: Chromium is not installed or failed.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise BoostKGError("--pdf needs Chromium (`chromium` on PATH; scripts/setup.sh --test installs it)")
    pdf = html.with_suffix(".pdf")
    args = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]
    try:
        subprocess.run(args, check=True, capture_output=True, timeout=PDF_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise BoostKGError(f"Chromium could not print {html} to PDF: {exc}") from exc
    return pdf
