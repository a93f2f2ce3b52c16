"""Whatever a file holds, the loader answers with a configuration or a ConfigError — never a crash."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile

import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from balanz.config import schema
from balanz.config.errors import ConfigError
from balanz.config.loader import load_config
from balanz.config.parse import SECTION_CLASSES

ENTITY_FIELDS = {
    "group": [f.name for f in dataclasses.fields(schema.GroupConfig)],
    "charger": [f.name for f in dataclasses.fields(schema.ChargerConfig)],
    "tag": [f.name for f in dataclasses.fields(schema.TagConfig)],
    "firmware": [f.name for f in dataclasses.fields(schema.FirmwareConfig)],
}

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "csms", "lc", "48", "*>0=16", "G", "ws://h/", "INFO", "L1", "Mon-Fri 00:00-23:59>0=6"]
    ),
    st.text(max_size=8),
    st.just(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
    st.just(dt.datetime(2027, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["0", "5", "x", "id", "time"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def section(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.dictionaries(st.sampled_from([*names, "bogus"]), values, max_size=4)


document = st.fixed_dictionaries(
    {},
    optional={
        **{name: section([f.name for f in dataclasses.fields(cls)]) for name, cls in SECTION_CLASSES.items()},
        **{kind: st.lists(section(fields), max_size=3) for kind, fields in ENTITY_FIELDS.items()},
        "allocater": st.just({"x": 1}),
    },
)


@settings(max_examples=100)
@given(document)
def test_any_document_loads_or_reports(doc):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "balanz.toml")
        with open(path, "w", encoding="utf-8") as out:
            out.write(tomli_w.dumps(doc))
        try:
            problems = load_config(path).warnings
        except ConfigError as exc:
            problems = exc.problems
            assert any(p.is_error for p in problems)
        assert all(str(p).startswith(path + ": ") for p in problems)
