import pytest

from .harness import SPAWNED


@pytest.fixture(autouse=True)
def no_emulator_left_running():
    """A failing test must not leave its qemu-py process behind."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
