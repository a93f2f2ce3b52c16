"""The connectors table: one row per connector of the site, sortable, filterable, updated in place.

Only changed cells are written (``update_cell``), and rows are rebuilt only when connectors appear,
disappear or cross the filter: at 2,000 chargers a full rebuild per delta would make the table flicker and
eat the CPU. DataTable draws only the visible lines, so the row count itself costs little. Cells go in as
``Text``, never as ``str``: a string cell is parsed as console markup, which is slow at this size and would
let a charger alias such as ``[/x]`` break the table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from rich.text import Text
from textual.widgets import DataTable

from balanz.control.snapshot import Charger, Snapshot
from balanz.tui.format import COLUMN_KEYS, COLUMNS, matches, row, sort_key

logger = logging.getLogger(__name__)

RowId = tuple[str, int]


def row_key(charger_id: str, connector_id: int) -> str:
    return f"{charger_id}/{connector_id}"


def parse_row_key(key: str) -> RowId:
    charger_id, _, connector = key.rpartition("/")
    return charger_id, int(connector)


class ConnectorTable(DataTable[Text]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.needle = ""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._cells: dict[str, tuple[str, ...]] = {}
        self.rebuilds = 0

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def selected(self) -> RowId | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor may point past the last row while rows are being replaced
            return None
        return parse_row_key(key) if key else None

    def rebuild(self, snapshot: Snapshot) -> None:
        """All rows again, filtered and sorted; the cursor stays on its connector if that is still shown."""
        keep = self.selected()
        self.rebuilds += 1
        self.clear()
        self._cells = {}
        for charger in sorted(snapshot.chargers, key=lambda c: (c.name, c.id)):
            self._add_rows(charger)
        self._sort()
        if keep is not None and row_key(*keep) in self._cells:
            self.move_cursor(row=self.get_row_index(row_key(*keep)), animate=False)

    def update_chargers(self, snapshot: Snapshot, charger_ids: Iterable[str]) -> None:
        """Write the changed cells of these chargers' rows; rebuild when a row must appear or vanish."""
        resort = False
        by_id = {c.id: c for c in snapshot.chargers}
        for charger_id in charger_ids:
            charger = by_id.get(charger_id)
            if charger is None:
                if any(parse_row_key(k)[0] == charger_id for k in self._cells):
                    self.rebuild(snapshot)
                    return
                continue
            for connector in charger.connectors:
                key = row_key(charger.id, connector.id)
                shown = key in self._cells
                if shown != matches(charger, connector, self.needle):
                    self.rebuild(snapshot)
                    return
                if not shown:
                    continue
                cells = row(charger, connector)
                old = self._cells[key]
                for column, before, after in zip(COLUMN_KEYS, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, Text(after))
                        resort = resort or column == self.sort_column
                self._cells[key] = cells
        if resort:
            self._sort()

    def set_filter(self, needle: str, snapshot: Snapshot) -> None:
        self.needle = needle
        self.rebuild(snapshot)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._sort()

    def next_sort(self) -> str:
        """Cycle the sort column (key ``o``); returns its name for the status line."""
        index = COLUMN_KEYS.index(self.sort_column) + 1 if self.sort_column in COLUMN_KEYS else 0
        self.sort_by(COLUMN_KEYS[index % len(COLUMN_KEYS)], reverse=False)
        return dict(COLUMNS)[self.sort_column or COLUMN_KEYS[0]]

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    def _add_rows(self, charger: Charger) -> None:
        for connector in charger.connectors:
            if matches(charger, connector, self.needle):
                key = row_key(charger.id, connector.id)
                cells = row(charger, connector)
                self._cells[key] = cells
                self.add_row(*(Text(cell) for cell in cells), key=key)

    def _sort(self) -> None:
        if self.sort_column is not None and self.row_count:
            self.sort(self.sort_column, key=sort_key, reverse=self.sort_reverse)
