"""balanz.toml.example: it loads, its commented examples load, and it documents every key the loader knows."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path

import pytest

from balanz.config import keys, schema
from balanz.config.dump import dump_config
from balanz.config.loader import load_config
from balanz.config.parse import SECTION_CLASSES

EXAMPLE = Path(__file__).resolve().parents[2] / "balanz.toml.example"
ENTITIES = {
    "group": schema.GroupConfig,
    "group.slot": schema.SlotConfig,
    "charger": schema.ChargerConfig,
    "charger.connector": schema.ConnectorConfig,
    "tag": schema.TagConfig,
    "firmware": schema.FirmwareConfig,
}


def uncommented(text: str, prefixes: tuple[str, ...] = ("# ",)) -> str:
    """The example with every "# " example line switched on ("## " lines are prose and stay comments).

    ``"#~ "`` in ``prefixes`` also switches on the keys marked "not supported yet".
    """
    lines = []
    for line in text.splitlines():
        prefix = next((p for p in prefixes if line.startswith(p)), "")
        lines.append(line[len(prefix) :])
    return "\n".join(lines)


def documented_keys(text: str, only_unsupported: bool = False) -> set[str]:
    """``section.key`` for every key written in the example, commented, marked unsupported or not.

    ``only_unsupported``: just the keys written on "#~ " lines (the section header may be any line).
    """
    found: set[str] = set()
    section = ""
    for original, line in zip(text.splitlines(), uncommented(text, ("# ", "#~ ")).splitlines(), strict=True):
        header = re.match(r"\s*\[\[?([\w.]+)\]\]?", line)
        if header:
            section = header[1]
            continue
        if only_unsupported and not original.startswith("#~ "):
            continue
        assignment = re.match(r'\s*"?([\w.]+)"?\s*=\s*(.*)', line)
        if assignment and not line.lstrip().startswith("#"):
            found.add(f"{section}.{assignment[1]}")
            inline = re.match(r"\{(.*)\}", assignment[2])
            if inline:
                found.update(f"{section}.{assignment[1]}.{k}" for k in re.findall(r"(\w+)\s*=", inline[1]))
    return found


def schema_keys() -> set[str]:
    keys = {f"{name}.{f.name}" for name, cls in SECTION_CLASSES.items() for f in dataclasses.fields(cls)}
    for name, cls in ENTITIES.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if typing.get_origin(hints[field.name]) is tuple and dataclasses.is_dataclass(
                typing.get_args(hints[field.name])[0]
            ):
                continue  # a nested array of tables, documented by its own [[x.y]] header
            keys.add(f"{name}.{field.name}")
    keys.update(f"charger.lc.{f.name}" for f in dataclasses.fields(schema.ChargerLcConfig))
    return keys


@pytest.fixture
def example_site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_example_loads_without_problems(example_site):
    (example_site / "balanz.toml").write_text(EXAMPLE.read_text())
    assert load_config("balanz.toml").warnings == ()


def test_example_loads_as_the_defaults(example_site):
    (example_site / "balanz.toml").write_text(EXAMPLE.read_text())
    (example_site / "empty.toml").write_text("")
    example = load_config("balanz.toml").config
    empty = load_config("empty.toml").config
    assert dataclasses.replace(example, source=None) == dataclasses.replace(empty, source=None)


def test_example_with_every_example_switched_on_loads(example_site):
    (example_site / "balanz.toml").write_text(uncommented(EXAMPLE.read_text()))
    loaded = load_config("balanz.toml")
    assert loaded.warnings == ()
    assert {g.id for g in loaded.config.group} == {"Default", "Site", "HQ", "RR1"}
    assert loaded.config.charger[1].connector[0].phase_map == "L2"


def test_example_documents_every_key():
    documented = documented_keys(EXAMPLE.read_text())
    missing = schema_keys() - documented - {"logging.levels"}
    assert missing == set()
    assert "logging.levels.ocpp" in documented


def test_example_marks_exactly_the_keys_not_supported_yet():
    # A "#~ " line is the example's "not supported yet" marker, and it shows the spec's default.
    text = EXAMPLE.read_text()
    assert documented_keys(text, only_unsupported=True) == keys.NOT_SUPPORTED
    section, shown = "", 0
    for original, line in zip(text.splitlines(), uncommented(text, ("# ", "#~ ")).splitlines(), strict=True):
        header = re.match(r"\[\[?([\w.]+)\]\]?", line)
        section = header[1] if header else section
        assignment = re.match(r"#~ (\w+) = (.*?)\s*(##.*)?$", original)
        if assignment and section in SECTION_CLASSES:
            default = getattr(SECTION_CLASSES[section](), assignment[1])
            assert tomllib.loads(f"v = {assignment[2]}")["v"] == default, original
            shown += 1
    assert shown == len([k for k in keys.NOT_SUPPORTED if k.split(".")[0] in SECTION_CLASSES])


def test_example_sections_follow_the_spec_order():
    headers = re.findall(r"^(?:#~? )?\[([a-z]+)\]", EXAMPLE.read_text(), flags=re.MULTILINE)
    assert headers == list(SECTION_CLASSES)


def test_dump_of_the_example_round_trips(example_site):
    (example_site / "balanz.toml").write_text(uncommented(EXAMPLE.read_text()))
    first = load_config("balanz.toml").config
    (example_site / "dump.toml").write_text(dump_config(first))
    second = load_config("dump.toml").config
    assert dataclasses.replace(second, source=None) == dataclasses.replace(first, source=None)
