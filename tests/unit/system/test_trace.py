"""-trace: option forms, patterns, events files, output, subscribers (system/trace.py)."""

import os
import subprocess
import sys

import pytest

from qemu_py.system import trace
from qemu_py.system.trace_events import EVENTS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


@pytest.fixture(autouse=True)
def clean_trace():
    trace.reset()
    yield
    trace.reset()


def test_every_event_formats_with_its_arguments():
    for ev in EVENTS:
        args = {a: 1 for a in ev.args}
        line = trace.format_event(ev.name, args)
        assert line.startswith(ev.name), line
        assert "{" not in line


def test_log_backend_text_form():
    line = trace.format_event("memory_region_ram_device_read",
                              dict(cpu_index=-1, mr=0x55aa, addr=0x101, value=0xdeadbeef, size=4))
    assert line == ("memory_region_ram_device_read cpu -1 mr 0x55aa addr 0x101 "
                    "value 0xdeadbeef size 4")
    assert trace.format_event("vfio_region_read", dict(name="0000:01:00.0", index=2, addr=0x10,
                                                       size=4, data=0x5)) == \
        "vfio_region_read (0000:01:00.0:region2+0x10, 4) = 0x5"


@pytest.mark.parametrize("args, enabled", [
    (["memory_region_ram_device_read"], {"memory_region_ram_device_read"}),
    (["enable=memory_region_ram_device_*"], {"memory_region_ram_device_read",
                                             "memory_region_ram_device_write"}),
    (["vfio_sim_*,file=/dev/null"], {"vfio_sim_access", "vfio_sim_violation", "vfio_sim_dma",
                                     "vfio_sim_irq"}),
])
def test_enable_forms(args, enabled):
    trace.configure(args)
    assert trace.TRACER.logged == enabled
    assert enabled <= trace.ACTIVE


def test_file_replaces_the_log_file_last_one_wins():
    assert trace.configure(["a*,file=one", "enable=b*,file=two", "c*"]) == "two"
    assert trace.configure(["virtio_notify"]) is None


def test_d_trace_items_enable_too():
    trace.configure([], ["guest_errors", "trace:vfio_dma_*"])
    assert trace.TRACER.logged == {"vfio_dma_map", "vfio_dma_unmap"}


def test_events_file(tmp_path):
    path = tmp_path / "events"
    path.write_text("# a comment\n\nvfio_sim_*\n-vfio_sim_irq\n  memory_region_ram_device_write \n")
    trace.configure([f"events={path}"])
    assert trace.TRACER.logged == {"vfio_sim_access", "vfio_sim_violation", "vfio_sim_dma",
                                   "memory_region_ram_device_write"}


def test_events_file_that_cannot_be_opened(tmp_path):
    with pytest.raises(trace.TraceError, match=r"^-trace events=/nonexistent/x: could not open "
                                               r"trace events file '/nonexistent/x': No such "
                                               r"file or directory$"):
        trace.configure(["events=/nonexistent/x"])


def test_unknown_key():
    with pytest.raises(trace.TraceError, match=r"^-trace bogus=1: Invalid parameter 'bogus'$"):
        trace.configure(["bogus=1"])


def test_a_name_without_wildcards_that_matches_nothing_warns(capsys):
    trace.configure(["no_such_event", "no_such_*"])
    err = capsys.readouterr().err
    assert err == "qemu-py: warning: trace event 'no_such_event' does not exist\n"


def test_emit_writes_only_enabled_events():
    lines = []
    trace.configure(["vfio_dma_map"])
    trace.TRACER.write = lines.append
    trace.emit("vfio_dma_map", iova=0x1000, size=0x2000, readonly=0)
    trace.emit("vfio_dma_unmap", iova=0x1000, size=0x2000)
    assert lines == ["vfio_dma_map iova 0x1000 size 0x2000 readonly 0"]


def test_subscribers_see_events_without_logging_and_survive_configure():
    seen = []
    entry = trace.subscribe(lambda name, args: seen.append((name, args)), "virtio_*")
    trace.configure([])
    assert "virtio_notify" in trace.ACTIVE and "vfio_dma_map" not in trace.ACTIVE
    trace.emit("virtio_notify", vdev=1, vq=2)
    trace.emit("vfio_dma_map", iova=0, size=0, readonly=0)
    assert seen == [("virtio_notify", {"vdev": 1, "vq": 2})]
    trace.unsubscribe(entry)
    assert "virtio_notify" not in trace.ACTIVE


def test_an_argument_called_name_is_fine():
    seen = []
    trace.subscribe(lambda n, a: seen.append(a), "virtio_error")
    trace.emit("virtio_error", name="virtio-balloon-device", msg="Looped descriptor")
    assert seen == [{"name": "virtio-balloon-device", "msg": "Looped descriptor"}]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "qemu_py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_trace_help_lists_the_events_and_exits():
    r = _run("-trace", "help")
    assert r.returncode == 0
    assert "memory_region_ram_device_read\n" in r.stdout
    assert "vfio_sim_access\n" in r.stdout


def test_bad_trace_option_is_a_startup_error():
    r = _run("-M", "none", "-trace", "events=/nonexistent/file", "-display", "none")
    assert r.returncode == 1
    assert r.stderr == ("qemu-py: -trace events=/nonexistent/file: could not open trace events "
                        "file '/nonexistent/file': No such file or directory\n")
