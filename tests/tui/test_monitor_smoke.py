from balanz.tui.connectors import ConnectorTable
from tests.tui.harness import run_monitor


def test_smoke():
    async def scenario(app, pilot, daemon):
        table = app.query_one(ConnectorTable)
        print(table.row_count)
        print(app.query_one("#header").render())

    run_monitor(scenario)
