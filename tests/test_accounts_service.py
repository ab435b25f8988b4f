"""The account rules and transactions of app.services.accounts."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.services import ServiceError, accounts
from tests.conftest import TEST_PASSWORD


@pytest.mark.parametrize(
    "raw, stored",
    [("ana", "ana"), ("Ana.Lima", "ana.lima"), ("  bob_99  ", "bob_99"), ("a_b.c", "a_b.c"), ("x" * 30, "x" * 30)],
)
def test_valid_usernames_are_stored_lowercase(raw, stored):
    assert accounts.check_username(raw) == stored


@pytest.mark.parametrize(
    "username, message",
    [
        ("", "3–30 characters"),
        ("ab", "3–30 characters"),
        ("x" * 31, "3–30 characters"),
        ("ana lima", "only contain"),
        ("ana-lima", "only contain"),
        ("anä", "only contain"),
        (".ana", "start or end with a dot"),
        ("ana.", "start or end with a dot"),
        ("an..a", "two dots"),
    ],
)
def test_invalid_usernames_are_refused_with_the_rule_they_break(username, message):
    with pytest.raises(ServiceError, match=message) as error:
        accounts.check_username(username)
    assert error.value.field == "username"


@pytest.mark.parametrize(
    "password, missing",
    [
        ("Sh0rt!", "at least 8 characters"),
        ("alllower1!", "an upper-case letter"),
        ("ALLUPPER1!", "a lower-case letter"),
        ("NoDigits!!", "a digit"),
        ("NoSpecial1", "a special character"),
        ("", "at least 8 characters"),
    ],
)
def test_weak_passwords_name_what_is_missing(password, missing):
    with pytest.raises(ServiceError, match=missing):
        accounts.check_password(password)


@pytest.mark.parametrize("password", ["Corr3ct-Horse!", "Aa1!aaaa", "Pass word 9", "Zürich-2026"])
def test_strong_passwords_pass(password):
    assert accounts.check_password(password) == password


def test_password_length_is_capped():
    with pytest.raises(ServiceError, match="at most 128"):
        accounts.check_password("Aa1!" * 40)


ONE_RULE_BROKEN = {
    "length": "Aa1!aaa",
    "upper": "aaaa1!aaa",
    "lower": "AAAA1!AAA",
    "digit": "Aaaa!aaaa",
    "special": "Aaaa1aaaa",
}


@pytest.mark.parametrize("key, password", ONE_RULE_BROKEN.items())
def test_each_hint_rule_is_enforced_by_the_check(key, password):
    """The rules shown as live hints are exactly the ones the server enforces."""
    assert {rule.key for rule in accounts.PASSWORD_RULES} == set(ONE_RULE_BROKEN)
    assert [rule.key for rule in accounts.PASSWORD_RULES if not rule.is_met(password)] == [key]
    label = next(rule.label for rule in accounts.PASSWORD_RULES if rule.key == key)
    with pytest.raises(ServiceError) as error:
        accounts.check_password(password)
    assert label[1:] in error.value.message


def test_register_creates_the_user_with_a_hash(app):
    with app.app_context():
        user = accounts.register_user("Ana.Lima", TEST_PASSWORD, " Ana ", "Lima")
        stored = db.session.get(User, user.id)
        assert stored.username == "ana.lima"
        assert stored.first_name == "Ana"
        assert stored.display_name == "Ana Lima"
        assert stored.password_hash != TEST_PASSWORD
        assert stored.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
        assert stored.created_at.tzinfo is not None


def test_display_name_falls_back_to_the_username(app):
    with app.app_context():
        user = accounts.register_user("nameless", TEST_PASSWORD)
        assert user.display_name == "nameless"


def test_usernames_are_unique_case_insensitively(app):
    with app.app_context():
        accounts.register_user("ana", TEST_PASSWORD)
        with pytest.raises(ServiceError, match="taken") as error:
            accounts.register_user("ANA", TEST_PASSWORD)
        assert error.value.field == "username"
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_a_race_past_the_check_is_stopped_by_the_unique_constraint(app, monkeypatch):
    """Two sign-ups that both pass the "is it taken?" check: the database keeps one."""
    with app.app_context():
        accounts.register_user("ana", TEST_PASSWORD)
        monkeypatch.setattr(accounts, "find_user", lambda username: None)
        with pytest.raises(ServiceError, match="taken"):
            accounts.register_user("ana", TEST_PASSWORD)
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_invalid_registration_stores_nothing(app):
    with app.app_context():
        with pytest.raises(ServiceError):
            accounts.register_user("ana", "weak")
        with pytest.raises(ServiceError):
            accounts.register_user("ana", TEST_PASSWORD, "x" * 51)
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_authenticate_accepts_the_right_password_only(app):
    with app.app_context():
        accounts.register_user("ana", TEST_PASSWORD)
        assert accounts.authenticate("ana", TEST_PASSWORD).username == "ana"
        assert accounts.authenticate("ANA", TEST_PASSWORD).username == "ana"
        assert accounts.authenticate("ana", "Wrong-pass1") is None
        assert accounts.authenticate("nobody", TEST_PASSWORD) is None
        assert accounts.authenticate("", "") is None
        assert accounts.authenticate("x" * 500, "y" * 5000) is None


def test_unknown_username_costs_a_hash_check_like_a_wrong_password(app, monkeypatch):
    """Equal work for both failures, so response time does not reveal who has an account."""
    with app.app_context():
        accounts.register_user("ana", TEST_PASSWORD)
        checks = []
        real_check = accounts.check_password_hash
        monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: checks.append(h) or real_check(h, p))
        accounts.authenticate("ana", "Wrong-pass1")
        accounts.authenticate("nobody", "Wrong-pass1")
        assert len(checks) == 2
        method = app.config["PASSWORD_HASH_METHOD"]
        assert all(stored.startswith(method + "$") for stored in checks)


def test_login_upgrades_a_hash_made_at_an_older_cost(app):
    with app.app_context():
        user = accounts.register_user("ana", TEST_PASSWORD)
        app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:2"
        assert accounts.authenticate("ana", TEST_PASSWORD) is not None
        assert db.session.get(User, user.id).password_hash.startswith("pbkdf2:sha256:2$")
        assert accounts.authenticate("ana", TEST_PASSWORD) is not None


def test_change_password_needs_the_current_one(app):
    with app.app_context():
        user = accounts.register_user("ana", TEST_PASSWORD)
        with pytest.raises(ServiceError, match="current password") as error:
            accounts.change_password(user, "Not-the-one1", "N3w-Password!")
        assert error.value.field == "current_password"
        assert accounts.authenticate("ana", TEST_PASSWORD) is not None


def test_change_password_applies_the_rules_to_the_new_one(app):
    with app.app_context():
        user = accounts.register_user("ana", TEST_PASSWORD)
        with pytest.raises(ServiceError, match="a digit") as error:
            accounts.change_password(user, TEST_PASSWORD, "No-digits-here")
        assert error.value.field == "new_password"


def test_change_password_invalidates_every_existing_login(app):
    with app.app_context():
        user = accounts.register_user("ana", TEST_PASSWORD)
        old_login_id = user.get_id()
        accounts.change_password(user, TEST_PASSWORD, "N3w-Password!")
        assert accounts.load_user(old_login_id) is None
        assert accounts.load_user(user.get_id()).id == user.id
        assert accounts.authenticate("ana", TEST_PASSWORD) is None
        assert accounts.authenticate("ana", "N3w-Password!") is not None


@pytest.mark.parametrize("login_id", ["", "abc", "1", "1:", ":1", "1:x", "999:1", "1:2:3", None])
def test_malformed_or_unknown_login_ids_load_no_user(app, login_id):
    with app.app_context():
        accounts.register_user("ana", TEST_PASSWORD)
        assert accounts.load_user(login_id) is None
