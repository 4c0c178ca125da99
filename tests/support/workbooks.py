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
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui); .ci/run installs it")
    profile = (out_dir / "profile").as_uri()  # its own profile: no clash with a LibreOffice already running
    result = subprocess.run(
        [binary, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx", "--outdir",
         str(out_dir), str(path)], capture_output=True, text=True, timeout=180)
    converted = out_dir / path.name
    assert result.returncode == 0 and converted.exists(), result.stdout + result.stderr
    return converted
