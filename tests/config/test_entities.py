"""config.md §3.3: groups, chargers, tags and firmware entries, one case per rule."""

from __future__ import annotations

import datetime as dt

import pytest

SITE = '[[group]]\nid = "G"\nmax_allocation = "48"\n'

E, W = "error", "warning"

CASES = [
    # groups
    (
        "group id pattern",
        '[[group]]\nid = "bad id!"',
        E,
        'group "bad id!".id: must be 1–64 characters of A–Z, a–z, 0–9, _ . -',
    ),
    (
        "group id unique",
        SITE + SITE,
        E,
        'group "G".id: duplicate group id; first defined in balanz.toml (group[1])',
    ),
    (
        "group parent exists",
        '[[group]]\nid = "A"\nparent = "Z"',
        E,
        'group "A".parent: unknown group "Z" (known: A)',
    ),
    (
        "group parent cycle",
        '[[group]]\nid = "B"\nparent = "C"\n[[group]]\nid = "C"\nparent = "A"\n'
        '[[group]]\nid = "A"\nparent = "B"',
        E,
        'group "A".parent: parent groups form a cycle: A → B → C → A',
    ),
    (
        "group own parent",
        '[[group]]\nid = "A"\nparent = "A"',
        E,
        'group "A".parent: parent groups form a cycle: A → A',
    ),
    (
        "schedule gaps",
        '[[group]]\nid = "RR1"\nmax_allocation = "06:00-16:59>0=16;17:00-20:59>5=48"',
        E,
        'group "RR1".max_allocation: not covered: ',
    ),
    (
        "schedule overlap",
        '[[group]]\nid = "X"\nmax_allocation = "00:00-12:00>0=32;12:00-23:59>0=16"',
        E,
        'group "X".max_allocation: ',
    ),
    (
        "schedule string and slots exclusive",
        '[[group]]\nid = "X"\nmax_allocation = "48"\n[[group.slot]]\ntime = "*"\nquotas = { 0 = 16 }',
        E,
        'group "X".slot: max_allocation and [[group.slot]] tables are mutually exclusive; keep one',
    ),
    (
        "slot quotas non-decreasing",
        '[[group]]\nid = "X"\n[[group.slot]]\ntime = "*"\nquotas = { 0 = 40, 5 = 20 }',
        E,
        'group "X".slot: ',
    ),
    (
        "slot quota threshold is a number",
        '[[group]]\nid = "X"\n[[group.slot]]\ntime = "*"\nquotas = { a = 40 }',
        E,
        'group "X".slot[1].quotas: a threshold must be a whole number ≥ 0; got "a"',
    ),
    (
        "slot needs time",
        '[[group]]\nid = "X"\n[[group.slot]]\nquotas = { 0 = 40 }',
        E,
        'group "X".slot[1].time: required key missing',
    ),
    ("headroom ≥ 0", '[[group]]\nid = "X"\nheadroom_a = -1', E, 'group "X".headroom_a: must be ≥ 0; got -1'),
    (
        "headroom below lowest limit",
        '[[group]]\nid = "X"\nmax_allocation = "20"\nheadroom_a = 20',
        E,
        'group "X".headroom_a: must be below the group\'s lowest limit (20 A); got 20',
    ),
    (
        "child above parent warns",
        '[[group]]\nid = "P"\nmax_allocation = "32"\n'
        '[[group]]\nid = "C"\nparent = "P"\nmax_allocation = "63"',
        W,
        'group "C".max_allocation: highest limit 63 A exceeds that of its ancestor "P" (32 A)',
    ),
    (
        "lowest threshold above priorities warns",
        '[[group]]\nid = "X"\nmax_allocation = "*>5=48"\n[[charger]]\nid = "C1"\ngroup = "X"\npriority = 1',
        W,
        'group "X".max_allocation: a slot\'s lowest priority threshold (5) is above the lowest priority '
        "configured "
        "for its chargers/tags (1)",
    ),
    (
        "highest limit below minimum warns",
        '[[group]]\nid = "X"\nmax_allocation = "5"',
        W,
        'group "X".max_allocation: highest limit 5 A is below allocator.min_allocation_a (6): no session',
    ),
    # chargers
    (
        "charger id no slash",
        SITE + '[[charger]]\nid = "ocpp/CP1"\ngroup = "G"',
        E,
        'charger[1] "ocpp/CP1".id: must be 1–48 printable ASCII characters without / or :',
    ),
    (
        "charger id no colon",
        SITE + '[[charger]]\nid = "CP:1"\ngroup = "G"',
        E,
        'charger[1] "CP:1".id: must be',
    ),
    (
        "charger id length",
        SITE + f'[[charger]]\nid = "{"X" * 49}"\ngroup = "G"',
        E,
        f'charger[1] "{"X" * 49}".id: must be 1–48 printable',
    ),
    (
        "charger id ASCII",
        SITE + '[[charger]]\nid = "CPé"\ngroup = "G"',
        E,
        'charger[1] "CPé".id: must be 1–48',
    ),
    (
        "charger id unique",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger]]\nid = "C1"\ngroup = "G"',
        E,
        'charger[2] "C1".id: duplicate charger id; first defined in balanz.toml (charger[1])',
    ),
    (
        "alias unique",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nalias = "a"\n'
        '[[charger]]\nid = "C2"\ngroup = "G"\nalias = "a"',
        E,
        'charger[2] "C2".alias: already used by charger[1] in balanz.toml; got "a"',
    ),
    (
        "alias is not another id",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger]]\nid = "C2"\ngroup = "G"\nalias = "C1"',
        E,
        'charger[2] "C2".alias: is the id of another charger; an alias must not shadow an id; got "C1"',
    ),
    (
        "charger group exists",
        SITE + '[[charger]]\nid = "C1"\ngroup = "RR9"',
        E,
        'charger[1] "C1".group: unknown group "RR9" (known: G)',
    ),
    (
        "charger needs group",
        SITE + '[[charger]]\nid = "C1"',
        E,
        'charger[1] "C1".group: required key missing',
    ),
    (
        "connectors 1–16",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nconnectors = 17',
        E,
        'charger[1] "C1".connectors: must be between 1 and 16; got 17',
    ),
    (
        "connector id in range",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nconnectors = 2\n[[charger.connector]]\nid = 3',
        E,
        'charger[1] "C1".connector[1].id: must be between 1 and connectors (2); got 3',
    ),
    (
        "connector id unique",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nconnectors = 2\n'
        "[[charger.connector]]\nid = 1\n[[charger.connector]]\nid = 1",
        E,
        'charger[1] "C1".connector[2].id: duplicate connector id; got 1',
    ),
    (
        "max current ≥ min",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nmax_current_a = 5',
        E,
        'charger[1] "C1".max_current_a: must be between allocator.min_allocation_a (6) and 1000 A; got 5',
    ),
    (
        "max current ≤ 1000",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nmax_current_a = 1001',
        E,
        'charger[1] "C1".max_current_a: must be between',
    ),
    (
        "max current integer",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nmax_current_a = 16.5',
        E,
        'charger[1] "C1".max_current_a: must be a whole number (integer); got 16.5',
    ),
    (
        "connector max current",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger.connector]]\nid = 1\nmax_current_a = 2',
        E,
        'charger[1] "C1".connector[1].max_current_a: must be between',
    ),
    (
        "charger max ≥ min",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\ncharger_max_a = 4',
        E,
        'charger[1] "C1".charger_max_a: must be ≥ allocator.min_allocation_a (6); got 4',
    ),
    (
        "charger priority range",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\npriority = 1001',
        E,
        'charger[1] "C1".priority: must be between 0 and 1000; got 1001',
    ),
    (
        "connector priority range",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger.connector]]\nid = 1\npriority = -1',
        E,
        'charger[1] "C1".connector[1].priority: must be between 0 and 1000; got -1',
    ),
    (
        "phases 1 or 3",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nphases = 2',
        E,
        'charger[1] "C1".phases: must be 1 or 3; got 2',
    ),
    (
        "phase map 3 phases",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nphase_map = "L1,L1,L2"',
        E,
        'charger[1] "C1".phase_map: for 3 phases, a permutation of L1,L2,L3',
    ),
    (
        "phase map 1 phase",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nphases = 1\nphase_map = "L1,L2"',
        E,
        'charger[1] "C1".phase_map: for 1 phase, one of "L1", "L2", "L3"; got "L1,L2"',
    ),
    (
        "connector phase map",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger.connector]]\nid = 1\n'
        'phases = 1\nphase_map = "L4"',
        E,
        'charger[1] "C1".connector[1].phase_map: for 1 phase',
    ),
    (
        "profile keys are [profiles] keys",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { stak_level = 1 }',
        E,
        'charger[1] "C1".profile.stak_level: unknown key (profile takes [profiles] keys) '
        '(did you mean "stack_level"?)',
    ),
    (
        "profile types",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { stack_level = 1.5 }',
        E,
        'charger[1] "C1".profile.stack_level: must be a whole number (integer); got 1.5',
    ),
    (
        "profile ranges",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { stack_level = 101 }',
        E,
        'charger[1] "C1".profile.stack_level: must be between 0 and 100; got 101',
    ),
    (
        "profile enums",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { kind = "weird" }',
        E,
        'charger[1] "C1".profile.kind: must be one of "absolute", "relative"',
    ),
    (
        "upstream password needs local auth",
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nlc = { upstream_password = "0123456789abcdef" }',
        E,
        'charger[1] "C1".lc.upstream_password: only used with lc.charger_auth = "local"',
    ),
    (
        "upstream password length",
        '[lc]\ncharger_auth = "local"\n' + SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n'
        'lc = { upstream_password = "short" }',
        E,
        'charger[1] "C1".lc.upstream_password: must be 16–40 characters (it has 5)',
    ),
    (
        "uncontrolled charger warns",
        '[[group]]\nid = "Default"\n[[charger]]\nid = "C1"\ngroup = "Default"',
        W,
        'charger[1] "C1".group: no group on the path from "Default" to the root has a max_allocation '
        "(and the "
        "charger has no charger_max_a): this charger "
        "will not be smart-charged",
    ),
    # tags
    (
        "tag id length",
        '[[tag]]\nid = "ABCDEFGHIJKLMNOPQRSTU"',
        E,
        'tag[1] "ABCDEFGHIJKLMNOPQRSTU".id: must be 1–20',
    ),
    ("tag id not empty", '[[tag]]\nid = ""', E, 'tag[1] "".id: must be 1–20 characters'),
    (
        "tag id unique after upper-casing",
        '[[tag]]\nid = "ab12"\n[[tag]]\nid = "AB12"',
        E,
        'tag[2] "AB12".id: duplicate tag id; first defined in balanz.toml (tag[1]) as "ab12"',
    ),
    (
        "tag parent length",
        '[[tag]]\nid = "A"\nparent = "ABCDEFGHIJKLMNOPQRSTU"',
        E,
        'tag[1] "A".parent: must be 1–20',
    ),
    (
        "tag status enum",
        '[[tag]]\nid = "A"\nstatus = "Expired"',
        E,
        'tag[1] "A".status: must be one of "Activated", "Blocked"; got "Expired"',
    ),
    ("tag status not blank", '[[tag]]\nid = "A"\nstatus = ""', E, 'tag[1] "A".status: must be one of'),
    (
        "tag priority range",
        '[[tag]]\nid = "A"\npriority = -1',
        E,
        'tag[1] "A".priority: must be between 0 and 1000',
    ),
    (
        "tag expires has offset",
        '[[tag]]\nid = "A"\nexpires = 2027-01-01T00:00:00',
        E,
        'tag[1] "A".expires: needs a zone offset',
    ),
    (
        "tag expires is a date-time",
        '[[tag]]\nid = "A"\nexpires = "next year"',
        E,
        'tag[1] "A".expires: must be an RFC 3339 date-time with a zone offset; got "next year"',
    ),
    # firmware
    (
        "firmware id unique",
        '[[firmware]]\nfirmware_id = "f"\nurl = "https://x/a"\n'
        '[[firmware]]\nfirmware_id = "f"\nurl = "https://x/b"',
        E,
        'firmware[2] "f".firmware_id: duplicate firmware id; first defined in balanz.toml (firmware[1])',
    ),
    (
        "firmware regex compiles",
        '[[firmware]]\nfirmware_id = "f"\nurl = "https://x/a"\ncharge_point_model = "TAC("',
        E,
        'firmware[1] "f".charge_point_model: not a valid regular expression',
    ),
    (
        "firmware url scheme",
        '[[firmware]]\nfirmware_id = "f"\nurl = "firmware.bin"',
        E,
        'firmware[1] "f".url: must be a URL with a scheme',
    ),
    # idle limit against group limits
    (
        "idle limit fits every group",
        '[profiles]\nidle_limit_a = 6\n[[group]]\nid = "G"\nmax_allocation = "10"\n'
        '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger]]\nid = "C2"\ngroup = "G"',
        E,
        'group "G".max_allocation: idle connectors may draw 12 A at profiles.idle_limit_a, 2 A more than the '
        "group's lowest limit (10 A)",
    ),
    (
        "idle limit fits charger_max_a",
        '[profiles]\nidle_limit_a = 6\n[[group]]\nid = "G"\n'
        '[[charger]]\nid = "C1"\ngroup = "G"\nconnectors = 2\n'
        "charger_max_a = 10",
        E,
        'charger[1] "C1".charger_max_a: its idle connectors may draw 12 A at profiles.idle_limit_a, 2 A more',
    ),
    (
        "entity arrays are arrays of tables",
        '[group]\nid = "G"',
        E,
        "group: must be an array of tables (write [[group]] headers)",
    ),
    (
        "unknown entity field",
        '[[group]]\nid = "G"\nmax_alocation = "4"',
        E,
        'group "G".max_alocation: unknown key (did you mean "max_allocation"?)',
    ),
]


@pytest.mark.parametrize(("rule", "text", "severity", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.all_keys_supported
def test_rule(site, rule, text, severity, expected):
    assert site.reports(text, severity, expected), (rule, site.problems(text))


def test_charger_max_a_makes_a_charger_controlled(site):
    text = '[[group]]\nid = "Default"\n[[charger]]\nid = "C1"\ngroup = "Default"\ncharger_max_a = 16'
    assert site.problems(text) == ()


def test_charger_id_may_contain_a_space(site):
    assert site.load(SITE + '[[charger]]\nid = "RDAM 123"\ngroup = "G"').config.charger[0].id == "RDAM 123"


def test_idle_limit_counts_subtree_connectors_and_passes_when_it_fits(site):
    text = (
        '[profiles]\nidle_limit_a = 6\n[[group]]\nid = "P"\nmax_allocation = "24"\n'
        '[[group]]\nid = "C"\nparent = "P"\n[[charger]]\nid = "A"\ngroup = "C"\nconnectors = 2\n'
        '[[charger]]\nid = "B"\ngroup = "P"\nconnectors = 2'
    )
    assert site.errors(text) == []
    assert any("24 A at profiles.idle_limit_a" in e for e in site.errors(text.replace('"24"', '"23"')))


def test_connectors_default_to_highest_connector_table(site):
    text = SITE + '[[charger]]\nid = "C1"\ngroup = "G"\n[[charger.connector]]\nid = 2\nmax_current_a = 16'
    assert site.load(text).config.charger[0].connectors == 2


def test_tags_are_normalised_to_upper_case(site):
    tag = site.load('[[tag]]\nid = "8a03ee96"\nparent = "acme"\nstatus = "blocked"').config.tag[0]
    assert (tag.id, tag.parent, tag.status) == ("8A03EE96", "ACME", "Blocked")


def test_tag_expiry_accepts_toml_and_string_date_times(site):
    tags = site.load(
        '[[tag]]\nid = "A"\nexpires = 2027-01-01T00:00:00Z\n'
        '[[tag]]\nid = "B"\nexpires = "2027-01-01T01:00:00+01:00"'
    ).config.tag
    assert tags[0].expires == tags[1].expires == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_structured_slots_load(site):
    group = site.load(
        '[[group]]\nid = "RR1"\n[[group.slot]]\ntime = "06:00-16:59"\ndays = "Mon-Fri"\n'
        'quotas = { 0 = 16, 3 = 32, 5 = 48 }\n[[group.slot]]\ntime = "*"\n'
        "quotas = { 0 = 48 }"
    ).config.group[0]
    assert group.slot[0].quotas == {0: 16, 3: 32, 5: 48}
    assert group.slot[0].days == "Mon-Fri"


@pytest.mark.all_keys_supported
def test_charger_profile_overrides_are_converted(site):
    charger = site.load(
        SITE + '[[charger]]\nid = "C1"\ngroup = "G"\nprofile = { kind = "Relative", min_interval_s = 20 }'
    ).config.charger[0]
    assert charger.profile == {"kind": "relative", "min_interval_s": 20}


def test_reference_sample_groups_load(site):
    text = """
    [[group]]
    id = "HQ"
    max_allocation = "00:00-07:59>0=63;08:00-16:59>0=20:3=63;17:00-20:59>5=63;21:00-23:59>0=40:3=63"
    [[group]]
    id = "RR1"
    max_allocation = "00:00-05:59>0=48;06:00-16:59>0=16:3=32:5=48;17:00-20:59>0=0:5=48;21:00-23:59>0=32:5=48"
    [[group]]
    id = "RR2"
    max_allocation = "00:00-23:59>0=24:3=40:5=48"
    [[group]]
    id = "Default"
    """
    assert [g.id for g in site.load(text).config.group] == ["HQ", "RR1", "RR2", "Default"]


def test_group_schedule_reads_both_spellings(site):
    from balanz.config.loader import group_schedule

    groups = site.load(
        '[[group]]\nid = "A"\nmax_allocation = "*>0=16:5=32"\n'
        '[[group]]\nid = "B"\n[[group.slot]]\ntime = "*"\nquotas = { 0 = 16, 5 = 32 }\n[[group]]\nid = "C"'
    ).config.group
    a, b, c = (group_schedule(g) for g in groups)
    assert (a.min_limit, a.max_limit, a.lowest_threshold_max) == (32, 32, 0)
    assert (b.min_limit, b.max_limit) == (32, 32)
    assert c is None
