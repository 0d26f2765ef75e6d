"""The PyPI client ``qemu.qmp`` (0.0.6) against qemu-py over the three usual transports."""

import asyncio
import socket

import pytest
from qemu.qmp import ExecuteError, QMPClient

from .harness import BASE, spawn, wait_for_path


async def exercise(client: QMPClient, proc):
    """Negotiated by connect(): commands, an error, events, quit, a clean disconnect."""
    assert client.greeting.QMP.version["qemu"] == {"micro": 22, "minor": 2, "major": 7}
    assert await client.execute("query-status") == {"status": "running", "singlestep": False,
                                                    "running": True}
    with pytest.raises(ExecuteError) as info:
        await client.execute("qom-get", {"path": "/machine", "property": "nope"})
    assert info.value.error_class == "GenericError"
    assert str(info.value) == "Property 'none-machine.nope' not found"
    with client.listener(("STOP", "RESUME")) as listener:
        assert await client.execute("stop") == {}
        assert await client.execute("cont") == {}
        assert (await listener.get())["event"] == "STOP"
        assert (await listener.get())["event"] == "RESUME"
    assert await client.execute("human-monitor-command", {"command-line": "xp /2xb 0"}) == \
        "0000000000000000: 0x00 0x00\r\n"
    with client.listener("SHUTDOWN") as listener:
        assert await client.execute("quit") == {}
        event = await listener.get()
        assert event["data"] == {"guest": False, "reason": "host-qmp-quit"}
    await client.disconnect()
    assert await asyncio.get_running_loop().run_in_executor(None, proc.wait, 20) == 0
    proc.stderr.close()


def test_client_listens_and_the_emulator_connects(tmp_path):
    path = str(tmp_path / "qmp.sock")

    async def main():
        client = QMPClient("listener")
        await client.start_server(path)
        proc = spawn([*BASE, "-chardev", f"socket,path={path},id=c", "-mon", "chardev=c,mode=control"])
        await asyncio.wait_for(client.accept(), 20)
        await exercise(client, proc)

    asyncio.run(main())


def test_emulator_listens_and_the_client_connects(tmp_path):
    path = str(tmp_path / "qmp.sock")

    async def main():
        proc = spawn([*BASE, "-chardev", f"socket,path={path},id=c,server=on,wait=off",
                      "-mon", "chardev=c,mode=control"])
        await asyncio.get_running_loop().run_in_executor(None, wait_for_path, path, proc)
        client = QMPClient("connector")
        await asyncio.wait_for(client.connect(path), 20)
        await exercise(client, proc)

    asyncio.run(main())


def test_inherited_socketpair_fd():
    ours, theirs = socket.socketpair()

    async def main():
        proc = spawn([*BASE, "-chardev", f"socket,id=mon,fd={theirs.fileno()}",
                      "-mon", "chardev=mon,mode=control"], pass_fds=[theirs.fileno()])
        theirs.close()
        client = QMPClient("socketpair")
        await asyncio.wait_for(client.connect(ours), 20)
        await exercise(client, proc)

    asyncio.run(main())
