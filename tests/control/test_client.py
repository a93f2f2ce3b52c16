"""The asyncio client against the fake daemon: replies, errors, timeouts, pushes, reconnecting."""

import asyncio

import pytest

from balanz.control.client import AsyncClient, Backoff, ConnectionLost, RequestFailed, follow
from balanz.control.protocol import ErrorReply, LineDecoder, Push, Reply, encode, parse_request
from tests.control.fake_daemon import FakeDaemon, listen, short_socket_path
from tests.tui.sites import load_site


def run(scenario):
    async def main():
        daemon = await FakeDaemon(load_site("site4.json"), listen(short_socket_path())).start()
        try:
            await scenario(daemon)
        finally:
            await daemon.close()

    asyncio.run(main())


def test_hello_then_request_and_reply():
    async def scenario(daemon):
        async with await AsyncClient.connect(daemon.path, client="test") as client:
            assert client.hello.mode == "csms"
            assert client.hello.access == "control"
            assert (
                await client.request("set-priority", {"charger": "CP1", "connector": 1, "priority": 5}) == {}
            )
        hello = await daemon.next_request("hello")
        assert hello.args == {"protocol": 1, "client": "test"}
        sent = await daemon.next_request("set-priority")
        assert sent.args == {"charger": "CP1", "connector": 1, "priority": 5}

    run(scenario)


def test_an_error_reply_raises_with_the_daemon_s_code_and_message():
    async def scenario(daemon):
        daemon.replies["reset"] = ErrorReply(None, "NotConnected", "charger CP1 is offline")
        async with await AsyncClient.connect(daemon.path) as client:
            with pytest.raises(RequestFailed) as exc:
                await client.request("reset", {"charger": "CP1"})
            assert (exc.value.code, exc.value.message) == ("NotConnected", "charger CP1 is offline")
            with pytest.raises(RequestFailed, match="InvalidArgs: reset: type: must be one of Soft, Hard"):
                await client.request("reset", {"charger": "CP1", "type": "Warm"})

    run(scenario)


def test_no_reply_in_time_is_a_timeout_error():
    async def main():
        path = short_socket_path()

        async def mute(reader, writer):
            decoder = LineDecoder(65536)
            try:
                while data := await reader.read(65536):
                    for obj in decoder.feed(data):
                        request = parse_request(obj)
                        if request.cmd == "hello":
                            writer.write(encode(Reply(request.id, {"protocol": 1})))
            finally:
                writer.close()

        server = await asyncio.start_unix_server(mute, sock=listen(path))
        async with server, await AsyncClient.connect(path, timeout=0.05) as client:
            with pytest.raises(RequestFailed) as exc:
                await client.request("status")
            assert exc.value.code == "Timeout"

    asyncio.run(main())


def test_unreachable_daemon_names_the_socket():
    async def main():
        with pytest.raises(ConnectionLost, match=r"/tmp/bz-none\.sock"):
            await AsyncClient.connect("/tmp/bz-none.sock")

    asyncio.run(main())


def test_pending_request_fails_when_the_daemon_goes_away():
    async def scenario(daemon):
        daemon.replies["status"] = None
        async with await AsyncClient.connect(daemon.path) as client:
            await daemon.drop_clients()
            with pytest.raises(ConnectionLost):
                await client.request("status")

    run(scenario)


class Recorder:
    def __init__(self):
        self.events = []
        self.changed = asyncio.Event()

    def on_connected(self, client):
        self.events.append("connected")
        self.changed.set()

    def on_push(self, push: Push):
        self.events.append(push.event)
        self.changed.set()

    def on_disconnected(self, reason, retry_in):
        self.events.append(f"disconnected {retry_in:g}")
        self.changed.set()

    async def until(self, predicate):
        async def wait():
            while not predicate(self.events):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), 60)  # only stops a hang


def test_follow_subscribes_and_comes_back_after_the_daemon_restarts():
    async def main():
        path = short_socket_path()
        daemon = await FakeDaemon(load_site("site4.json"), listen(path)).start()
        recorder = Recorder()
        task = asyncio.create_task(follow(path, recorder, backoff=Backoff(0.01, 0.04)))
        try:
            await recorder.until(lambda e: "snapshot" in e)
            assert (await daemon.next_request("subscribe")).args["topics"] == ["state", "events", "logs"]
            await daemon.publish(load_site("site4_later.json"))
            await recorder.until(lambda e: "delta" in e)
            await daemon.close()
            await recorder.until(lambda e: any(x.startswith("disconnected") for x in e))
            await recorder.until(lambda e: e.count("disconnected 0.04") >= 1)  # backing off while it is away
            daemon = await FakeDaemon(load_site("site4.json"), listen(path)).start()
            await recorder.until(lambda e: e.count("snapshot") == 2)
        finally:
            task.cancel()
            await daemon.close()
        assert recorder.events[:3] == ["connected", "snapshot", "delta"]
        assert recorder.events[3] == "disconnected 0.01"
        assert recorder.events[-2:] == ["connected", "snapshot"]

    asyncio.run(main())
