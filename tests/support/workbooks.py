"""The offline workbook from the test's side: the mini template's assessment, a workbook downloaded, filled in
(with openpyxl, or saved through a real LibreOffice) and uploaded back, and what was saved.

``mini`` is a fixture, loaded with the other support fixtures; the rest are helpers:
``from tests.support.workbooks import download, fill, upload``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from partner_audit.assessments.xlsx import MEDIA_TYPE
from partner_audit.controls import service as controls
from tests.support.assessments import MINI, assessment_of, launched


@pytest.fixture
def mini(world, run) -> dict:
    """Provider A's assessment of the mini template (provider B has one too)."""
    row, _ = run(lambda: controls.load_file(MINI))
    launched(world, str(row["id"]))
    return assessment_of(world.provider_user, world.provider_a["id"])


def download(api, aid: str):
    r = api.get(f"/api/v1/assessments/{aid}/workbook")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    return load_workbook(io.BytesIO(r.content)), r


def as_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(api, aid: str, content: bytes, name: str = "filled.xlsx"):
    return api.put(f"/api/v1/assessments/{aid}/workbook", files={"file": (name, content, MEDIA_TYPE)})


def row_of(sheet, question_id: str) -> int:
    rows = [c.row for c in sheet["A"] if c.value == question_id]
    assert len(rows) == 1, (question_id, rows)
    return rows[0]


def fill(book: Workbook, **answers) -> Workbook:
    sheet = book["Questions"]
    for question_id, value in answers.items():
        sheet[f"D{row_of(sheet, question_id)}"] = value
    return book


def saved(api, aid: str) -> dict[str, dict]:
    r = api.get(f"/api/v1/assessments/{aid}")
    assert r.status_code == 200, r.text
    return {a["question_id"]: a for a in r.json()["answers"]}


def put_answers(api, aid: str, *answers: dict):
    r = api.put(f"/api/v1/assessments/{aid}/answers", json={"answers": list(answers)})
    assert r.status_code == 200, r.text
    return r.json()


def libreoffice_save(path: Path, out_dir: Path) -> Path:
    """Open ``path`` in a real LibreOffice and save it as .xlsx again, as a person filling it there would."""
    return _libreoffice(path, out_dir, "xlsx")


def libreoffice_pdf(path: Path, out_dir: Path) -> Path:
    """``path`` opened in a real LibreOffice and exported as PDF (``soffice --headless --convert-to pdf``); fails
    on any error, so a workbook LibreOffice would need to repair fails here."""
    return _libreoffice(path, out_dir, "pdf")


def _libreoffice(path: Path, out_dir: Path, to: str) -> Path:
    binary = shutil.which("soffice") or tool("libreoffice", "libreoffice-calc-nogui")
    profile = (out_dir / "profile").as_uri()  # its own profile: no clash with a LibreOffice already running
    result = subprocess.run(
        [binary, f"-env:UserInstallation={profile}", "--headless", "--convert-to", to, "--outdir",
         str(out_dir), str(path)], capture_output=True, text=True, timeout=180)
    converted = out_dir / f"{path.stem}.{to}"
    assert result.returncode == 0 and converted.exists() and converted.stat().st_size > 0, (
        result.stdout + result.stderr)
    return converted


def tool(name: str, package: str) -> str:
    """The path of a Debian tool a test needs; without it the test is skipped, naming the package (and CI,
    which installs it in .ci/run, fails on any skip)."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {package}); .ci/run installs it")
    return found


NEAR = 12  # a colour, give or take what anti-aliasing and the PDF's colour handling do to it


def coloured_pixels(pdf: Path, colours: dict[str, str], out_dir: Path) -> dict[str, int]:
    """How many pixels of each colour (hex RGB) the PDF's pages hold, rendered at 40 dpi by poppler's pdftoppm."""
    pdftoppm = tool("pdftoppm", "poppler-utils")
    prefix = out_dir / "page"
    subprocess.run([pdftoppm, "-r", "40", str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    targets = {name: tuple(int(hex_[i:i + 2], 16) for i in (0, 2, 4)) for name, hex_ in colours.items()}
    counts = dict.fromkeys(colours, 0)
    pages = sorted(out_dir.glob("page*.ppm"))
    assert pages, "pdftoppm rendered no page"
    for page in pages:
        magic, size, _, pixels = page.read_bytes().split(b"\n", 3)
        assert magic == b"P6", page
        width, height = map(int, size.split())
        assert len(pixels) == 3 * width * height
        rgb = list(zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True))
        for name, (r0, g0, b0) in targets.items():
            counts[name] += sum(1 for r, g, b in rgb if abs(r - r0) <= NEAR and abs(g - g0) <= NEAR
                                and abs(b - b0) <= NEAR)
        page.unlink()
    return counts
