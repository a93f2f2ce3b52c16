"""The groups overview: per allocation group the limit in force against what is offered and drawn.

Groups are listed as a tree (children indented under their parent) because a connector is bounded by every
allocation group on its path to the root (model.md §1.2).
"""

from __future__ import annotations

import logging

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from balanz.control.snapshot import Group, Snapshot
from balanz.tui.format import group_lines

logger = logging.getLogger(__name__)


class GroupsPanel(Static):
    snapshot: reactive[Snapshot | None] = reactive(None, layout=True)

    def render(self) -> Text:
        snap = self.snapshot
        if snap is None or not snap.groups:
            return Text("no groups yet", style="dim")
        width = max(40, self.size.width - 2)
        text = Text()
        for depth, group in tree_order(snap.groups):
            indent = "  " * depth
            for line in group_lines(group, snap.at, width - len(indent)):
                title = not line.startswith(" L")  # bars are " L1 …"; the title may take two lines
                style = ("bold yellow" if group.suspended else "bold") if title else ""
                text.append(indent + line + "\n", style=style)
        text.rstrip()
        return text


def tree_order(groups: tuple[Group, ...]) -> list[tuple[int, Group]]:
    """Groups depth-first under their parents; a group whose parent is unknown is shown as a root."""
    ids = {g.id for g in groups}
    children: dict[str | None, list[Group]] = {}
    for group in groups:
        parent = group.parent if group.parent in ids else None
        children.setdefault(parent, []).append(group)
    out: list[tuple[int, Group]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for group in children.get(parent, []):
            if group.id not in seen:
                seen.add(group.id)
                out.append((depth, group))
                walk(group.id, depth + 1)

    walk(None, 0)
    out.extend((0, g) for g in groups if g.id not in seen)
    return out
