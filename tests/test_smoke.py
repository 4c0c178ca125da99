def test_world_builds(world):
    r = world.admin.get("/api/v1/providers")
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 2
    r = world.provider_user.get("/api/v1/providers")
    assert [p["name"] for p in r.json()["items"]] == ["Provider A Trust"]
    r = world.provider_user.get(f"/api/v1/providers/{world.provider_b['id']}")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
