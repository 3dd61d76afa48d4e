"""Kept apart on the web side: the login checks the password, and a student's server accepts only
that student's cookie or token, never a classmate's."""

from __future__ import annotations

import json
import secrets

OK = 200


def _cookie_names(jar) -> set[str]:
    return {c.name for c in jar}


def test_the_login_rejects_a_wrong_password(hub, students):
    a = students[0]
    status, jar, location = hub.login(a.name, secrets.token_urlsafe(12))
    assert status != 302 and "jupyterhub-hub-login" not in _cookie_names(jar), (status, location)
    # Positive control: the right password logs in (a redirect and the hub's login cookie).
    status, jar, location = hub.login(a.name, hub.password)
    assert status == 302 and "jupyterhub-hub-login" in _cookie_names(jar), (status, location)


def _browser_of(hub, student):
    """A logged-in browser that has opened the student's JupyterLab once (so it holds its cookie)."""
    status, jar, _ = hub.login(student.name, hub.password)
    assert status == 302
    trace = []
    status, where = hub.follow(f"/user/{student.name}/lab", jar, trace=trace)
    assert status == OK, "\n".join(map(str, trace))
    return jar


def _contents(hub, owner, **auth) -> int:
    status, _, body = hub.request("GET", f"/user/{owner.name}/api/contents/{owner.workspace.name}", **auth)
    if status == OK:  # the listing really is the owner's folder
        assert any(item["name"] == "scripts" for item in json.loads(body)["content"])
    return status


def test_a_server_refuses_a_classmates_cookie(hub, students):
    a, b = students[0], students[1]
    jar_a = _browser_of(hub, a)
    assert _contents(hub, a, cookies=jar_a) == OK  # positive control: A's own server
    # A's browser asks for B's server: the hub does not let it in.
    status, where = hub.follow(f"/user/{b.name}/lab", jar_a)
    assert status != OK, f"A's browser opened B's JupyterLab ({where})"
    assert _contents(hub, b, cookies=jar_a) != OK
    # A's server cookie, presented to B's server under B's cookie name: refused too.
    server_cookie = f"jupyterhub-user-{a.name}"
    assert server_cookie in _cookie_names(jar_a), _cookie_names(jar_a)
    from hubkit import copy_cookie

    forged = copy_cookie(jar_a, server_cookie, f"jupyterhub-user-{b.name}", f"/user/{b.name}/")
    assert _contents(hub, b, cookies=forged) != OK


def test_a_server_refuses_a_classmates_token(hub, students):
    a, b = students[0], students[1]
    assert _contents(hub, a, token=a.token) == OK  # positive control
    assert _contents(hub, b, token=b.token) == OK
    assert _contents(hub, b, token=a.token) != OK, "A's token opened B's files"
    assert _contents(hub, a, token=b.token) != OK, "B's token opened A's files"
    # Nor can A start code in B's server: no kernel for A there.
    status, _, _ = hub.request(
        "POST", f"/user/{b.name}/api/kernels", {"name": "python3"}, token=a.token, headers={}
    )
    assert status != 201 and status != OK
