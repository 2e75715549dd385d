"""How users' passwords are kept."""

from werkzeug.security import generate_password_hash

from caretrack.accounts import models
from caretrack.accounts.models import User


def test_passwords_are_hashed_with_scrypt(monkeypatch):
    monkeypatch.setattr(models, "generate_password_hash", generate_password_hash)  # undo the tests' cheap KDF
    user = User(username="zhou", display_name="周老师")
    user.set_password("a-secret-pass-1")
    assert user.password_hash.startswith("scrypt:")
    assert "a-secret-pass-1" not in user.password_hash
    assert user.check_password("a-secret-pass-1")
    assert not user.check_password("a-secret-pass-2")


def test_setting_a_password_ends_other_sessions():
    user = User(username="zhou", display_name="周老师", session_token="old-token")
    user.set_password("a-secret-pass-1")
    assert user.session_token != "old-token"
    assert user.get_id().endswith(f":{user.session_token}")
