"""Every configuration key either works or is refused as "not supported yet" (issue 3).

Two halves: the loader refuses each key of ``keys.NOT_SUPPORTED`` (and ``mode.kind = "lc"``) wherever it is
written, and a source scan keeps that list true — no code outside balanz/config reads a refused key, and
every other key is read somewhere (or is listed, with its reason, as read by the loader or through a config
helper, or as read by a branch still in flight).

The scan heuristic (also described in docs/config-support.md). Python's ``ast`` gives every attribute read
``<value>.<name>`` outside balanz/config, so comments and docstrings never count. A read counts for the key
``section.name`` when

1. the name is *unambiguous*: no other schema dataclass and no class outside balanz/config declares an
   attribute of that name, so ``x.name`` can only be this key; or
2. the value names the section: its last identifier is the section's own word (``config.lc.user_agent``,
   ``charger.alias``, ``slot.days``) or a variable of the same module bound to that section — annotated with
   its dataclass (``c: ChargerConfig``), iterating over it (``for own in charger.connector``) or assigned
   from it (``lc = config.lc``).

A generic name (``id``, ``kind``, ``path``, ``status``…) read on an unrelated object therefore does not count,
and a refused key's name that only collides with another class (``tui.header.upstream_down``) raises no false
alarm. What it can miss: a read through ``getattr`` with a computed name or ``dataclasses.asdict``; such a
reader must then also read the attributes it uses (the allocator core reads ``params.first_wait_s``).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from collections import defaultdict
from pathlib import Path

import pytest

from balanz.config import keys, schema
from balanz.config.loader import load_config
from balanz.config.parse import SECTION_CLASSES

BALANZ = Path(__file__).resolve().parents[2] / "balanz"
EXAMPLE = BALANZ.parent / "balanz.toml.example"

# Every dataclass of the TOML shape, by the key prefix its fields take.
SHAPE: dict[str, type] = {
    **SECTION_CLASSES,
    "group": schema.GroupConfig,
    "group.slot": schema.SlotConfig,
    "charger": schema.ChargerConfig,
    "charger.connector": schema.ConnectorConfig,
    "charger.lc": schema.ChargerLcConfig,
    "tag": schema.TagConfig,
    "firmware": schema.FirmwareConfig,
}


# Types outside balanz/config that mirror a section field for field, built from it by the shell (so reading
# ``params.first_wait_s`` in the allocation core reads ``allocator.first_wait_s``), and the usual name of a
# variable holding one.
MIRRORS: dict[str, str] = {"Params": "allocator"}
MIRROR_WORDS: dict[str, str] = {"params": "allocator"}


def all_keys() -> set[str]:
    return {f"{prefix}.{f.name}" for prefix, cls in SHAPE.items() for f in dataclasses.fields(cls)}


def _last_word(node: ast.expr) -> str | None:
    """The identifier a value ends with: ``self.config.lc`` → lc, ``items[i]`` → items, ``f(x)`` → f."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript | ast.Call):
        return _last_word(node.value if isinstance(node, ast.Subscript) else node.func)
    return None


def _section_of(word: str | None) -> set[str]:
    """Key prefixes a value ending in ``word`` stands for (``connector`` → charger.connector)."""
    if word is None:
        return set()
    mirrored = {MIRROR_WORDS[word]} if word in MIRROR_WORDS else set()
    return mirrored | {prefix for prefix in SHAPE if prefix.rsplit(".", 1)[-1] == word}


def _annotated(annotation: ast.expr | None) -> set[str]:
    """Key prefixes of the shape dataclasses (or their mirrors) an annotation names."""
    if annotation is None:
        return set()
    by_class = {cls.__name__: prefix for prefix, cls in SHAPE.items()} | MIRRORS
    words = {_last_word(n) for n in ast.walk(annotation) if isinstance(n, ast.Name | ast.Attribute)}
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        words |= {w.strip("[]|, ") for w in annotation.value.replace("[", " ").split()}
    return {by_class[w] for w in words if w in by_class}


def _bindings(tree: ast.Module) -> dict[str, set[str]]:
    """Names → key prefixes they are bound to anywhere in the module: annotated parameters, functions by
    their return annotation, loop variables over a section, assignments from one (a comprehension counts
    as its first loop's iterable)."""
    bound: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound[node.arg] |= _annotated(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            bound[node.name] |= _annotated(node.returns)
    for node in ast.walk(tree):  # a second pass, so that loops over a bound call see its binding
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            word = _last_word(node.iter)
            bound[node.target.id] |= _section_of(word) | (bound.get(word, set()) if word else set())
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            value = node.value
            if isinstance(value, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                value = value.generators[0].iter
            word = _last_word(value)
            bound[node.targets[0].id] |= _section_of(word) | (bound.get(word, set()) if word else set())
    return bound


def _declared(tree: ast.Module) -> set[str]:
    """Attribute names classes of this module declare: class-body fields and methods, ``self.x = …``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and _last_word(node.value) == "self"
        ):
            names.add(node.attr)
    return names


@dataclasses.dataclass(frozen=True)
class Scan:
    reads: dict[str, list[str]]  # key → "file:line expr" of each read
    names: set[str]  # every attribute name and every plain name used outside balanz/config


@functools.cache
def scan(root: Path = BALANZ) -> Scan:
    trees = {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).parts[0] != "config"
    }
    declared_outside = set().union(*(_declared(tree) for tree in trees.values()))
    field_count: dict[str, int] = defaultdict(int)
    for cls in (schema.Config, *SHAPE.values()):  # Config: a section name is a field of it
        for f in dataclasses.fields(cls):
            field_count[f.name] += 1
    reads: dict[str, list[str]] = defaultdict(list)
    names: set[str] = set()
    for path, tree in trees.items():
        bound = _bindings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
                continue
            names.add(node.attr)
            word = _last_word(node.value)
            context = _section_of(word) | (bound.get(word, set()) if word else set())
            unambiguous = field_count[node.attr] == 1 and node.attr not in declared_outside
            for prefix, cls in SHAPE.items():
                if node.attr in {f.name for f in dataclasses.fields(cls)} and (
                    unambiguous or prefix in context
                ):
                    where = f"{path.relative_to(root.parent)}:{node.lineno} {ast.unparse(node)}"
                    reads[f"{prefix}.{node.attr}"].append(where)
    return Scan(dict(reads), names)


def test_the_lists_name_real_keys():
    every = all_keys()
    for listed in (
        keys.NOT_SUPPORTED_REASONS,
        keys.READ_BY_LOADER,
        keys.READ_VIA_HELPER,
        keys.IN_FLIGHT_READERS,
    ):
        assert set(listed) <= every
    assert frozenset(keys.NOT_SUPPORTED_REASONS) == keys.NOT_SUPPORTED
    assert all(keys.NOT_SUPPORTED_REASONS.values())
    supported_lists = set(keys.READ_BY_LOADER) | set(keys.READ_VIA_HELPER) | set(keys.IN_FLIGHT_READERS)
    assert not keys.NOT_SUPPORTED & supported_lists
    for key, values in keys.NOT_SUPPORTED_VALUES.items():
        assert key in every
        assert key not in keys.NOT_SUPPORTED
        assert set(values) < set(keys.ENUMS[key])  # some value stays usable


@pytest.mark.parametrize("key", sorted(keys.NOT_SUPPORTED))
def test_a_key_not_supported_yet_is_read_nowhere(key):
    assert scan().reads.get(key, []) == [], (
        f"{key} is in keys.NOT_SUPPORTED_REASONS but read above: delete it from that list (and show it "
        "uncommented in balanz.toml.example) if the feature now exists"
    )


@pytest.mark.parametrize("key", sorted(all_keys() - keys.NOT_SUPPORTED))
def test_a_supported_key_is_read(key):
    found = scan()
    helper = keys.READ_VIA_HELPER.get(key)
    read = helper in found.names if helper else bool(found.reads.get(key))
    if key in keys.IN_FLIGHT_READERS:
        assert not read, (
            f"{key} is now read ({found.reads.get(key, [helper])[0]}): its branch has landed, delete it "
            "from keys.IN_FLIGHT_READERS"
        )
    elif key in keys.READ_BY_LOADER:
        assert not read, f"{key} is now read by balanz outside the loader: delete it from keys.READ_BY_LOADER"
    else:
        assert read, (
            f"{key} is accepted by the loader but nothing outside balanz/config reads it: implement it, or "
            "refuse it with a reason in keys.NOT_SUPPORTED_REASONS"
        )


def test_the_scan_tells_a_key_from_a_namesake(tmp_path):
    package = tmp_path / "balanz"
    (package / "config").mkdir(parents=True)
    (package / "config" / "ignored.py").write_text("x = config.lc.user_agent\n")
    (package / "reader.py").write_text(
        "class Header:\n"
        "    upstream_down: bool = False\n"
        "    status: str = ''\n"
        "def f(config, header, c: ChargerConfig, params):\n"
        '    "config.lc.user_agent in a docstring"\n'
        "    header.upstream_down, header.status, config.lc\n"
        "    for own in c.connector:\n"
        "        own.phase_map\n"
        "    lc = config.lc\n"
        "    return lc.replay_boot, c.alias, config.auth.provision_delay_s, params.first_wait_s\n"
    )
    assert set(scan(package).reads) == {
        "charger.connector",  # c.connector, c annotated ChargerConfig
        "charger.connector.phase_map",  # own iterates over c.connector
        "lc.replay_boot",  # lc assigned from config.lc
        "charger.alias",
        "auth.provision_delay_s",  # the value ends in .auth
        "allocator.first_wait_s",  # params mirrors [allocator]
    }


# The refusals, at least one per section and entity table that has a key not supported yet.
REFUSED = [
    ("[auth]\nprovision_key = false", "auth.provision_key", "AuthorizationKey provisioning"),
    ('[auth]\nkey_format = "plain"', "auth.key_format", "AuthorizationKey provisioning"),
    ('[lc]\nupstream_url = "ws://up.example/ocpp/"', "lc.upstream_url", "LC mode"),
    ("[lc]\nreplay_boot = true", "lc.replay_boot", "LC mode"),
    ("[history]\nsession_retention_days = 0", "history.session_retention_days", "kept forever"),
    ("[logging]\naudit_retention_days = 30", "logging.audit_retention_days", "kept forever"),
    (
        '[[firmware]]\nfirmware_id = "f"\nurl = "https://fw.example/f.bin"\nmeter_type = ""',
        'firmware[1] "f".meter_type',
        "meter type",
    ),
]


@pytest.mark.parametrize(("text", "key", "reason"), REFUSED, ids=[r[1] for r in REFUSED])
def test_a_key_not_supported_yet_is_refused_whatever_its_value(site, text, key, reason):
    errors = site.errors(text)
    assert len(errors) == 1
    assert errors[0].startswith(f"balanz.toml: {key}: not supported yet by this version of balanz (")
    assert reason in errors[0]
    assert errors[0].endswith("; remove it")


def test_lc_mode_is_refused_and_csms_is_still_accepted(site):
    assert site.errors('[mode]\nkind = "LC"') == [
        "balanz.toml: mode.kind: not supported yet by this version of balanz (LC mode is not implemented "
        'yet); use "csms"; got "LC"'
    ]
    assert site.load('[mode]\nkind = "CSMS"').config.mode.kind == "csms"


def test_charger_lc_credentials_are_refused(site):
    text = (
        '[[group]]\nid = "G"\n[[charger]]\nid = "C1"\ngroup = "G"\n'
        'lc = { upstream_password = "0123456789abcdef" }\n'
    )
    assert site.errors(text) == [
        'balanz.toml: charger[1] "C1".lc: not supported yet by this version of balanz (LC mode is not '
        "implemented yet); remove it"
    ]


def test_a_charger_profile_override_of_a_key_not_supported_yet_is_refused(site, monkeypatch):
    # Every [profiles] key is supported now; the refusal path for a charger's override stays in force for
    # the next one that is not.
    monkeypatch.setitem(keys.NOT_SUPPORTED_REASONS, "profiles.min_interval_s", "not rate-limited")
    monkeypatch.setattr(keys, "NOT_SUPPORTED", keys.NOT_SUPPORTED | {"profiles.min_interval_s"})
    text = '[[group]]\nid = "G"\n[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { min_interval_s = 5 }\n'
    (error,) = site.errors(text)
    assert error.startswith('balanz.toml: charger[1] "C1".profile.min_interval_s: not supported yet')


def test_every_refusal_is_reported_in_one_run(site):
    # The example's settings part with its "#~ " lines switched on: every key not supported yet, each at the
    # spec's default, and each refused on its own.
    settings_part = EXAMPLE.read_text().split("## ------")[0]
    text = "\n".join(line[3:] if line.startswith("#~ ") else line for line in settings_part.splitlines())
    errors = site.errors(text)
    assert all(": not supported yet by this version of balanz (" in e for e in errors)
    assert sorted(e.split(": ")[1] for e in errors) == sorted(
        k for k in keys.NOT_SUPPORTED if k.split(".")[0] in SECTION_CLASSES
    )


def test_dump_leaves_out_keys_not_supported_yet_and_loads_again(site):
    loaded = site.load(
        '[[group]]\nid = "G"\nmax_allocation = "32"\n[[charger]]\nid = "C1"\ngroup = "G"\n'
        'profile = { kind = "relative" }\n'
        '[[firmware]]\nfirmware_id = "f"\nurl = "https://fw.example/f.bin"\n'
    )
    from balanz.config.dump import dump_config

    text = dump_config(loaded.config)
    for key in keys.NOT_SUPPORTED:
        assert f"\n{key.rsplit('.', 1)[1]} =" not in text, key
    assert "[lc]" not in text
    assert "meter_type" not in text
    site.write("dump.toml", text)
    again = load_config("dump.toml").config
    assert dataclasses.replace(again, source=None) == dataclasses.replace(loaded.config, source=None)
