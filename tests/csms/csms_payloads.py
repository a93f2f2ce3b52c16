"""Real-world MeterValues shapes, as data: one entry per charger seen in public OCPP logs.

Each payload reproduces the shape and values a charger sent, as quoted in the named issue. Where the
quoted log was cut off, only the visible sampled values are kept (said so in the comment). ``expect``
holds what balanz must read from it; ``phases`` is the charger's configured phase count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str
    vendor: str
    source: str
    payload: dict[str, Any]
    expect: dict[str, Any]
    phases: int = 3
    warnings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def sv(value: Any, measurand: str | None = None, unit: str | None = None, **more: str) -> dict[str, Any]:
    """A sampledValue dict with only the keys the charger sent (None = key absent)."""
    out: dict[str, Any] = {"value": value}
    if measurand is not None:
        out["measurand"] = measurand
    if unit is not None:
        out["unit"] = unit
    out.update(more)
    return out


P = {"context": "Sample.Periodic", "format": "Raw"}
T = {"context": "Trigger", "format": "Raw"}
PO = {"format": "Raw", "location": "Outlet", "context": "Sample.Periodic"}
TO = {"format": "Raw", "location": "Outlet", "context": "Trigger"}
PB = {"context": "Sample.Periodic", "format": "Raw", "location": "Body"}

CASES = [
    # ABB Terra AC, 3-phase, per-phase current/power/voltage — foxriver76/ioBroker.ocpp issue #7
    # (log 2022-01-18; the entries after L3 power were cut in the issue text).
    Case(
        "abb_terra_ac_phased",
        "ABB",
        "foxriver76/ioBroker.ocpp#7",
        {
            "connectorId": 1,
            "transactionId": 1,
            "meterValue": [
                {
                    "timestamp": "2022-01-18T19:00:50.000Z",
                    "sampledValue": [
                        sv("229.60", "Voltage", "V", phase="L1-N", **P),
                        sv("9.57", "Current.Import", "A", phase="L1", **P),
                        sv("2170", "Power.Active.Import", "W", phase="L1", **P),
                        sv("229.90", "Voltage", "V", phase="L2-N", **P),
                        sv("9.54", "Current.Import", "A", phase="L2", **P),
                        sv("2163", "Power.Active.Import", "W", phase="L2", **P),
                        sv("232.40", "Voltage", "V", phase="L3-N", **P),
                        sv("0.0", "Current.Import", "A", phase="L3", **P),
                        sv("0", "Power.Active.Import", "W", phase="L3", **P),
                    ],
                }
            ],
        },
        {"usage_a": 9.57, "usage_source": "phases", "power_w": 4333.0, "register_wh": None},
        extra={"usage_phases_a": (9.57, 9.54, 0.0), "voltage_v": (229.6, 229.9, 232.4)},
    ),
    # ABB Terra AC answering TriggerMessage with an unphased Current.Import — evcc-io/evcc#17979.
    Case(
        "abb_terra_ac_unphased",
        "ABB",
        "evcc-io/evcc#17979",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2024-12-31T10:50:26.000Z",
                    "sampledValue": [
                        sv("0", "Energy.Active.Import.Register", "Wh", **T),
                        sv("0.00", "Current.Import", "A", **T),
                        sv("0", "Power.Active.Import", "W", **T),
                    ],
                }
            ],
        },
        {"usage_a": 0.0, "usage_source": "total", "power_w": 0.0, "register_wh": 0.0},
    ),
    # ABB reporting the EV's state of charge with location EV — sap-labs-france/ev-server#514 (the
    # entries after SoC were cut in the comment).
    Case(
        "abb_soc_from_ev",
        "ABB",
        "sap-labs-france/ev-server#514",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2020-05-14T10:00:00Z",  # not in the quoted excerpt; added to be valid
                    "sampledValue": [
                        {
                            "unit": "Percent",
                            "context": "Sample.Periodic",
                            "measurand": "SoC",
                            "location": "EV",
                            "value": "70.0",
                        },
                    ],
                }
            ],
        },
        {"usage_a": None, "soc_percent": 70.0},
    ),
    # Alfen ICU, TriggerMessage answer on connector 2, no phase data; the third value's measurand was
    # cut in the issue after "Energ" (an energy register by its value) — mobilityhouse/ocpp#398.
    Case(
        "alfen_icu_trigger",
        "Alfen",
        "mobilityhouse/ocpp#398",
        {
            "connectorId": 2,
            "meterValue": [
                {
                    "timestamp": "2021-06-29T11:41:44Z",
                    "sampledValue": [
                        sv("8424.200", "Power.Active.Import", "W", context="Trigger", location="Outlet"),
                        sv("14.900", "Current.Offered", "A", context="Trigger", location="Outlet"),
                        sv(
                            "445343.000",
                            "Energy.Active.Import.Register",
                            "Wh",
                            context="Trigger",
                            location="Outlet",
                        ),
                    ],
                }
            ],
        },
        {"usage_a": 8424.2 / 690, "usage_source": "power", "offered_a": 14.9, "register_wh": 445343.0},
    ),
    # Wallbox Pulsar (FW 6.4), 3-phase at 15.5 A, Outlet everywhere; L2 current cut in the issue text
    # — evcc-io/evcc#15492.
    Case(
        "wallbox_pulsar_3ph",
        "Wallbox",
        "evcc-io/evcc#15492",
        {
            "meterValue": [
                {
                    "timestamp": "2024-08-19T09:17:13Z",
                    "sampledValue": [
                        sv("532363.9", "Energy.Active.Import.Register", "Wh", **PO),
                        sv("11027.4", "Power.Active.Import", "W", **PO),
                        sv("16", "Current.Offered", "A", **PO),
                        sv("11085", "Power.Offered", "W", **PO),
                        sv("15.5", "Current.Import", "A", phase="L1", **PO),
                        sv("15.5", "Current.Import", "A", phase="L3", **PO),
                        sv("231.0", "Voltage", "V", phase="L1-N", **PO),
                        sv("241.0", "Voltage", "V", phase="L2-N", **PO),
                    ],
                }
            ],
            "connectorId": 1,
            "transactionId": 2,
        },
        {"usage_a": 15.5, "usage_source": "phases", "offered_a": 16.0, "register_wh": 532363.9},
    ),
    # Wallbox Pulsar, car charging on one phase at 31.1 A — evcc-io/evcc#18974 (offered value cut).
    Case(
        "wallbox_pulsar_1ph",
        "Wallbox",
        "evcc-io/evcc#18974",
        {
            "connectorId": 1,  # after the cut in the issue text; 1 assumed
            "meterValue": [
                {
                    "timestamp": "2025-02-19T09:45:35Z",
                    "sampledValue": [
                        sv("7215.2", "Power.Active.Import", "W", **PO),
                        sv("3117895.0", "Energy.Active.Import.Register", "Wh", **PO),
                        sv("31.1", "Current.Import", "A", phase="L1", **PO),
                        sv("0.0", "Current.Import", "A", phase="L2", **PO),
                        sv("0.0", "Current.Import", "A", phase="L3", **PO),
                        sv("232.0", "Voltage", "V", phase="L1-N", **PO),
                        sv("244.0", "Voltage", "V", phase="L2-N", **PO),
                        sv("238.0", "Voltage", "V", phase="L3-N", **PO),
                    ],
                }
            ],
        },
        {"usage_a": 31.1, "usage_source": "phases", "register_wh": 3117895.0},
    ),
    # Charger with serial JVH… ("OCPP Wallbox" in the issue; vendor not named): everything at location
    # Body, currents tagged L1-N, power in kW — evcc-io/evcc#16966 (cut after L2 current).
    Case(
        "jvh_body_location",
        "unknown (JVH serial)",
        "evcc-io/evcc#16966",
        {
            "connectorId": 1,
            "transactionId": 1730229549,
            "meterValue": [
                {
                    "timestamp": "2024-10-29T20:49:53Z",
                    "sampledValue": [
                        sv("227.20", "Voltage", "V", phase="L1-N", **PB),
                        sv("0.00", "Current.Import", "A", phase="L1-N", **PB),
                        sv("0.00", "Power.Active.Import", "kW", phase="L1-N", **PB),
                        sv("2331810", "Energy.Active.Import.Register", "Wh", **PB),
                        sv("16.00", "Current.Offered", "A", **PB),
                        sv("230.00", "Voltage", "V", phase="L2-N", **PB),
                        sv("229.50", "Voltage", "V", phase="L3-N", **PB),
                        sv("0.00", "Current.Import", "A", phase="L2-N", **PB),
                    ],
                }
            ],
        },
        {"usage_a": 0.0, "usage_source": "phases", "offered_a": 16.0, "register_wh": 2331810.0},
    ),
    # Zaptec Go 2: one meterValue element per measurand group, all with the same timestamp; a register
    # near 2^32 Wh; voltages tagged L1/L2 — evcc-io/evcc#29190 (cut after the L2 voltage).
    Case(
        "zaptec_go2_split_elements",
        "Zaptec",
        "evcc-io/evcc#29190",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-04-17T17:28:02Z",
                    "sampledValue": [sv("0.0", "Power.Active.Import", "W", **TO)],
                },
                {
                    "timestamp": "2026-04-17T17:28:02Z",
                    "sampledValue": [sv("4296944685", "Energy.Active.Import.Register", "Wh", **T)],
                },
                {
                    "timestamp": "2026-04-17T17:28:02Z",
                    "sampledValue": [
                        sv("0.0", "Current.Import", "A", phase="L1", **TO),
                        sv("0.0", "Current.Import", "A", phase="L2", **TO),
                        sv("0.0", "Current.Import", "A", phase="L3", **TO),
                    ],
                },
                {
                    "timestamp": "2026-04-17T17:28:02Z",
                    "sampledValue": [
                        sv("0.1", "Voltage", "V", phase="L1", **TO),
                        sv("0.1", "Voltage", "V", phase="L2", **TO),
                    ],
                },
            ],
        },
        {"usage_a": 0.0, "usage_source": "phases", "register_wh": 4296944685.0, "readings": 1},
    ),
    # KEBA P40 behind an M20 controller: only the energy register, connector 3 — lbbrhzn/ocpp#1815.
    Case(
        "keba_register_only",
        "KEBA",
        "lbbrhzn/ocpp#1815",
        {
            "connectorId": 3,
            "transactionId": 1763968421,
            "meterValue": [
                {
                    "timestamp": "2025-11-24T12:57:07.000Z",
                    "sampledValue": [
                        sv("51608.5", "Energy.Active.Import.Register", "Wh", location="Outlet", **P),
                    ],
                }
            ],
        },
        {"usage_a": None, "usage_source": "", "register_wh": 51608.5},
    ),
    # Vestel EVC04, TriggerMessage answer — evcc-io/evcc#15601 (cut after the L3 phase key).
    Case(
        "vestel_evc04_trigger",
        "Vestel",
        "evcc-io/evcc#15601",
        {
            "connectorId": 1,  # after the cut in the issue text; 1 assumed
            "meterValue": [
                {
                    "timestamp": "2024-08-22T08:23:44Z",
                    "sampledValue": [
                        sv("0.0", "Power.Active.Import", "W", **TO),
                        sv("1475943.0", "Energy.Active.Import.Register", "Wh", **TO),
                        sv("0.0", "Current.Import", "A", phase="L1", **TO),
                        sv("0.0", "Current.Import", "A", phase="L2", **TO),
                    ],
                }
            ],
        },
        {"usage_a": 0.0, "usage_source": "phases", "register_wh": 1475943.0},
    ),
    # Growatt THOR 22AS: local-offset timestamp, the Transaction.Begin register repeated in every
    # periodic sample — lbbrhzn/ocpp#1838 (cut after the L1 voltage's phase).
    Case(
        "growatt_thor_begin_register",
        "Growatt",
        "lbbrhzn/ocpp#1838",
        {
            "connectorId": 1,
            "transactionId": 1767583807,
            "meterValue": [
                {
                    "timestamp": "2026-01-05T14:58:38+10:00",
                    "sampledValue": [
                        sv("163630", "Energy.Active.Import.Register", "Wh", **P),
                        sv(
                            "157440",
                            "Energy.Active.Import.Register",
                            "Wh",
                            context="Transaction.Begin",
                            format="Raw",
                        ),
                        sv("5.84", "Current.Import", "A", phase="L1", **P),
                        sv("5.90", "Current.Import", "A", phase="L2", **P),
                        sv("6.18", "Current.Import", "A", phase="L3", **P),
                    ],
                }
            ],
        },
        {"usage_a": 6.18, "register_wh": 163630.0, "begin_register_wh": 157440.0},
        extra={"utc": "2026-01-05T04:58:38+00:00"},
    ),
    # Growatt THOR 11A/S: Transaction.Begin register 0, voltages tagged L1/L2/L3 (no -N), +01:00
    # timestamp — lbbrhzn/ocpp#1709 (cut after L2 power's measurand).
    Case(
        "growatt_thor_zero_begin",
        "Growatt",
        "lbbrhzn/ocpp#1709",
        {
            "connectorId": 1,
            "transactionId": 1735917607,
            "meterValue": [
                {
                    "timestamp": "2025-01-03T16:20:47+01:00",
                    "sampledValue": [
                        sv("18", "Energy.Active.Import.Register", "Wh", **P),
                        sv(
                            "0",
                            "Energy.Active.Import.Register",
                            "Wh",
                            context="Transaction.Begin",
                            format="Raw",
                        ),
                        sv("9.46", "Current.Import", "A", phase="L1", **P),
                        sv("0.0", "Current.Import", "A", phase="L2", **P),
                        sv("0.0", "Current.Import", "A", phase="L3", **P),
                        sv("233.5", "Voltage", "V", phase="L1", **P),
                        sv("236.2", "Voltage", "V", phase="L2", **P),
                        sv("235.6", "Voltage", "V", phase="L3", **P),
                        sv("2223", "Power.Active.Import", "W", phase="L1", **P),
                    ],
                }
            ],
        },
        {"usage_a": 9.46, "register_wh": 18.0, "begin_register_wh": 0.0, "power_w": 2223.0},
        extra={"voltage_v": (233.5, 236.2, 235.6)},
    ),
    # Injet Sonic, 1-phase: its only current is tagged N, power in kW — lbbrhzn/ocpp#1311.
    Case(
        "injet_sonic_neutral_current",
        "Injet",
        "lbbrhzn/ocpp#1311",
        {
            "connectorId": 1,
            "transactionId": 1725564597,
            "meterValue": [
                {
                    "timestamp": "2024-09-05T21:41:59.333Z",
                    "sampledValue": [
                        {"measurand": "Energy.Active.Import.Register", "unit": "Wh", "value": "254780"},
                        {"measurand": "Power.Active.Import", "unit": "kW", "value": "3.5"},
                        {"measurand": "Temperature", "unit": "Celsius", "value": "35"},
                        {"measurand": "Voltage", "phase": "L1-N", "unit": "V", "value": "231.1"},
                        {"measurand": "Current.Import", "phase": "N", "unit": "A", "value": "15.6"},
                    ],
                }
            ],
        },
        {"usage_a": 3500 / 231.1, "usage_source": "power", "power_w": 3500.0, "register_wh": 254780.0},
        phases=1,
    ),
    # Amperfied: Current.Offered, Power.Offered and SoC all sent with unit "V", transactionId 0 —
    # evcc-io/evcc#17585. The three mislabelled values are dropped with warnings.
    Case(
        "amperfied_wrong_units",
        "Amperfied (Heidelberg)",
        "evcc-io/evcc#17585",
        {
            "meterValue": [
                {
                    "timestamp": "2024-12-04T18:16:25Z",
                    "sampledValue": [
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Other",
                            "measurand": "Power.Active.Import",
                            "unit": "W",
                            "value": "0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Other",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                            "value": "89624",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Other",
                            "phase": "L1",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "value": "0.0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Other",
                            "phase": "L1-N",
                            "measurand": "Voltage",
                            "unit": "V",
                            "value": "235.8",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Trigger",
                            "measurand": "Current.Offered",
                            "unit": "V",
                            "value": "0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Trigger",
                            "measurand": "Power.Offered",
                            "unit": "V",
                            "value": "0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Trigger",
                            "measurand": "SoC",
                            "unit": "V",
                            "value": "0",
                        },
                    ],
                }
            ],
            "connectorId": 1,
            "transactionId": 0,
        },
        {"usage_a": 0.0, "offered_a": None, "register_wh": 89624.0, "soc_percent": None},
        warnings=3,
    ),
    # EN+ AC7000: Current.Import without context, voltage tagged L1, transactionId after meterValue —
    # evcc-io/evcc#14673.
    Case(
        "enplus_ac7000_trigger",
        "EN+",
        "evcc-io/evcc#14673",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2024-07-09T02:08:31Z",
                    "sampledValue": [
                        {"measurand": "Current.Offered", "unit": "A", "value": "32.0", "context": "Trigger"},
                        {"measurand": "Current.Import", "unit": "A", "phase": "L1", "value": "0.0"},
                        {
                            "measurand": "Voltage",
                            "unit": "V",
                            "phase": "L1",
                            "value": "245.8",
                            "context": "Trigger",
                        },
                        {
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                            "value": "10798.0",
                            "context": "Trigger",
                        },
                        {
                            "measurand": "Power.Active.Import",
                            "unit": "W",
                            "value": "0.0",
                            "context": "Trigger",
                        },
                    ],
                }
            ],
            "transactionId": 3,
        },
        {"usage_a": 0.0, "offered_a": 32.0, "register_wh": 10798.0},
        phases=1,
    ),
    # Charger with id EZ8-NCG-20K (vendor not named): values padded with a blank — evcc-io/evcc#19354
    # (only the first value is fully visible in the issue).
    Case(
        "ez8_padded_values",
        "unknown (EZ8-NCG-20K)",
        "evcc-io/evcc#19354",
        {
            "connectorId": 1,
            "transactionId": 1740470158,
            "meterValue": [
                {
                    "timestamp": "2025-03-02T22:20:37.609Z",
                    "sampledValue": [
                        {
                            "value": " 0.0",
                            "context": "Sample.Periodic",
                            "measurand": "Current.Import",
                            "phase": "L1",
                            "unit": "A",
                        },
                    ],
                }
            ],
        },
        {"usage_a": 0.0, "usage_source": "phases"},
    ),
    # OpenEVSE: values as JSON numbers instead of strings, an offline batch of four readings —
    # lbbrhzn/ocpp#210.
    Case(
        "openevse_numbers",
        "OpenEVSE",
        "lbbrhzn/ocpp#210",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": f"2021-11-22T20:{minute}:32.000Z",
                    "sampledValue": [
                        {"value": 604.213, "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": 0, "measurand": "Power.Active.Import", "unit": "W"},
                    ],
                }
                for minute in ("38", "39", "40", "41")
            ],
        },
        {"usage_a": 0.0, "usage_source": "power", "register_wh": 604.213, "readings": 4},
    ),
    # A 48 A single-phase charger (60 Hz; vendor not named, charger id "left"): Frequency without unit,
    # Energy.Active.Import.Interval, Power.Offered in W — lbbrhzn/ocpp#1742.
    Case(
        "left_48a_frequency",
        "unknown (id 'left')",
        "lbbrhzn/ocpp#1742",
        {
            "meterValue": [
                {
                    "timestamp": "2025-09-21T15:25:25Z",
                    "sampledValue": [
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "phase": "L1",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "value": "47.2",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "phase": "L2",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "value": "0.0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "phase": "L3",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "value": "0.0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                            "value": "108009.6",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "measurand": "Energy.Active.Import.Interval",
                            "unit": "Wh",
                            "value": "88.5",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "measurand": "Frequency",
                            "value": "60.0",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "measurand": "Power.Active.Import",
                            "unit": "W",
                            "value": "10761.6",
                        },
                        {
                            "format": "Raw",
                            "location": "Outlet",
                            "context": "Sample.Periodic",
                            "measurand": "Power.Offered",
                            "unit": "W",
                            "value": "33255",
                        },
                    ],
                }
            ],
            "connectorId": 1,
            "transactionId": 1758468254,
        },
        {"usage_a": 47.2, "register_wh": 108009.6, "offered_a": 33255 / 230, "power_w": 10761.6},
        phases=1,
    ),
    # myenergi zappi: its only register tagged phase N — evcc-io/evcc#27206 (only the sampled value is
    # quoted; connector and timestamp added to make a message).
    Case(
        "zappi_register_on_neutral",
        "myenergi",
        "evcc-io/evcc#27206",
        {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-02-04T12:00:00Z",
                    "sampledValue": [
                        {
                            "value": "8077",
                            "measurand": "Energy.Active.Import.Register",
                            "phase": "N",
                            "unit": "Wh",
                        }
                    ],
                }
            ],
        },
        {"usage_a": None, "register_wh": 8077.0},
        phases=1,
    ),
    # Signed periodic reading: the JSON envelope with an OCMF document that a simulator sends next to
    # the raw register — solidstudiosh/ocpp-virtual-charge-point PR #63 (base64 shortened).
    Case(
        "signed_ocmf_envelope",
        "simulator (OCMF)",
        "solidstudiosh/ocpp-virtual-charge-point#63",
        {
            "connectorId": 1,
            "transactionId": 7,
            "meterValue": [
                {
                    "timestamp": "2026-08-25T10:00:00Z",
                    "sampledValue": [
                        {"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {
                            "value": '{"signedMeterData":"T0NNRnx7fQ==","encodingMethod":"OCMF",'
                            '"publicKey":"MFkwEw=="}',
                            "format": "SignedData",
                            "context": "Sample.Periodic",
                        },
                    ],
                }
            ],
        },
        {"usage_a": None, "register_wh": 1234.0},
    ),
    # Alfen signed data in its own "AP;…" format, Transaction.Begin — evbox/station-simulator PR #100
    # (the fixture there was taken from an Alfen charger; shortened).
    Case(
        "alfen_signed_begin",
        "Alfen (signed)",
        "evbox/station-simulator#100",
        {
            "connectorId": 1,
            "transactionId": 8,
            "meterValue": [
                {
                    "timestamp": "2020-06-05T10:00:00Z",
                    "sampledValue": [
                        {
                            "value": "AP;0;3;ALCV3ABBBISHMA2RYEGAZE3HV5YQBQRQAEHAR2MN;BIHEIWSHAAA2W2V7;",
                            "format": "SignedData",
                            "context": "Transaction.Begin",
                        },
                    ],
                }
            ],
        },
        {"usage_a": None, "register_wh": None, "begin_register_wh": None},
    ),
]
