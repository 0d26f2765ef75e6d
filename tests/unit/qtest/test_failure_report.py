"""When the emulator under test dies, the client's error names the exit
status or signal and the last lines of the emulator's output."""

import os
import signal
import sys

import pytest

from qemu_py.qtest.client import QTest, QTestError, describe_status

FAKE = os.path.join(os.path.dirname(__file__), "fake_dying_emulator.py")


def _launch(tmp_path, death, on="qtest", qmp=False):
    env = dict(os.environ, FAKE_DEATH=death, FAKE_DEATH_ON=on)
    return QTest([], binary=[sys.executable, FAKE], qmp=qmp, env=env, timeout=10,
                 log_dir=str(tmp_path)).launch()


def test_describe_status():
    assert describe_status(1) == "exited with status 1"
    assert describe_status(-signal.SIGSEGV) == "killed by signal 11 (SIGSEGV)"
    assert describe_status(-200) == "killed by signal 200"


def _dying_reply(tmp_path, death) -> str:
    """The QTestError text of a command whose emulator dies (DEATH) before replying."""
    qt = _launch(tmp_path, death)
    try:
        with pytest.raises(QTestError) as e:
            qt.cmd("clock_step 1")
    finally:
        qt.close()
    return str(e.value)


def test_qtest_reply_names_sigsegv_and_stderr(tmp_path):
    msg = _dying_reply(tmp_path, "segv")
    assert "connection closed while waiting for the reply to 'clock_step 1'" in msg
    assert "qemu-py killed by signal 11 (SIGSEGV)" in msg
    assert msg.index("fake: about to die") < msg.index("fake: last words")
    assert "qtest log:" in msg


def test_qtest_reply_names_exit_status(tmp_path):
    msg = _dying_reply(tmp_path, "3")
    assert "qemu-py exited with status 3" in msg
    assert "fake: last words" in msg


def test_qmp_reply_names_exit_status(tmp_path):
    qt = _launch(tmp_path, "3", on="qmp", qmp=True)
    try:
        with pytest.raises(ConnectionError) as e:
            qt.qmp("query-status")
    finally:
        qt.close()
    msg = str(e.value)
    assert msg.startswith("QMP connection closed by the emulator: qemu-py exited with status 3")
    assert "fake: last words" in msg


def test_qmp_reply_names_sigsegv(tmp_path):
    qt = _launch(tmp_path, "segv", on="qmp", qmp=True)
    try:
        with pytest.raises(ConnectionError) as e:
            qt.qmp("query-status")
    finally:
        qt.close()
    assert "killed by signal 11 (SIGSEGV)" in str(e.value)
