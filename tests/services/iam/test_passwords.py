"""Console passwords: the account password policy, login profiles, ChangePassword.

The password policy is account-wide and the test server is shared, so every
test that sets one removes it again (the ``policy`` fixture).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.iam import password_policy as pp
from tests.conftest import Server
from tests.services.iam.helpers import allow, unique, user_with_keys
from tests.services.iam.helpers import error_of as error

GOOD = "Str0ng!Passw0rd"


@pytest.fixture
def policy(iam: Any) -> Iterator[Callable[..., None]]:
    """Set the account password policy for one test; the default rules return afterwards."""

    def set_policy(**members: Any) -> None:
        iam.update_account_password_policy(**members)

    yield set_policy
    try:
        iam.delete_account_password_policy()
    except ClientError:
        pass


@pytest.fixture
def user(iam: Any) -> str:
    name = unique("pw")
    iam.create_user(UserName=name)
    return name


# --- the account password policy ---------------------------------------------------------


def test_password_policy_round_trip(iam: Any, policy: Callable[..., None], server: Server) -> None:
    policy(
        MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True, RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True, AllowUsersToChangePassword=True, MaxPasswordAge=90,
        PasswordReusePrevention=24, HardExpiry=True,
    )
    got = iam.get_account_password_policy()["PasswordPolicy"]
    assert got == {
        "MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True,
        "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True, "ExpirePasswords": True, "MaxPasswordAge": 90,
        "PasswordReusePrevention": 24, "HardExpiry": True,
    }
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as excinfo:
        iam.get_account_password_policy()
    assert error(excinfo) == ("NoSuchEntity", f"The Password Policy with domain name {server.account_id} cannot be found.")
    with pytest.raises(ClientError) as excinfo:
        iam.delete_account_password_policy()
    assert error(excinfo)[0] == "NoSuchEntity"


def test_update_replaces_the_whole_policy_with_defaults(iam: Any, policy: Callable[..., None]) -> None:
    policy(MinimumPasswordLength=20, RequireSymbols=True, MaxPasswordAge=30)
    policy()
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "MinimumPasswordLength": 6, "RequireSymbols": False, "RequireNumbers": False,
        "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False, "ExpirePasswords": False,
    }


@pytest.mark.parametrize(
    ("members", "bad", "good"),
    [
        ({"MinimumPasswordLength": 12}, "short1A!", "long-enough-1A!"),
        ({"RequireSymbols": True}, "NoSymbols123", "Symbol|123"),
        ({"RequireNumbers": True}, "NoNumbers!!", "Numbers!!1"),
        ({"RequireUppercaseCharacters": True}, "lowercase1!", "Uppercase1!"),
        ({"RequireLowercaseCharacters": True}, "UPPERCASE1!", "UPPERCASe1!"),
    ],
)
def test_each_rule_refuses_a_bad_password(
    iam: Any, policy: Callable[..., None], user: str, members: dict[str, Any], bad: str, good: str
) -> None:
    policy(**members)
    with pytest.raises(ClientError) as excinfo:
        iam.create_login_profile(UserName=user, Password=bad)
    assert error(excinfo) == ("PasswordPolicyViolation", "Password does not conform to the account password policy.")
    iam.create_login_profile(UserName=user, Password=good)
    with pytest.raises(ClientError) as excinfo:
        iam.update_login_profile(UserName=user, Password=bad)
    assert error(excinfo)[0] == "PasswordPolicyViolation"


@pytest.mark.parametrize(
    "bad",
    ["Ab1!xyz", "alllowercase1", "ALLUPPER!!!", "nouppercase!"],
    ids=["seven-characters", "two-classes-lower-digit", "two-classes-upper-symbol", "two-classes-lower-symbol"],
)
def test_default_rules_without_a_policy(iam: Any, user: str, bad: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam.create_login_profile(UserName=user, Password=bad)
    assert error(excinfo)[0] == "PasswordPolicyViolation"
    iam.create_login_profile(UserName=user, Password="three-of-4!")  # lower, symbols, ... and digits
    iam.delete_login_profile(UserName=user)


def test_default_rules_refuse_the_user_name(iam: Any) -> None:
    name = "Pw-" + unique("X1")[:20]
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as excinfo:
        iam.create_login_profile(UserName=name, Password=name)
    assert error(excinfo)[0] == "PasswordPolicyViolation"


def test_reuse_prevention(iam: Any, policy: Callable[..., None], user: str) -> None:
    policy(PasswordReusePrevention=2)
    first, second, third = "First-pass1", "Second-pass2", "Third-pass3"
    iam.create_login_profile(UserName=user, Password=first)
    for again in (first,):
        with pytest.raises(ClientError) as excinfo:
            iam.update_login_profile(UserName=user, Password=again)
        assert error(excinfo) == (
            "PasswordPolicyViolation",
            "Policy constraint violation with password reuse prevention during password change.",
        )
    iam.update_login_profile(UserName=user, Password=second)
    with pytest.raises(ClientError):
        iam.update_login_profile(UserName=user, Password=first)  # one of the last two
    iam.update_login_profile(UserName=user, Password=third)
    iam.update_login_profile(UserName=user, Password=first)  # three back: allowed with N=2


# --- login profiles -----------------------------------------------------------------------


def test_login_profile_lifecycle(iam: Any, user: str) -> None:
    created = iam.create_login_profile(UserName=user, Password=GOOD, PasswordResetRequired=True)["LoginProfile"]
    assert created["UserName"] == user and created["PasswordResetRequired"] is True
    assert isinstance(created["CreateDate"], dt.datetime)
    got = iam.get_login_profile(UserName=user)["LoginProfile"]
    assert got == created and "Password" not in got
    with pytest.raises(ClientError) as excinfo:
        iam.create_login_profile(UserName=user, Password=GOOD)
    assert error(excinfo) == ("EntityAlreadyExists", f"Login Profile for user {user} already exists.")
    iam.update_login_profile(UserName=user, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is False
    iam.delete_login_profile(UserName=user)
    with pytest.raises(ClientError) as excinfo:
        iam.get_login_profile(UserName=user)
    assert error(excinfo) == ("NoSuchEntity", f"Login Profile for User {user} cannot be found.")
    with pytest.raises(ClientError) as excinfo:
        iam.delete_login_profile(UserName=user)
    assert error(excinfo)[0] == "NoSuchEntity"


def test_login_profile_for_a_missing_user(iam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam.create_login_profile(UserName="nobody-here", Password=GOOD)
    assert error(excinfo) == ("NoSuchEntity", "The user with name nobody-here cannot be found.")


def test_password_is_stored_nowhere_in_clear(iam: Any, user: str, server: Server) -> None:
    secret = "Unmistakable-" + unique("S3cr3t!")
    iam.create_login_profile(UserName=user, Password=secret)
    iam.update_login_profile(UserName=user, Password=secret + "x")
    iam.get_login_profile(UserName=user)  # a later call, so the earlier records are flushed
    files = [p for p in Path(server.data_dir).rglob("*") if p.is_file()]
    assert any(user.encode() in p.read_bytes() for p in files)  # the scan does see what was written
    assert [p for p in files if secret.encode() in p.read_bytes()] == []


# --- ChangePassword ------------------------------------------------------------------------


@pytest.fixture
def self_changer(server: Server) -> tuple[str, Any]:
    """A user allowed iam:ChangePassword on itself, with a console password and keys."""
    name, client = user_with_keys(server, policy=allow(["iam:ChangePassword", "iam:GetLoginProfile"]))
    server.client("iam").create_login_profile(UserName=name, Password=GOOD, PasswordResetRequired=True)
    return name, client


def test_change_password_by_the_user_itself(iam: Any, self_changer: tuple[str, Any]) -> None:
    name, client = self_changer
    client.change_password(OldPassword=GOOD, NewPassword="Brand-new-pass1")
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as excinfo:
        client.change_password(OldPassword=GOOD, NewPassword="Another-pass2")
    assert error(excinfo) == ("AccessDenied", "The old password was incorrect.")
    client.change_password(OldPassword="Brand-new-pass1", NewPassword="Another-pass2")


def test_change_password_enforces_the_policy(
    iam: Any, policy: Callable[..., None], self_changer: tuple[str, Any]
) -> None:
    _, client = self_changer
    policy(MinimumPasswordLength=10, PasswordReusePrevention=1)
    with pytest.raises(ClientError) as excinfo:
        client.change_password(OldPassword=GOOD, NewPassword="Short-1")
    assert error(excinfo)[0] == "PasswordPolicyViolation"
    with pytest.raises(ClientError) as excinfo:
        client.change_password(OldPassword=GOOD, NewPassword=GOOD)
    assert error(excinfo)[0] == "PasswordPolicyViolation"
    client.change_password(OldPassword=GOOD, NewPassword="Long-enough-password-1")


def test_root_cannot_change_password(iam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam.change_password(OldPassword=GOOD, NewPassword="Whatever-pass1")
    assert error(excinfo)[0] == "InvalidUserType"


def test_change_password_needs_permission(server: Server) -> None:
    name, client = user_with_keys(server)
    server.client("iam").create_login_profile(UserName=name, Password=GOOD)
    with pytest.raises(ClientError) as excinfo:
        client.change_password(OldPassword=GOOD, NewPassword="Brand-new-pass1")
    assert error(excinfo)[0] == "AccessDenied"
    assert "iam:ChangePassword" in error(excinfo)[1]


# --- the pure rules ---------------------------------------------------------------------------


def test_hash_format_and_verification() -> None:
    stored = pp.hash_password("p4ss-Word")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1") and len(salt) == 24 and len(digest) == 44
    assert pp.verify_hash("p4ss-Word", stored) and not pp.verify_hash("p4ss-word", stored)
    assert pp.hash_password("p4ss-Word") != stored  # salted
    for broken in ("", "md5$x", "scrypt$a$b$c$d$e", stored.replace("scrypt", "bcrypt")):
        assert not pp.verify_hash("p4ss-Word", broken)


def test_reuse_window_counts_the_current_password() -> None:
    policy = pp.PasswordPolicy(reuse_prevention=2)
    assert pp.recent_hashes(policy, "cur", ["h1", "h2", "h3"]) == ["cur", "h1"]
    assert pp.recent_hashes(pp.PasswordPolicy(), "cur", ["h1"]) == []
    assert pp.recent_hashes(None, "cur", ["h1"]) == []
    assert pp.next_history("cur", [f"h{i}" for i in range(30)])[:2] == ["cur", "h0"]
    assert len(pp.next_history("cur", [f"h{i}" for i in range(30)])) == pp.HISTORY_KEPT


def test_expiry() -> None:
    set_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    policy = pp.PasswordPolicy(max_age_days=90)
    assert not pp.is_expired(set_at, set_at + dt.timedelta(days=89), policy)
    assert pp.is_expired(set_at, set_at + dt.timedelta(days=90), policy)
    assert not pp.is_expired(set_at, set_at + dt.timedelta(days=9000), pp.PasswordPolicy())
    assert not pp.is_expired(set_at, set_at + dt.timedelta(days=9000), None)


@pytest.mark.parametrize("symbol", sorted(pp.SYMBOLS))
def test_every_aws_symbol_counts(symbol: str) -> None:
    pp.check_password(f"abcdef{symbol}", pp.PasswordPolicy(require_symbols=True))


@pytest.mark.parametrize("other", ["~", "`", '"', ";", ":", ",", ".", "<", ">", "/", "?", "\\", " "])
def test_other_punctuation_is_not_an_aws_symbol(other: str) -> None:
    with pytest.raises(pp.PasswordPolicyViolation):
        pp.check_password(f"abcdef{other}", pp.PasswordPolicy(require_symbols=True))


def test_verify_password_does_the_same_work_for_unknown_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile still costs one slow hash check, so timing does not reveal which users exist."""
    from rampart.services.iam import passwords

    checked: list[str] = []
    real = passwords.verify_hash
    monkeypatch.setattr(passwords, "get_profile", lambda conn, account, user: None)
    monkeypatch.setattr(passwords, "verify_hash", lambda password, stored: checked.append(stored) or real(password, stored))
    assert passwords.verify_password(None, "123456789012", "nobody", "Guess-Passw0rd!") is False  # type: ignore[arg-type]
    assert len(checked) == 1 and checked[0].startswith("scrypt$")
