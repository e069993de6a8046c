"""Users: passwords hashed with Argon2, failed sign-ins slowed down, names, addresses and languages kept."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from events.domain.canonical import parse_time
from events.domain.errors import AlreadyExists, InvalidInput, NotFound
from service import accounts

NOW = parse_time("2026-01-10T09:00:00Z")


@pytest.fixture
def engine(app):
    return app.extensions["policy_ledger"].engine


def test_a_password_is_stored_only_as_an_argon2id_hash_and_checked(engine):
    accounts.add_user(engine, "dean", ["author"], full_name="Нурлан Абдыкадыров", email="dean@oshsu.example",
                      language="ky", password="сапат-саясаты-2019")
    with engine.connect() as connection:
        stored = connection.execute(select(accounts.users.c.password_hash)).scalar_one()
        user = accounts.find(connection, "dean")
    assert stored.startswith("$argon2id$") and "сапат" not in stored
    assert user is not None and (user.full_name, user.email, user.language) == (
        "Нурлан Абдыкадыров", "dean@oshsu.example", "ky")
    assert accounts.check_password(engine, "dean", "сапат-саясаты-2019", NOW) == user
    assert accounts.check_password(engine, "dean", "сапат-саясаты-2020", NOW) is None


def test_an_unknown_user_and_a_user_without_a_password_sign_in_nowhere(engine):
    accounts.add_user(engine, "token-only", ["auditor"])
    assert accounts.check_password(engine, "nobody", "whatever-it-is", NOW) is None
    assert accounts.check_password(engine, "token-only", "whatever-it-is", NOW) is None
    with engine.connect() as connection:
        assert accounts.find(connection, "token-only").has_password is False
        assert accounts.find(connection, "token-only").full_name == "token-only"


def test_after_five_failures_each_attempt_waits_twice_as_long_and_a_good_password_resets_the_count(engine):
    accounts.add_user(engine, "rector", ["approver"], password="ректордун-сыр-сөзү")
    for minute in range(5):
        assert accounts.check_password(engine, "rector", "wrong-password!", NOW + timedelta(minutes=minute)) is None
    fifth = NOW + timedelta(minutes=4)
    with pytest.raises(accounts.TooManyAttempts) as refused:
        accounts.check_password(engine, "rector", "ректордун-сыр-сөзү", fifth)  # even the right one must wait
    assert refused.value.seconds == 1
    assert accounts.check_password(engine, "rector", "wrong-password!", fifth + timedelta(seconds=1)) is None
    with pytest.raises(accounts.TooManyAttempts) as refused:
        accounts.check_password(engine, "rector", "wrong-password!", fifth + timedelta(seconds=2))
    assert refused.value.seconds == 1  # the sixth failure doubled the wait to two seconds
    assert accounts.check_password(engine, "rector", "ректордун-сыр-сөзү", fifth + timedelta(seconds=3)) is not None
    assert accounts.check_password(engine, "rector", "wrong-password!", fifth + timedelta(seconds=3)) is None


def test_the_wait_grows_to_fifteen_minutes_at_most():
    last = "2026-01-10T09:00:00.000000Z"
    assert accounts.wait_before_next_attempt(4, last, NOW) == timedelta(0)
    assert accounts.wait_before_next_attempt(7, last, NOW) == timedelta(seconds=4)
    assert accounts.wait_before_next_attempt(40, last, NOW) == timedelta(minutes=15)
    assert accounts.wait_before_next_attempt(40, last, NOW + timedelta(hours=1)) == timedelta(0)


@pytest.mark.parametrize("fields, field", [
    ({"password": "short"}, "password"),
    ({"email": "not-an-address"}, "email"),
    ({"language": "fr"}, "language"),
])
def test_bad_profile_fields_are_refused_naming_them_and_create_nobody(engine, fields, field):
    with pytest.raises(InvalidInput) as refused:
        accounts.add_user(engine, "teacher", ["author"], **fields)
    assert refused.value.field == field
    with engine.connect() as connection:
        assert accounts.find(connection, "teacher") is None


def test_a_new_password_replaces_the_old_one_and_forgets_the_failures(engine):
    accounts.add_user(engine, "auditor", ["auditor"], password="first-password")
    assert accounts.check_password(engine, "auditor", "nope-nope-nope", NOW) is None
    accounts.set_password(engine, "auditor", "second-password")
    assert accounts.check_password(engine, "auditor", "first-password", NOW) is None
    assert accounts.check_password(engine, "auditor", "second-password", NOW) is not None
    with pytest.raises(NotFound):
        accounts.set_password(engine, "nobody", "second-password")
    with pytest.raises(AlreadyExists):
        accounts.add_user(engine, "auditor", ["auditor"])


def test_holders_of_a_role_are_listed_by_name(engine):
    accounts.add_user(engine, "reviewer2", ["reviewer"])
    accounts.add_user(engine, "reviewer1", ["reviewer", "author"])
    accounts.add_user(engine, "dean", ["author"])
    with engine.connect() as connection:
        assert [u.name for u in accounts.holders(connection, "reviewer")] == ["reviewer1", "reviewer2"]


def test_the_command_line_gives_a_password_from_standard_input(runner, engine):
    added = runner.invoke(args=["users", "add", "qa-director", "--role", "approver", "--full-name",
                                "Жыпаргүл Асанова", "--email", "qa@oshsu.example", "--language", "ky",
                                "--password-stdin"], input="сапат-директору-2026\n")
    assert added.exit_code == 0, added.output
    assert "and a password for the pages" in added.stdout
    assert accounts.check_password(engine, "qa-director", "сапат-директору-2026", NOW) is not None
    changed = runner.invoke(args=["users", "password", "qa-director"], input="жаңы-сыр-сөз-2026\n")
    assert changed.exit_code == 0, changed.output
    assert accounts.check_password(engine, "qa-director", "жаңы-сыр-сөз-2026", NOW) is not None
    short = runner.invoke(args=["users", "password", "qa-director"], input="short\n")
    assert short.exit_code == 1 and "a password is 10 to 1024 characters" in short.output
    unknown = runner.invoke(args=["users", "password", "nobody"], input="long-enough-password\n")
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output
