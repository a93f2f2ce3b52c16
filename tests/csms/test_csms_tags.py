"""Authorize decisions, one test per rule of flows.md §2.6 and model.md §3.2."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from balanz.config.schema import CsmsConfig, TagConfig
from balanz.csms.tags import AuthDecision, authorize, format_time, merge_tags, normalize_id_tag

NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
STATIC = [
    TagConfig(id="8a03ee96", user="Alice", parent="ACME", priority=None),
    TagConfig(id="boss01", user="Bob", priority=10),
    TagConfig(id="blocked1", user="Carol", status="Blocked"),
    TagConfig(id="FLEET", user="Fleet parent", priority=5),
    TagConfig(id="car1", user="Car one", parent="fleet"),
    TagConfig(id="car2", user="Car two", parent="FLEET", priority=2),
    TagConfig(id="old", user="Dan", expires=NOW - timedelta(days=1)),
    TagConfig(id="soon", user="Eve", expires=NOW + timedelta(days=30)),
]
TAGS = merge_tags(STATIC, {})


def auth(id_tag: str, tags=TAGS, **kw) -> AuthDecision:
    return authorize(id_tag, tags, now=NOW, **kw)


def test_known_tag_accepted_with_parent_and_user():
    d = auth("8A03EE96")
    assert d.status == "Accepted"
    assert d.id_tag_info() == {"status": "Accepted", "parentIdTag": "ACME"}
    assert (d.user_name, d.priority, d.known) == ("Alice", None, True)


def test_lookup_is_case_insensitive_and_trimmed():
    assert auth("8a03ee96").id_tag == "8A03EE96"
    assert auth(" Boss01 ").status == "Accepted"
    assert normalize_id_tag("aBc") == "ABC"


@pytest.mark.parametrize("bad", ["", "   ", "X" * 21])
def test_id_outside_1_to_20_chars_is_invalid(bad):
    d = auth(bad, csms=CsmsConfig(unknown_tags="accept_and_register"))
    assert d.status == "Invalid"
    assert d.register is None


def test_twenty_characters_is_fine():
    tags = merge_tags([TagConfig(id="A" * 20)], {})
    assert auth("a" * 20, tags).status == "Accepted"


def test_unknown_rejected_by_default():
    d = auth("nobody")
    assert d.id_tag_info() == {"status": "Invalid"}
    assert d.known is False


def test_unknown_accepted():
    d = auth("nobody", csms=CsmsConfig(unknown_tags="accept"))
    assert d.id_tag_info() == {"status": "Accepted"}
    assert d.register is None


def test_unknown_accepted_and_registered():
    d = auth("nobody", csms=CsmsConfig(unknown_tags="accept_and_register"))
    assert d.status == "Accepted"
    assert d.register is not None
    assert (d.register.id, d.register.user, d.register.status) == ("NOBODY", "", "Activated")


def test_bad_unknown_tags_policy_names_the_key():
    with pytest.raises(ValueError, match=r"csms.unknown_tags = 'maybe'"):
        auth("nobody", csms=CsmsConfig(unknown_tags="maybe"))


def test_blocked_tag():
    assert auth("blocked1").id_tag_info() == {"status": "Blocked"}


def test_blocked_parent_blocks_every_child():
    tags = merge_tags(STATIC, {"fleet": TagConfig(id="FLEET", status="Blocked")})
    assert auth("car1", tags).status == "Blocked"
    assert auth("car2", tags).status == "Blocked"
    assert "parent tag FLEET" in auth("car2", tags).reason


def test_parent_that_is_not_a_tag_is_only_echoed():
    d = auth("8a03ee96")
    assert d.parent_id_tag == "ACME"
    assert d.priority is None


def test_child_inherits_parent_priority_unless_it_has_its_own():
    assert auth("car1").priority == 5
    assert auth("car2").priority == 2
    assert auth("car1").parent_id_tag == "FLEET"


def test_expired_tag_answers_expired_with_date():
    d = auth("old")
    assert d.status == "Expired"
    assert d.id_tag_info() == {"status": "Expired", "expiryDate": format_time(NOW - timedelta(days=1))}


def test_future_expiry_sent_with_accept():
    info = auth("soon").id_tag_info()
    assert info == {"status": "Accepted", "expiryDate": "2025-04-03T10:00:00.000Z"}


def test_expiry_exactly_now_is_expired():
    tags = merge_tags([TagConfig(id="edge", expires=NOW)], {})
    assert auth("edge", tags).status == "Expired"


def test_parent_expiry_applies_to_child():
    tags = merge_tags(STATIC, {"FLEET": TagConfig(id="FLEET", expires=NOW - timedelta(seconds=1))})
    assert auth("car1", tags).status == "Expired"


def test_naive_expiry_is_utc():
    tags = merge_tags([TagConfig(id="naive", expires=datetime(2025, 3, 4, 9, 59))], {})
    assert auth("naive", tags).status == "Expired"


def test_concurrent_use_elsewhere_refused_case_insensitively():
    d = auth("BOSS01", in_use_elsewhere={"boss01"})
    assert d.id_tag_info() == {"status": "ConcurrentTx"}
    assert d.priority == 10  # the tag is known; only the answer differs


def test_concurrent_use_allowed_by_config():
    assert auth("boss01", in_use_elsewhere={"BOSS01"}, csms=CsmsConfig(allow_concurrent_tag=True)).accepted


def test_concurrent_check_applies_to_accepted_unknown_tags():
    d = auth("nobody", in_use_elsewhere={"NOBODY"}, csms=CsmsConfig(unknown_tags="accept"))
    assert d.status == "ConcurrentTx"


def test_blocked_wins_over_expired_and_concurrent():
    tags = merge_tags([TagConfig(id="x", status="Blocked", expires=NOW - timedelta(days=1))], {})
    assert auth("x", tags, in_use_elsewhere={"X"}).status == "Blocked"


def test_runtime_override_wins_over_static():
    tags = merge_tags(STATIC, {"boss01": TagConfig(id="BOSS01", user="Bob", status="Blocked")})
    assert auth("boss01", tags).status == "Blocked"


@dataclass(frozen=True)
class StoreRow:
    """A runtime-tag row as the store might hand it over: same fields, not a TagConfig."""

    id: str
    user: str = ""
    parent: str | None = None
    status: str = "Activated"
    priority: int | None = None
    expires: datetime | None = None


def test_tag_like_records_accepted():
    tags = merge_tags(STATIC, {"new1": StoreRow(id="new1", user="Runtime", priority=3)})
    d = auth("NEW1", tags)
    assert (d.status, d.user_name, d.priority) == ("Accepted", "Runtime", 3)


@given(st.text(alphabet="abcdefXYZ0123456789", min_size=1, max_size=20))
def test_case_never_changes_the_decision(tag):
    tags = merge_tags([TagConfig(id=tag.lower(), user="u")], {})
    assert auth(tag.upper(), tags) == auth(tag.lower(), tags)
