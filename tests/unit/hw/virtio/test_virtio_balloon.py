"""virtio-balloon: config space, target/actual, stats, QOM properties, QMP helpers."""

import pytest

from qemu_py.hw.virtio import balloon as balloon_mod
from qemu_py.qtest.libqos.balloon import QVirtioBalloon
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.qtest.libqos.malloc import pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice
from qemu_py.qtest.qmp_client import QMPError

SLOT = 3
U64 = (1 << 64) - 1


def machine(*extra, props=""):
    return InProcessQTest(["-M", "pc", "-m", "128M", "-device",
                           f"virtio-balloon-pci,addr={SLOT:02x}.0,id=b0{props}", *extra])


@pytest.fixture
def g():
    q = machine()
    b = QVirtioBalloon(QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator()))
    yield q, b
    q.close()


def test_config_space_and_the_target(g):
    q, b = g
    assert (b.num_pages, b.actual) == (0, 0)
    balloon_mod.qmp_balloon(q.vm, 64 << 20)                   # 64 MiB of 128 MiB
    assert b.num_pages == (64 << 20) >> 12
    assert b.dev.isr() == 3                                    # config change
    balloon_mod.qmp_balloon(q.vm, 1 << 40)                     # clipped to RAM
    assert b.num_pages == 0
    b.set_actual(0x100)
    assert b.actual == 0x100
    assert balloon_mod.qmp_query_balloon(q.vm) == {"actual": (128 << 20) - (0x100 << 12)}
    ev = q.qmp_event("BALLOON_CHANGE")
    assert ev["data"] == {"actual": (128 << 20) - (0x100 << 12)}
    assert balloon_mod.hmp_info_balloon(q.vm) == "balloon: actual=127\n"


def test_num_pages_is_read_only_for_the_guest(g):
    q, b = g
    b.dev.config_write(0, 1234, 4)
    assert b.num_pages == 0


def test_poison_value_needs_the_feature(g):
    q, b = g
    b.dev.config_write(12, 0xaa, 4)
    assert b.dev.config_read(12, 4) == 0xaa                    # PAGE_POISON negotiated
    q2 = machine()
    try:
        b2 = QVirtioBalloon(QVirtioPCIDevice(QPCIBus(q2).device(SLOT), pc_allocator()),
                            wanted=1 << 1)
        b2.dev.config_write(12, 0xaa, 4)
        assert b2.dev.config_read(12, 4) == 0
    finally:
        q2.close()


def test_config_is_8_bytes_without_page_poison():
    q = machine(props=",page-poison=off")
    try:
        dev = QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator())
        assert not dev.get_features() >> 4 & 1
        assert dev.config_read(8, 4) == 0xffffffff
    finally:
        q.close()


def test_qmp_errors():
    q = InProcessQTest(["-M", "pc"])
    try:
        with pytest.raises(balloon_mod.BalloonError) as e:
            balloon_mod.qmp_query_balloon(q.vm)
        assert (e.value.desc, e.value.cls) == ("No balloon device has been activated",
                                               "DeviceNotActive")
    finally:
        q.close()
    q = machine()
    try:
        with pytest.raises(balloon_mod.BalloonError, match="Parameter 'target' expects a size"):
            balloon_mod.qmp_balloon(q.vm, 0)
    finally:
        q.close()


def test_guest_stats_before_and_after_the_driver_reports(g):
    q, b = g
    stats = q.qmp("qom-get", path="/machine/peripheral/b0", property="guest-stats")
    assert stats["last-update"] == 0 and set(stats["stats"].values()) == {U64}
    b.report_stats({4: 1000, 5: 2000, 99: 7})                  # free, total, unknown tag
    stats = q.qmp("qom-get", path="/machine/peripheral/b0", property="guest-stats")
    assert stats["stats"]["stat-free-memory"] == 1000
    assert stats["stats"]["stat-total-memory"] == 2000
    assert stats["stats"]["stat-swap-in"] == U64
    assert stats["last-update"] > 0


def test_stats_polling_hands_the_buffer_back(g):
    q, b = g
    svq = b.dev.queues[2]
    b.report_stats({4: 1})
    assert svq.get_used() is None                               # the device keeps it
    q.qmp("qom-set", path="/machine/peripheral/b0", property="guest-stats-polling-interval",
          value=2)
    assert q.qmp("qom-get", path="/machine/peripheral/b0",
                 property="guest-stats-polling-interval") == 2
    q.clock_step(1_999_999_999)
    assert svq.get_used() is None
    q.clock_step(1)
    assert svq.get_used() == (0, 0)                             # "send fresh numbers"


@pytest.mark.parametrize("value, msg", [(-1, "timer value must be greater than zero"),
                                        (1 << 33, "timer value is too big")])
def test_polling_interval_errors(g, value, msg):
    q, _ = g
    with pytest.raises(QMPError, match=msg):
        q.qmp("qom-set", path="/machine/peripheral/b0",
              property="guest-stats-polling-interval", value=value)


def test_only_one_balloon():
    from qemu_py.launch import StartupError
    with pytest.raises(StartupError, match="^-device virtio-balloon-pci: Only one balloon device is supported$"):
        machine("-device", "virtio-balloon-pci")


def test_unmodelled_features_are_refused():
    from qemu_py.launch import StartupError
    with pytest.raises(StartupError, match="'free-page-hint' is not modelled"):
        machine(props=",free-page-hint=on")


def test_deflate_on_oom_is_offered_when_asked():
    q = machine(props=",deflate-on-oom=on")
    try:
        dev = QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator())
        assert dev.get_features() >> 2 & 1
    finally:
        q.close()


def test_hot_unplug_and_plug_again(g):
    q, _ = g
    q.qmp("device_del", id="b0")
    assert QPCIBus(q).device(SLOT).vendor_id == 0xffff
    with pytest.raises(balloon_mod.BalloonError):
        balloon_mod.qmp_query_balloon(q.vm)
    q.qmp("device_add", driver="virtio-balloon-pci", id="b1", addr=f"{SLOT:02x}.0")
    assert QPCIBus(q).device(SLOT).device_id == 0x1045
    assert balloon_mod.qmp_query_balloon(q.vm) == {"actual": 128 << 20}


# -- long inflates found by fuzzing ---------------------------------------------------------------

def _inflate_one_buffer(q, b, pfns):
    import array
    import time
    data = array.array("I", pfns).tobytes()
    buf = b.dev.alloc.alloc(len(data))
    q.machine.qtest_as.write(buf, data)               # straight into RAM: the qtest codec is slow
    vq = b.dev.queues[0]
    t = time.monotonic()
    head = vq.add_chain([(buf, len(data), False)])
    vq.publish(head)
    vq.kick()
    used = vq.wait_used()
    vq.num_free += 1
    return used, time.monotonic() - t


def test_inflate_with_one_8_mib_descriptor_of_pfns_is_fast(g):
    q, b = g
    pattern = 0x5A5A5A5A.to_bytes(4, "little") * 1024
    for page in (0x4000000, 0x4001000, 0x7fff000):
        q.memwrite(page, pattern)
    pfns = [0x4000 + (i % 4096) for i in range(1 << 20)] + list(range(1 << 20))  # 8 MiB
    used, took = _inflate_one_buffer(q, b, pfns)
    assert used[1] == 0
    assert took < 20                                   # was over 60 s
    dev = q.machine.balloon
    assert q.memread(0x4000000, 8) == bytes(8) and q.memread(0x7fff000, 8) == bytes(8)
    assert dev.discarded_pages + dev.skipped_pages == len(pfns)


@pytest.mark.parametrize("pfns", [
    [0x4000, 0x4001, 0x4001, 0x4003, 0x4002, 0x4002, 0x4003],          # repeats and order
    [0x9e, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xff, 0x100, 0x101],            # RAM, VGA, ROM, RAM
    [0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffff, 0xfec00, 0xfec01],          # RAM end, holes, MMIO
], ids=["repeats", "low-memory", "top-of-ram"])
def test_inflate_by_runs_matches_the_per_page_path(pfns):
    results = []
    for bulk in (True, False):
        q = machine()
        try:
            b = QVirtioBalloon(QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator()))
            for pfn in pfns:
                if pfn < 0x8000:
                    q.memwrite(pfn << 12, b"\xaa" * 16)
            dev = q.machine.balloon
            if not bulk:
                dev._bulk_ok = lambda inflate: False
            used, _ = _inflate_one_buffer(q, b, pfns)
            pages = [q.memread(pfn << 12, 16) for pfn in pfns if pfn < 0x8000]
            results.append((used[1], dev.discarded_pages, dev.skipped_pages, pages))
        finally:
            q.close()
    assert results[0] == results[1]
