"""The detail pane for the selected connector: the offer chain, meter, session and the charger's last frames.

The offer history is a sparkline so a ramp, a probe or an oscillation shows at a glance; the numbers beside
it say where in the chain (target → acknowledged → exposure) the connector is stuck, if it is.
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from balanz.control.snapshot import Charger, Connector
from balanz.tui.format import UNKNOWN, amps, clock, phases, relative

logger = logging.getLogger(__name__)

# Beyond this the CSMS replaces the charger's timestamps (csms.clock_skew_tolerance_s, default 300 s).
CLOCK_FAR_S = 300.0


class DetailPane(VerticalScroll):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Held, not queried: a push may ask for the detail before the pane is mounted or after it is gone.
        self.heading = Static("select a connector", id="detail-title")
        self.spark = Sparkline([], id="offer-spark")
        self.body = Static("", id="detail-body")

    def compose(self) -> ComposeResult:
        yield self.heading
        yield self.spark
        yield self.body

    def show(self, charger: Charger | None, connector: Connector | None, now: str) -> None:
        title, body, spark = self.heading, self.body, self.spark
        if charger is None or connector is None:
            title.update("select a connector")
            body.update("")
            spark.data = []
            return
        title.update(Text(f"{charger.name} #{connector.id}  {connector.status}", style="bold"))
        spark.data = list(connector.offer_history) or [0.0]
        body.update(describe(charger, connector, now))


def describe(charger: Charger, connector: Connector, now: str) -> Text:
    text = Text()

    def line(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:<11}", style="dim")
        text.append(value + "\n", style=style)

    history = ", ".join(f"{v:g}" for v in connector.offer_history[-8:]) or UNKNOWN
    line("history", history)
    line("target", f"{amps(connector.target_a)} A  want {amps(connector.want_a)} A")
    sent, ack, flight = amps(connector.sent_a), amps(connector.offer_a), amps(connector.in_flight_a)
    line("offer", f"sent {sent}  ack {ack}  in flight {flight}")
    line("exposure", f"{amps(connector.exposure_a)} A")
    line("usage", f"{phases(connector.usage_a)} A  EV cap {amps(connector.ev_cap_a)}")
    if connector.pinned:
        line("pinned", connector.pinned, "yellow")
    prio = UNKNOWN if connector.priority is None else f"{connector.priority} ({connector.priority_source})"
    line("priority", prio)
    if connector.suspended or connector.suspended_until:
        until = relative(connector.suspended_until, now) if connector.suspended_until else "until resumed"
        line("suspended", f"{until} {connector.suspend_reason}".strip(), "yellow")
    if connector.last_change:
        when = f"{clock(connector.last_change_at)} " if connector.last_change_at else ""
        line("changed", when + connector.last_change)
    if connector.flags:
        line("flags", ", ".join(connector.flags), "yellow")
    session = connector.session
    if session is not None:
        who = f"{session.id_tag} {session.user}".strip()
        line(
            "session", f"tx {session.transaction_id if session.transaction_id is not None else UNKNOWN} {who}"
        )
        line("", f"since {clock(session.started_at)}  {session.energy_wh / 1000:.2f} kWh")
    meter = connector.meter
    if meter is not None:
        energy = UNKNOWN if meter.energy_wh is None else f"{meter.energy_wh / 1000:.1f} kWh"
        power = UNKNOWN if meter.power_w is None else f"{meter.power_w / 1000:.1f} kW"
        line("meter", f"{clock(meter.at)}  {energy}  {power}")
        line("current", f"{phases(meter.current_a)} A")
        line("voltage", f"{phases(meter.voltage_v)} V")
        if meter.soc_percent is not None:
            line("", f"SoC {meter.soc_percent:.0f} %")
    state = "connected" if charger.connected else f"offline, last seen {clock(charger.last_seen)}"
    line("charger", state, "" if charger.connected else "red")
    line("", f"{charger.vendor} {charger.model} fw {charger.firmware or UNKNOWN}".strip())
    if charger.profile_strategy:
        line("profiles", charger.profile_strategy)
    if charger.auth_state:
        line("auth", charger.auth_state)
    if charger.clock_offset_s is not None:
        far = abs(charger.clock_offset_s) > CLOCK_FAR_S
        note = (
            f" ({abs(charger.clock_offset_s) / 86400:.1f} days)"
            if abs(charger.clock_offset_s) >= 86400
            else ""
        )
        line(
            "clock",
            f"{charger.clock_offset_s:+.1f} s{note}" + (" off: check NTP" if far else ""),
            "yellow" if far else "",
        )
    if charger.last_frames:
        text.append("last frames\n", style="dim")
        for frame in charger.last_frames[-6:]:
            arrow = "→" if frame.direction == "out" else "←"
            text.append(f" {clock(frame.at)} {arrow} {frame.action} {frame.text}\n")
    text.rstrip()
    return text
