"""Read generated PDFs back as a person would: text per page (pdftotext), pages as PNG
(pdftoppm), page count (pdfinfo), all from Debian's poppler-utils."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    found = re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)
    assert found, info
    return int(found.group(1))


def render_pngs(pdf: bytes, tmp_path: Path, dpi: int = 50) -> list[Path]:
    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(path), str(tmp_path / "page")], check=True
    )
    return sorted(tmp_path.glob("page*.png"))


def squash(text: str) -> str:
    """Whitespace collapsed, so words wrapped across table lines still read in order."""
    return " ".join(text.split())
