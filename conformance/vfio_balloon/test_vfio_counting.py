"""§5.3: VFIO's legacy container counts discard disables per group."""

import pytest

from qemu_py.launch import StartupError
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.system.discard import RamDiscardPolicy

from .rig import args_for


def machine(*args):
    return InProcessQTest(list(args))


def counters(q):
    return q.qmp("qom-get", path="/machine", property="x-ram-discard")


def sims(*specs):
    """-object/-device pairs: spec = (group, iommu, mdev, balloon_allowed)."""
    out = []
    for i, (group, iommu, mdev, allowed) in enumerate(specs):
        out += ["-object", f"vfio-host-sim,id=h{i},model=rtl8168,host=0000:0{i + 1}:00.0,"
                           f"group={group},iommu={iommu},mdev={'on' if mdev else 'off'}",
                "-device", f"vfio-pci,host-sim=h{i},id=n{i},addr={4 + i:02x}.0"
                           f"{',x-balloon-allowed=on' if allowed else ''}"]
    return out


@pytest.mark.parametrize("specs, uncoordinated, disabled, containers", [
    ([(1, "type1", False, False)], 1, 0, 1),
    ([(1, "type1", False, False), (1, "type1", False, False)], 1, 0, 1),   # one group
    ([(1, "type1", False, False), (2, "type1", False, False)], 2, 0, 1),   # two groups
    ([(1, "spapr", False, False)], 0, 1, 1),
    ([(1, "type1", False, False), (2, "spapr", False, False)], 1, 1, 2),
    ([(1, "type1", True, True)], 0, 0, 1),                                # mdev opt-in
    ([(1, "type1", True, True), (2, "type1", False, False)], 1, 0, 1),
])
def test_counting(specs, uncoordinated, disabled, containers):
    q = machine("-M", "pc", *sims(*specs))
    try:
        state = counters(q)
        assert (state["uncoordinated-disabled"], state["disabled"]) == (uncoordinated, disabled)
        assert len(q.machine.vfio_state.containers) == containers
    finally:
        q.close()


def test_balloon_allowed_needs_an_mdev():
    with pytest.raises(StartupError, match=r"^-device vfio-pci[^:]*: vfio 0000:01:00\.0: x-balloon-allowed only "
                                           r"potentially compatible with mdev devices$"):
        machine("-M", "pc", *sims((1, "type1", False, True)))


def test_inconsistent_setting_within_a_group():
    with pytest.raises(StartupError, match=r"^-device vfio-pci[^:]*: vfio 0000:02:00\.0: Inconsistent setting of "
                                           r"support for discarding RAM \(e\.g\., balloon\) "
                                           r"within group$"):
        machine("-M", "pc", *sims((1, "type1", True, True), (1, "type1", True, False)))


def test_a_refused_disable_fails_realize_and_leaves_no_count():
    """A coordinated requirer (virtio-mem) blocks a full (sPAPR) disabler."""
    from qemu_py.cli import parse_args
    from qemu_py.launch import Emulator
    from qemu_py.system.discard import policy_for
    emu = Emulator(parse_args(["-M", "pc", "-accel", "qtest", "-S", "--preconfig",
                               *sims((1, "spapr", False, False))]))
    emu.build()
    try:
        machine_obj = emu.vm.machine
        policy_for(machine_obj).coordinated_discard_require(True)
        with pytest.raises(StartupError, match=r"^-device vfio-pci[^:]*: vfio 0000:01:00\.0: failed to setup container "
                                               r"for group 1: Cannot set discarding of RAM "
                                               r"broken: Device or resource busy$"):
            emu.vm.exit_preconfig()
        assert machine_obj.ram_discard_policy.disabled == 0
        assert machine_obj.vfio_state.containers == []
    finally:
        emu.loop.close()


def test_hot_unplug_gives_the_counts_back():
    q = machine("-M", "pc", *sims((1, "type1", False, False), (1, "type1", False, False),
                                  (2, "type1", False, False)))
    try:
        assert counters(q)["uncoordinated-disabled"] == 2
        q.qmp("device_del", id="n0")                      # group 1 keeps a device
        assert counters(q)["uncoordinated-disabled"] == 2
        q.qmp("device_del", id="n1")                      # group 1 is gone
        assert counters(q)["uncoordinated-disabled"] == 1
        container = q.machine.vfio_state.containers[0]
        assert container.mappings()                        # group 2 still maps RAM
        q.qmp("device_del", id="n2")
        assert counters(q) == RamDiscardPolicy().state()
        assert q.machine.vfio_state.containers == [] and container.mappings() == []
    finally:
        q.close()


def test_hot_plug_counts_again():
    q = machine(*args_for(vfio=0))
    try:
        assert counters(q)["uncoordinated-disabled"] == 0
        from qemu_py.system.objects import create_object
        create_object(q.vm, {"qom-type": "vfio-host-sim", "id": "hsx", "model": "rtl8168"})
        q.qmp("device_add", driver="vfio-pci", id="late", **{"host-sim": "hsx"})
        assert counters(q)["uncoordinated-disabled"] == 1
    finally:
        q.close()
