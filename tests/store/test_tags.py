import pytest

from balanz.config.schema import TagConfig
from balanz.store import Store, StoreIntegrityError
from balanz.store.tags import (
    ORIGIN_CONFIG,
    ORIGIN_OVERRIDE,
    ORIGIN_RUNTIME,
    RuntimeTag,
    tag_add,
    tag_block,
    tag_delete,
    tag_drop_override,
    tag_set,
    tag_unblock,
    tag_view,
)
from tests.store.conftest import T0, at

STATIC = (
    TagConfig(id="8a03ee96", user="Corp EV 1", parent="acme", priority=1),
    TagConfig(id="DB08E534", user="Corp EV 5", parent="ACME", status="Blocked"),
)
STATIC_IDS = [t.id for t in STATIC]


def merged_after(store: Store):
    return tag_view(STATIC, store.runtime_tags())


def test_static_tags_are_normalised():
    merged = tag_view(STATIC, [])
    assert merged["8A03EE96"].tag.parent == "ACME"
    assert merged["8A03EE96"].origin == ORIGIN_CONFIG


def test_runtime_entry_overrides_static_one_entirely():
    merged = tag_view(STATIC, [RuntimeTag(TagConfig("8a03ee96", user="Blocked card", status="Blocked"), T0)])
    assert merged["8A03EE96"].origin == ORIGIN_OVERRIDE
    assert merged["8A03EE96"].tag == TagConfig("8A03EE96", user="Blocked card", status="Blocked")


def test_block_unblock_set_add_delete_through_the_store(store_path):
    with Store(store_path) as store:
        store.apply_tag_change(tag_block(merged_after(store), "8a03ee96", T0))
        blocked = merged_after(store)["8A03EE96"].tag
        assert blocked == TagConfig("8A03EE96", user="Corp EV 1", parent="ACME", status="Blocked", priority=1)
        store.apply_tag_change(
            tag_add(merged_after(store), RuntimeTag(TagConfig("new1", user="Visitor"), at(1)))
        )
        store.apply_tag_change(tag_set(merged_after(store), "NEW1", at(2), priority=4))
    with Store(store_path) as store:
        merged = merged_after(store)
        assert merged["NEW1"].origin == ORIGIN_RUNTIME
        assert (merged["NEW1"].tag.user, merged["NEW1"].tag.priority) == ("Visitor", 4)
        store.apply_tag_change(tag_unblock(merged, "8A03EE96", at(3)))
        assert merged_after(store)["8A03EE96"].tag.status == "Activated"
        store.apply_tag_change(tag_delete(merged_after(store), STATIC_IDS, "new1", at(4)))
        assert "NEW1" not in merged_after(store)
        assert "NEW1" not in {t.id for t in store.runtime_tags()}


def test_deleting_a_static_tag_hides_it_until_the_override_is_dropped(store):
    store.apply_tag_change(tag_delete(merged_after(store), STATIC_IDS, "db08e534", T0))
    assert "DB08E534" not in merged_after(store)
    store.apply_tag_change(tag_drop_override(store.runtime_tags(), STATIC_IDS, "DB08E534"))
    assert merged_after(store)["DB08E534"].origin == ORIGIN_CONFIG


def test_tag_command_errors_name_the_tag(store):
    merged = merged_after(store)
    with pytest.raises(StoreIntegrityError, match="8A03EE96: already exists"):
        tag_add(merged, RuntimeTag(TagConfig("8a03ee96"), T0))
    with pytest.raises(StoreIntegrityError, match="NOPE: no such tag"):
        tag_block(merged, "nope", T0)
    with pytest.raises(StoreIntegrityError, match="cannot set"):
        tag_set(merged, "8A03EE96", T0, colour="red")
    with pytest.raises(StoreIntegrityError, match="no runtime override"):
        tag_drop_override([], STATIC_IDS, "8A03EE96")
    with pytest.raises(StoreIntegrityError, match="not in the configuration"):
        tag_drop_override([], STATIC_IDS, "OTHER")
    with pytest.raises(StoreIntegrityError, match="status must be"):
        RuntimeTag(TagConfig("X", status="Expired"), T0)
    with pytest.raises(StoreIntegrityError, match="1 to 20"):
        RuntimeTag(TagConfig("X" * 21), T0)
    with pytest.raises(StoreIntegrityError, match="priority"):
        RuntimeTag(TagConfig("X", priority=-1), T0)


def test_tag_view_is_the_authorize_book(store):
    from balanz.csms.tags import authorize

    store.apply_tag_change(tag_block(tag_view(STATIC, store.runtime_tags()), "8A03EE96", T0))
    store.apply_tag_change(tag_delete(tag_view(STATIC, store.runtime_tags()), STATIC_IDS, "DB08E534", T0))
    book = {tag_id: view.tag for tag_id, view in tag_view(STATIC, store.runtime_tags()).items()}
    assert authorize("8a03ee96", book, now=at(1)).status == "Blocked"
    assert authorize("db08e534", book, now=at(1)).status == "Invalid"  # deleted: unknown, policy "reject"
