"""Uploads are read outside any transaction, on SQLite and PostgreSQL: while ten large uploads are still being
parsed (held in the parse step here), another person signs in and saves an answer at once. Before, the parse ran
inside the upload's transaction: on SQLite its BEGIN IMMEDIATE locked every writer out ("database is locked"
after 30 s), and on PostgreSQL ten uploads held all ten pooled connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from partner_audit.assessments import xlsx as workbook
from partner_audit.devices.xlsx import register

from tests.support.world import PASSWORD
from tests.support.devices import csv_file, devices, import_file
from tests.support.workbooks import download, put_answers, upload as upload_workbook

UPLOADS = 10
PROMPT = 5.0  # seconds: a sign-in takes a fraction of one


class HeldParse:
    """Wraps a module's parse step so every call waits until ``release``."""

    def __init__(self, monkeypatch, module: Any, name: str) -> None:
        self.entered, self.released = threading.Event(), threading.Event()
        original = getattr(module, name)

        def held(*args: Any) -> Any:
            self.entered.set()
            self.released.wait(60)
            return original(*args)

        monkeypatch.setattr(module, name, held)


def while_uploads_are_parsed(held: HeldParse, upload: Callable[[], Any], meanwhile: Callable[[], None]) -> list[int]:
    """Start ``UPLOADS`` uploads, wait until one is in its parse, run ``meanwhile`` against the clock, then let
    the parses go. Returns the uploads' statuses."""
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(upload().status_code)) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    try:
        assert held.entered.wait(30), "no upload reached its parse"
        time.sleep(0.5)  # the rest pile up behind it
        done = threading.Event()
        failure: list[BaseException] = []

        def timed() -> None:
            try:
                meanwhile()
            except BaseException as exc:  # reported in the test's own thread
                failure.append(exc)
            done.set()

        started = time.perf_counter()
        threading.Thread(target=timed).start()
        finished = done.wait(PROMPT)
        assert finished, f"another person's request waited more than {PROMPT} s on the uploads being parsed"
        assert not failure, failure
        assert time.perf_counter() - started < PROMPT
    finally:
        held.released.set()
        for thread in threads:
            thread.join(90)
    return statuses


def sign_in(world) -> None:
    r = world.client.post("/api/v1/auth/login",
                          json={"email": world.provider_admin.user["email"], "password": PASSWORD})
    world.client.cookies.clear()
    assert r.status_code == 200, r.text


def test_device_imports_being_parsed_hold_up_nobody(world, monkeypatch, mini):
    held = HeldParse(monkeypatch, register, "parse")
    content = csv_file(["Asset Tag,Device Type", "LT-1,laptop", "PH-2,phone"])
    question = download(world.provider_user, mini["id"])[0]["Questions"]["A2"].value

    def meanwhile() -> None:
        sign_in(world)
        put_answers(world.provider_user, mini["id"], {"question_id": question, "value": "yes", "version": 0})

    statuses = while_uploads_are_parsed(
        held, lambda: import_file(world.partnerships, content, "register.csv"), meanwhile)
    # Ten imports adding the same devices at once: on PostgreSQL the ones that lose the race to the unique
    # index are told the register changed meanwhile (409, nothing half-done); SQLite takes them in turn.
    assert 200 in statuses and set(statuses) <= {200, 409}, statuses
    assert sorted(devices(world)) == ["LT-1", "PH-2"]


def test_assessment_workbooks_being_parsed_hold_up_nobody(world, monkeypatch, mini):
    held = HeldParse(monkeypatch, workbook, "read")
    _, r = download(world.provider_user, mini["id"])
    statuses = while_uploads_are_parsed(
        held, lambda: upload_workbook(world.provider_user, mini["id"], r.content), lambda: sign_in(world))
    assert sorted(statuses) == [200] * UPLOADS
