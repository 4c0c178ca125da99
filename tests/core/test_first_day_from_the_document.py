"""A new user's first day, from the API document alone: every request is found by its summary in
/schema/openapi.json, sent with the media type the document gives, and answered with a status the document lists.

On the demo data: the demo provider's people finish this quarter's assessment (carried answers confirmed or
changed, the rest answered, evidence uploaded through the form the document describes), the privacy lead submits,
the auditor returns it with a question, a provider user replies in the thread and the lead submits again, the
auditor accepts; then the next period's assessment opens with every answer carried, to be confirmed before it can
be submitted. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from partner_audit import demo
from partner_audit.security.csrf import token_for_session
from partner_audit.security.middleware import SESSION_COOKIE

PDF = b"%PDF-1.4\n% a policy, as a provider would attach it\n%%EOF\n"


class Document:
    """The operations of /schema/openapi.json by summary, and requests checked against them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        doc = client.get("/schema/openapi.json").json()
        self.ops = {op["summary"]: (method, path, op) for path, ops in doc["paths"].items()
                    for method, op in ops.items()}
        self.schemas = doc["components"]["schemas"]

    def call(self, who: dict[str, str], summary: str, expect: int, *, json: Any = None, data: Any = None,
             files: Any = None, **path: Any) -> Any:
        method, template, op = self.ops[summary]
        body = op.get("requestBody", {}).get("content", {})
        if json is not None:
            assert "application/json" in body, (summary, list(body))
        if files is not None:
            assert "multipart/form-data" in body, (summary, list(body))
            form = self._schema(body["multipart/form-data"]["schema"])
            assert set(files) | set(data or {}) <= set(form["properties"]), (summary, form)
        r = self.client.request(method.upper(), template.format(**path), headers=who, json=json, data=data,
                                files=files)
        assert str(r.status_code) in op["responses"], (summary, r.status_code, list(op["responses"]))
        documented = op["responses"][str(r.status_code)].get("content", {})
        if r.content:
            assert r.headers["content-type"].split(";")[0] in documented, (summary, r.headers["content-type"])
        assert r.status_code == expect, (summary, r.status_code, r.text[:500])
        return r.json() if r.content and "json" in r.headers["content-type"] else None

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return self.schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema


def value_for(question: dict[str, Any]) -> Any:
    """What a provider would type, from the question as the assessment shows it."""
    options = [o["value"] for o in question.get("options") or []]
    if question["type"] == "multi_choice":
        return options[:1]
    if options:
        return options[0]
    if question["type"] == "number":
        return int(question.get("min") or 0) + 1
    if question["type"] == "date":
        return date.today().isoformat()
    return "Our privacy lead reviews this each quarter."


def questions(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for area in view["areas"] for control in area["controls"] for q in control["questions"]]


def test_a_providers_first_day_from_the_api_document_alone(client, run, settings):
    made = run(lambda: demo.load(settings))
    logins = {email: password for _, email, password in made.logins}
    api = Document(client)

    def sign_in(local: str) -> dict[str, str]:
        email = f"{local}@{demo.DEMO_DOMAIN}"
        api.call({}, "Sign in", 200, json={"email": email, "password": logins[email]})
        secret = client.cookies[SESSION_COOKIE]
        client.cookies.clear()
        # The browser keeps the cookie; the /schema page sends the session's CSRF token with each change.
        return {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": token_for_session(secret)}

    staff, lead, auditor, partnerships = (sign_in(p) for p in ("provider.user", "provider.admin", "auditor",
                                                               "partnerships"))
    mine = api.call(staff, "List assessments", 200)["items"]
    [current] = [a for a in mine if a["status"] == "in_progress"]
    aid = current["id"]

    # The questionnaire, as the provider sees it: carried answers wait to be confirmed.
    view = api.call(staff, "Read an assessment", 200, assessment_id=aid)
    carried = [q for q in questions(view) if q["shown"] and q["answer"] and q["answer"]["carried_from"]
               and not q["answer"]["confirmed"]]
    assert carried and view["progress"]["unconfirmed"] == len(carried)
    api.call(staff, "Confirm carried answers unchanged", 200, assessment_id=aid,
             json={"question_ids": [q["id"] for q in carried[:5]]})

    # Everything else shown: answered (saving a carried answer confirms it), until nothing is lacking but files.
    for _ in range(10):
        view = api.call(staff, "Read an assessment", 200, assessment_id=aid)
        todo = [q for q in questions(view) if q["shown"] and (
            q["answer"] is None or (q["answer"]["carried_from"] and not q["answer"]["confirmed"]))]
        if not todo:
            break
        api.call(staff, "Save answers", 200, assessment_id=aid, json={"answers": [
            {"question_id": q["id"], "value": q["answer"]["value"] if q["answer"] else value_for(q),
             "version": q["answer"]["version"] if q["answer"] else 0} for q in todo]})
    for question in questions(view):
        if question["shown"] and question["needs_evidence"] and not question["has_evidence"]:
            api.call(staff, "Upload evidence", 201, assessment_id=aid, data={"question_id": question["id"]},
                     files={"file": (f"{question['id']}.pdf", PDF, "application/pdf")})
    view = api.call(staff, "Read an assessment", 200, assessment_id=aid)
    assert view["progress"]["complete"], view["progress"]

    # Submitted, returned with a question, answered in the thread, submitted again, accepted.
    api.call(staff, "Submit an assessment", 403, assessment_id=aid)  # the privacy lead signs it off
    api.call(lead, "Submit an assessment", 200, assessment_id=aid)
    asked = next(q for q in questions(view) if q["shown"] and q["has_evidence"])
    question = api.call(auditor, "Comment on an assessment, or reply", 201, assessment_id=aid,
                        json={"question_id": asked["id"], "body": "Is this the version your board approved?"})
    assert question["author"]["role"] == "auditor" and question["author"]["name"] == "Tama Auditor"
    api.call(auditor, "Return an assessment", 200, assessment_id=aid, json={"reason": "One question, see comments."})
    view = api.call(staff, "Read an assessment", 200, assessment_id=aid)
    [raised] = [q for q in questions(view) if q["raised"]]
    assert raised["id"] == asked["id"] and not raised["answered_since_raised"]
    reply = api.call(staff, "Comment on an assessment, or reply", 201, assessment_id=aid,
                     json={"question_id": asked["id"], "reply_to": question["id"],
                           "body": "Yes: approved at the March board meeting, minute 4.2."})
    assert reply["author"] == {"id": reply["author"]["id"], "name": "Wiremu Kaimahi", "role": "provider_user"}
    view = api.call(lead, "Read an assessment", 200, assessment_id=aid)
    assert [q["answered_since_raised"] for q in questions(view) if q["raised"]] == [True]
    api.call(lead, "Submit an assessment", 200, assessment_id=aid)
    api.call(auditor, "Accept an assessment", 200, assessment_id=aid, json={"note": "Thank you."})

    # The next period opens with every answer carried, to be confirmed one by one before it can be submitted.
    template_version = current["template_version_id"]
    rollout = api.call(partnerships, "Plan a rollout", 201, json={
        "name": "Next period", "template_version_id": template_version, "period": "2027-Q1",
        "opens_on": "2027-01-11", "due_on": "2027-02-26", "selection": {"provider_ids": [current["provider_id"]]}})
    api.call(partnerships, "Launch a rollout", 200, rollout_id=rollout["id"])
    [following] = [a for a in api.call(staff, "List assessments", 200)["items"] if a["period"] == "2027-Q1"]
    view = api.call(staff, "Read an assessment", 200, assessment_id=following["id"])
    waiting = [q for q in questions(view) if q["answer"] and not q["answer"]["confirmed"]]
    assert waiting and all(q["answer"]["carried_from"] == aid for q in waiting)
    refused = api.call(lead, "Submit an assessment", 422, assessment_id=following["id"])
    assert {f"answers.{q['id']}" for q in waiting if q["shown"]} <= {e["field"] for e in refused["errors"]}
