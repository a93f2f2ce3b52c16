"""``balanz monitor``: the Textual dashboard, a client of the control socket (own process, asyncio)."""
