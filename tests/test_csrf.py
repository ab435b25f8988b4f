"""CSRF on every state-changing route: every route that takes anything but GET, HEAD or OPTIONS,
found in the app's url_map, refuses a request without a token or with another session's token,
and stores nothing. The requests are the ones tests/test_authorization.py sends with a valid token
(where the same signed-in member succeeds), so the only thing wrong with them here is the token."""

from app.extensions import csrf
from tests.reliability import record
from tests.test_authorization import ROUTES, World, http_rules, perform, session_ids, snapshot

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_csrf_refusal(response, json_api: bool) -> bool:
    """Whether the response is the CSRF error (400, "Form expired"), not some other refusal."""
    if response.status_code != 400:
        return False
    if json_api:
        return (response.get_json(silent=True) or {}).get("error") == "form_expired"
    return "Form expired" in response.get_data(as_text=True)


def test_every_state_changing_route_refuses_a_missing_or_foreign_token(app):
    """Signed in as bob with CSRF protection on, every non-GET route answers the CSRF error (400)
    to a request without a token and to one carrying eve's valid token (as the form field, or as
    the JSON API's X-CSRFToken header); afterwards the database is as before, no session was
    started or ended, and bob is still signed in. No view or blueprint is exempt, so a new route
    cannot slip out: it either has a row in ROUTES and is tried here, or the row test fails. The
    JSON API takes the token from the header only: in the body it is refused."""
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert not csrf._exempt_views and not csrf._exempt_blueprints
    world = World(app)
    unsafe = {key for key in http_rules(app) if key.split(" ")[1] not in SAFE_METHODS}
    assert {"auth.logout POST", "settings.delete_account POST", "api.direct_conversation POST"} <= unsafe
    before, sessions_before = snapshot(app), session_ids(app)
    problems = []
    for key in sorted(unsafe):
        assert key in ROUTES, f"{key} has no row in tests/test_authorization.py ROUTES"
        method = key.split(" ")[1]
        for label, token in (("no token", None), ("another session's token", world.token["non_member"])):
            call = ROUTES[key].call(world, "member")  # built anew: an upload's file is read once
            response = perform(world, "member", method, call, token=token)
            if not is_csrf_refusal(response, json_api=call.json is not None):
                problems.append(f"{key} with {label}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    record(
        "Security",
        f"CSRF on every state-changing route ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})",
        {"non-GET routes": len(unsafe), "requests refused": 2 * len(unsafe), "accepted": 0},
        "Each non-GET route requested by a signed-in user without a token and with another session's valid token; "
        "each must get the CSRF refusal (400) and change nothing.",
    )
    assert snapshot(app).product == before.product, "a refused request changed the database"
    assert session_ids(app) == sessions_before, "a refused request started or ended a session"
    assert world.signed_in("member")

    # The header with the session's own token is what opens the chat.
    call = ROUTES["api.direct_conversation POST"].call(world, "member")
    in_body = world.client["member"].post(call.path, json={**call.json, "csrf_token": world.token["member"]})
    assert is_csrf_refusal(in_body, json_api=True)
    response = perform(world, "member", "POST", call)
    assert response.status_code == 200 and response.get_json()["kind"] == "direct"
