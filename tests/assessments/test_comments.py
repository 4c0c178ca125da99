"""Comment threads: reviewers and the provider's own people write and reply, each comment names its author, and a
question a reviewer raised shows whether the provider has answered since."""

from __future__ import annotations

import asyncio

from partner_audit.assessments.services import review
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.assessments import assessment_of, launched
from tests.support.problems import problem

PDF = b"%PDF-1.4\n% the device list\n%%EOF\n"


def comment(api, aid: str, body: str, question_id: str | None = "device-count", **extra):
    return api.post(f"/api/v1/assessments/{aid}/comments",
                    json={"body": body, **({"question_id": question_id} if question_id else {}), **extra})


def question(api, aid: str, question_id: str) -> dict:
    view = api.get(f"/api/v1/assessments/{aid}").json()
    return next(q for a in view["areas"] for c in a["controls"] for q in c["questions"] if q["id"] == question_id)


def a_assessment(world, template_id) -> str:
    launched(world, template_id)
    return assessment_of(world.provider_user, world.provider_a["id"])["id"]


def submitted(world, aid: str) -> None:
    r = world.provider_user.put(f"/api/v1/assessments/{aid}/answers", json={"answers": [
        {"question_id": "has-lead", "value": "no"}, {"question_id": "lead-maturity", "value": 2},
        {"question_id": "device-count", "value": 3}]})
    assert r.status_code == 200, r.text
    r = world.provider_admin.post(f"/api/v1/assessments/{aid}/submit")
    assert r.status_code == 200, r.text


def test_reviewers_and_the_providers_people_write_in_one_thread_with_names_and_roles(world, template_id):
    aid = a_assessment(world, template_id)
    raised = comment(world.auditor, aid, "How many phones?")
    assert raised.status_code == 201, raised.text
    reply = comment(world.provider_user, aid, "Three.", reply_to=raised.json()["id"])
    assert reply.status_code == 201, reply.text
    also = comment(world.provider_admin, aid, "And two tablets.", reply_to=reply.json()["id"])
    assert also.status_code == 201, also.text
    general = comment(world.admin, aid, "Thanks for the quick answers.", question_id=None)
    assert general.status_code == 201, general.text

    assert reply.json()["author"] == {"id": str(world.provider_user.user["id"]), "name": "Provider User",
                                      "role": "provider_user"}
    assert reply.json()["reply_to"] == raised.json()["id"] and raised.json()["reply_to"] is None
    view = world.provider_user.get(f"/api/v1/assessments/{aid}").json()
    thread = question(world.provider_user, aid, "device-count")["comments"]
    assert [(c["body"], c["author"]["name"], c["author"]["role"]) for c in thread] == [
        ("How many phones?", "Auditor", "auditor"), ("Three.", "Provider User", "provider_user"),
        ("And two tablets.", "Provider Admin", "provider_admin")]
    assert [c["body"] for c in view["assessment_comments"]] == ["Thanks for the quick answers."]
    assert view["assessment_comments"][0]["author"]["role"] == "admin"
    assert len(view["comments"]) == 4  # the flat list earlier clients read


def test_an_author_without_a_name_shows_their_email(world, template_id, run):
    from partner_audit.security.tables import User

    aid = a_assessment(world, template_id)
    run(lambda: User.update({User.full_name: "  "}).where(User.id == world.provider_user.user["id"]).run())
    r = comment(world.provider_user, aid, "A question from us.")
    assert r.json()["author"]["name"] == "provider.user@example.org"


def test_a_reply_must_be_in_the_same_thread_of_the_same_assessment(world, template_id):
    aid = a_assessment(world, template_id)
    on_count = comment(world.auditor, aid, "How many phones?").json()
    on_lead = comment(world.auditor, aid, "Who is it?", question_id="has-lead").json()
    launched(world, template_id, provider_ids=[str(world.provider_b["id"])])
    bid = assessment_of(world.b_admin, world.provider_b["id"])["id"]
    b_comment = comment(world.auditor, bid, "B's thread").json()

    wrong_question = comment(world.provider_user, aid, "x", reply_to=on_lead["id"])
    problem(wrong_question, 422, "reply_to")
    to_whole = comment(world.provider_user, aid, "x", question_id=None, reply_to=on_count["id"])
    problem(to_whole, 422, "reply_to")
    # Another assessment's comment (an auditor may see both) and one that does not exist read the same.
    elsewhere = problem(comment(world.auditor, aid, "x", reply_to=b_comment["id"]), 422, "reply_to")
    nowhere = problem(comment(world.auditor, aid, "x", reply_to="00000000-0000-4000-8000-000000000000"), 422,
                      "reply_to")
    assert elsewhere["detail"] == nowhere["detail"]
    # The provider's people too: B's comment id tells A's people nothing.
    mine = problem(comment(world.provider_user, aid, "x", reply_to=b_comment["id"]), 422, "reply_to")
    assert mine["detail"] == nowhere["detail"] and "B" not in mine["detail"]
    assert len(world.auditor.get(f"/api/v1/assessments/{aid}").json()["comments"]) == 2


def test_who_may_comment_and_on_whose_assessment(world, template_id):
    aid = a_assessment(world, template_id)
    for api in (world.b_user, world.b_admin):
        problem(comment(api, aid, "Not ours"), 404)
    for api in (world.partnerships, world.governance):
        body = problem(comment(api, aid, "Not a reviewer"), 403)
        assert "needs one of these roles" in body["detail"]
    problem(comment(world.provider_user, "00000000-0000-4000-8000-000000000000", "x"), 404)
    problem(comment(world.provider_user, aid, "x", question_id="no-such-question"), 422, "question_id")
    assert world.admin.get(f"/api/v1/assessments/{aid}").json()["comments"] == []


def test_bad_bodies_are_refused_naming_the_field(world, template_id):
    aid = a_assessment(world, template_id)
    url = f"/api/v1/assessments/{aid}/comments"
    problem(world.provider_user.post(url, json={"body": "bell\x07"}), 400, "body")
    problem(world.provider_user.post(url, json={"body": "x" * 5001}), 400, "body")
    problem(world.provider_user.post(url, json={"body": " \n\t "}), 422, "body")
    problem(world.provider_user.post(url, json={"body": "x", "reply_to": "not-a-uuid"}), 400, "reply_to")
    problem(world.provider_user.post(url, json={"body": "x", "author_role": "auditor"}), 400, "author_role")
    problem(world.provider_user.post(url, content=b'{"body": "' + b"x" * (11 * 2**20) + b'"}',
                                     headers={"Content-Type": "application/json"}), 413)
    r = world.provider_user.post(url, content=b'{"body": "x"}', headers={"Content-Type": "text/plain"})
    problem(r, 415, "Content-Type")
    assert world.admin.get(f"/api/v1/assessments/{aid}").json()["comments"] == []


def test_when_each_side_may_comment(world, template_id):
    aid = a_assessment(world, template_id)
    assert comment(world.provider_user, aid, "Before we start: is phone count per person?").status_code == 201
    submitted(world, aid)
    # Submitted: with the reviewers. They comment; the provider's people wait for it to come back.
    assert comment(world.auditor, aid, "Is 3 everyone?").status_code == 201
    body = problem(comment(world.provider_user, aid, "Yes"), 409)
    assert "with the reviewers" in body["detail"]
    assert world.auditor.post(f"/api/v1/assessments/{aid}/return", json={"reason": "See the comment."}
                              ).status_code == 200
    assert comment(world.provider_user, aid, "Yes, everyone.").status_code == 201
    assert world.provider_admin.post(f"/api/v1/assessments/{aid}/submit").status_code == 200
    assert world.auditor.post(f"/api/v1/assessments/{aid}/accept", json={"note": "ok"}).status_code == 200
    # Accepted is locked for everyone until a reviewer reopens it.
    for api in (world.auditor, world.admin, world.provider_admin):
        assert "reopen it" in problem(comment(api, aid, "One more thing"), 409)["detail"]
    assert world.auditor.post(f"/api/v1/assessments/{aid}/reopen", json={"reason": "New devices."}
                              ).status_code == 200
    assert comment(world.auditor, aid, "How many new devices?").status_code == 201
    assert comment(world.provider_user, aid, "Two.").status_code == 201


def test_a_raised_question_shows_whether_the_provider_answered_since(world, template_id):
    aid = a_assessment(world, template_id)
    submitted(world, aid)
    url = f"/api/v1/assessments/{aid}"

    def state(api=world.auditor) -> tuple[bool, bool, int, int]:
        q = question(api, aid, "device-count")
        view = api.get(url).json()
        return q["raised"], q["answered_since_raised"], view["raised_questions"], view["raised_awaiting_answer"]

    assert state() == (False, False, 0, 0)
    first = comment(world.auditor, aid, "Phones too?").json()
    world.auditor.post(f"{url}/return", json={"reason": "See the comments."})
    assert state(world.provider_user) == (True, False, 1, 1)
    # A reply from the provider's people answers it.
    comment(world.provider_user, aid, "Counting them now.", reply_to=first["id"])
    assert state() == (True, True, 1, 0)
    # The reviewer's next comment raises it again; another reviewer comment does not answer it.
    comment(world.auditor, aid, "Please change the count, not just reply.")
    comment(world.admin, aid, "Agreed.")
    assert state() == (True, False, 1, 1)
    # Changing the answer answers it.
    version = question(world.provider_user, aid, "device-count")["answer"]["version"]
    world.provider_user.put(f"{url}/answers", json={"answers": [
        {"question_id": "device-count", "value": 5, "version": version}]})
    assert state() == (True, True, 1, 0)
    # And so does attaching a file, after a further request.
    comment(world.auditor, aid, "Attach the list.")
    assert state() == (True, False, 1, 1)
    r = world.provider_user.post(f"{url}/evidence", data={"question_id": "device-count"},
                                 files={"file": ("devices.pdf", PDF)})
    assert r.status_code == 201, r.text
    assert state() == (True, True, 1, 0)
    # A comment on the assessment as a whole raises no question; another question's does.
    comment(world.auditor, aid, "Overall fine.", question_id=None)
    comment(world.auditor, aid, "Who is the lead?", question_id="has-lead")
    view = world.auditor.get(url).json()
    assert (view["raised_questions"], view["raised_awaiting_answer"]) == (2, 1)


def test_a_reviewer_stays_a_reviewer_in_the_thread_after_a_role_change(world, template_id, run):
    """Whether a comment raised a question is decided by the role it was written as."""
    from partner_audit.security.tables import User

    aid = a_assessment(world, template_id)
    comment(world.auditor, aid, "Phones too?")
    run(lambda: User.update({User.role: Role.partnerships.value}).where(
        User.id == world.auditor.user["id"]).run())
    q = question(world.admin, aid, "device-count")
    assert q["raised"] and not q["answered_since_raised"]
    assert q["comments"][0]["author"]["role"] == "auditor"


def test_comments_are_in_the_access_log(world, template_id, run):
    aid = a_assessment(world, template_id)
    raised = comment(world.auditor, aid, "Phones too?").json()
    comment(world.provider_user, aid, "Yes.", reply_to=raised["id"])
    problem(comment(world.b_user, aid, "Let me in"), 404)
    submitted(world, aid)
    problem(comment(world.provider_user, aid, "Late"), 409)
    rows = run(lambda: AccessLogEntry.select(AccessLogEntry.email, AccessLogEntry.outcome, AccessLogEntry.record_id,
                                             AccessLogEntry.provider_id, AccessLogEntry.detail)
               .where(AccessLogEntry.action == "assessment.comment").order_by(AccessLogEntry.seq).run())
    assert [(r["email"], r["outcome"]) for r in rows] == [
        ("auditor@example.org", "success"), ("provider.user@example.org", "success"),
        ("b.user@example.org", "not_found"), ("provider.user@example.org", "conflict")]
    assert all(r["record_id"] == str(aid) for r in rows)
    assert [r["provider_id"] for r in rows[:2]] == [str(world.provider_a["id"])] * 2
    assert rows[1]["detail"] == f"on device-count, replying to {raised['id']}"


def test_comments_written_at_once_all_land_in_order(world, template_id, run):
    aid = a_assessment(world, template_id)
    user = world.provider_user.user
    caller = Caller(user["id"], user["email"], Role.provider_user, world.provider_a["id"])
    first = comment(world.auditor, aid, "Phones too?").json()

    async def twenty() -> list[dict]:
        return await asyncio.gather(*(review.add_comment(caller, aid, "device-count", f"reply {n}", first["id"])
                                      for n in range(20)))

    made = run(twenty)
    thread = question(world.auditor, aid, "device-count")["comments"]
    assert len(thread) == 21 and {c["id"] for c in thread[1:]} == {str(m["id"]) for m in made}
    assert all(c["reply_to"] == first["id"] for c in thread[1:])
    assert [c["created_at"] for c in thread] == sorted(c["created_at"] for c in thread)


def test_comments_from_before_author_roles_take_their_authors_role(world, template_id, run):
    """The migration's backfill: a reviewer's comment written before comments had an author role still raises its
    question once migrated."""
    import importlib.util

    from partner_audit import db
    from partner_audit.assessments.tables import ReviewComment

    path = next((db.MIGRATIONS_DIR).glob("partner_audit_2026_12_02t21_53_46_000000.py"))
    spec = importlib.util.spec_from_file_location("backfill_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    aid = a_assessment(world, template_id)
    made = comment(world.auditor, aid, "Phones too?").json()
    run(lambda: ReviewComment.update({ReviewComment.author_role: None}).where(ReviewComment.id == made["id"]).run())
    assert not question(world.admin, aid, "device-count")["raised"]
    run(lambda: ReviewComment._meta.db.run_ddl(migration.BACKFILL))
    q = question(world.admin, aid, "device-count")
    assert q["raised"] and q["comments"][0]["author"]["role"] == "auditor"
