"""MemoryListener notifications and transactions (§1.3 transactions, §1.5)."""

import pytest

from qemu_py.memory import AddressSpace, MemoryRegion, memory_transaction

from .recording import RecordingListener


@pytest.fixture
def setup():
    root = MemoryRegion("root", 0x10000)
    ram = MemoryRegion.ram("ram", 0x1000)
    root.add_subregion(0, ram)
    return root, ram, AddressSpace(root, "as")


def test_registration_replays_the_current_view(setup):
    root, ram, space = setup
    root.add_subregion(0x2000, MemoryRegion.ram("ram2", 0x1000))
    listener = RecordingListener()
    space.add_listener(listener)
    assert listener.log == [("begin", "L"), ("add", "L", (0, 0x1000, "ram", 0)),
                            ("add", "L", (0x2000, 0x1000, "ram2", 0)), ("commit", "L")]


def test_unregistration_replays_region_del(setup):
    _, _, space = setup
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    space.remove_listener(listener)
    assert listener.log == [("begin", "L"), ("del", "L", (0, 0x1000, "ram", 0)),
                            ("commit", "L")]
    with pytest.raises(ValueError, match="is not registered on 'as'"):
        space.remove_listener(listener)


def test_order_del_reverse_add_forward_begin_commit_forward(setup):
    root, ram, space = setup
    log = []
    late = RecordingListener("late", priority=10, log=log)
    early = RecordingListener("early", priority=-5, log=log)
    space.add_listener(late)
    space.add_listener(early)
    log.clear()
    root.del_subregion(ram)
    root.add_subregion(0x4000, MemoryRegion.ram("new", 0x100))
    assert log == [
        ("begin", "early"), ("begin", "late"),
        ("del", "late", (0, 0x1000, "ram", 0)), ("del", "early", (0, 0x1000, "ram", 0)),
        ("commit", "early"), ("commit", "late"),
        ("begin", "early"), ("begin", "late"),
        ("add", "early", (0x4000, 0x100, "new", 0)), ("add", "late", (0x4000, 0x100, "new", 0)),
        ("commit", "early"), ("commit", "late")]


def test_equal_priorities_keep_registration_order(setup):
    root, _, space = setup
    log = []
    for tag in "abc":
        space.add_listener(RecordingListener(tag, log=log))
    log.clear()
    root.add_subregion(0x8000, MemoryRegion.ram("x", 0x10))
    assert [entry[1] for entry in log if entry[0] == "begin"] == ["a", "b", "c"]
    assert [entry[1] for entry in log if entry[0] == "add"] == ["a", "b", "c"]


def test_unchanged_ranges_get_nop_and_changed_ones_del_then_add(setup):
    root, ram, space = setup
    io = MemoryRegion("box", 0x100)
    root.add_subregion(0x2000, MemoryRegion.ram("other", 0x10))
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    # same start, different region: counts as changed
    root.add_subregion_overlap(0, MemoryRegion.ram("over", 0x1000), 1)
    assert listener.log == [
        ("begin", "L"), ("del", "L", (0, 0x1000, "ram", 0)),
        ("add", "L", (0, 0x1000, "over", 0)), ("nop", "L", (0x2000, 0x10, "other", 0)),
        ("commit", "L")]
    listener.log.clear()
    ram.set_readonly(True)  # hidden region: still one nop-only update
    assert [entry[0] for entry in listener.log] == ["begin", "nop", "nop", "commit"]
    del io


def test_transactions_batch_and_nest(setup):
    root, ram, space = setup
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    with memory_transaction():
        root.add_subregion(0x2000, MemoryRegion.ram("a", 0x10))
        with memory_transaction():
            root.add_subregion(0x3000, MemoryRegion.ram("b", 0x10))
        assert listener.log == []
        ram.set_enabled(False)
    assert listener.log == [
        ("begin", "L"), ("del", "L", (0, 0x1000, "ram", 0)),
        ("add", "L", (0x2000, 0x10, "a", 0)), ("add", "L", (0x3000, 0x10, "b", 0)),
        ("commit", "L")]


def test_changes_that_cannot_show_do_not_notify(setup):
    root, ram, space = setup
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    ram.set_enabled(True)  # no change
    ram.set_address(0)  # no change
    box = MemoryRegion("box", 0x100)
    box.set_enabled(False)
    root.add_subregion(0x5000, box)  # disabled: nothing pending
    box.add_subregion(0, MemoryRegion.ram("inner", 0x10))  # box has no AS yet...
    assert listener.log == []
    unrelated = MemoryRegion("elsewhere", 0x100)
    unrelated.add_subregion(0, MemoryRegion.ram("x", 0x10))
    assert listener.log == []


def test_changes_inside_a_transaction_are_invisible_until_commit(setup):
    root, ram, space = setup
    space.write_value(0x10, 0x1234, 2)
    with memory_transaction():
        root.del_subregion(ram)
        assert space.read_value(0x10, 2)[0] == 0x1234
        assert [fr.mr.name for fr in space.flatview()] == ["ram"]
    assert space.flatview() == []


def test_alias_targets_propagate_changes_to_the_spaces_that_see_them():
    target = MemoryRegion("pci", 0x1000)
    root = MemoryRegion("system", 0x10000)
    root.add_subregion(0x8000, MemoryRegion.alias("pci-hole", target, 0, 0x1000))
    space = AddressSpace(root, "memory")
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    target.add_subregion(0x10, MemoryRegion.ram("bar", 0x10))
    assert ("add", "L", (0x8010, 0x10, "bar", 0)) in listener.log


def test_other_spaces_are_not_disturbed():
    a_root, b_root = MemoryRegion("a", 0x100), MemoryRegion("b", 0x100)
    a, b = AddressSpace(a_root, "A"), AddressSpace(b_root, "B")
    la, lb = RecordingListener("a"), RecordingListener("b")
    a.add_listener(la)
    b.add_listener(lb)
    la.log.clear()
    lb.log.clear()
    a_root.add_subregion(0, MemoryRegion.ram("r", 0x10))
    assert [e[0] for e in la.log] == ["begin", "add", "commit"]
    assert lb.log == []


def test_one_commit_updates_several_spaces_with_one_begin_and_commit():
    shared = MemoryRegion("shared", 0x100)
    root1, root2 = MemoryRegion("r1", 0x1000), MemoryRegion("r2", 0x1000)
    root1.add_subregion(0, MemoryRegion.alias("s1", shared, 0, 0x100))
    root2.add_subregion(0x100, MemoryRegion.alias("s2", shared, 0, 0x100))
    s1, s2 = AddressSpace(root1, "one"), AddressSpace(root2, "two")
    log = []
    s1.add_listener(RecordingListener("x", log=log))
    s2.add_listener(RecordingListener("y", log=log))
    log.clear()
    shared.add_subregion(0, MemoryRegion.ram("m", 0x10))
    assert log == [("begin", "x"), ("begin", "y"), ("add", "x", (0, 0x10, "m", 0)),
                   ("add", "y", (0x100, 0x10, "m", 0)), ("commit", "x"), ("commit", "y")]


def test_listener_without_methods_and_double_registration(setup):
    _, _, space = setup

    class Bare:
        pass

    bare = Bare()
    space.add_listener(bare)
    with pytest.raises(ValueError, match="already registered"):
        space.add_listener(bare)
    space.remove_listener(bare)


def test_destroy_deletes_every_range_for_listeners(setup):
    root, _, space = setup
    listener = RecordingListener()
    space.add_listener(listener)
    listener.log.clear()
    space.destroy()
    assert listener.log == [("begin", "L"), ("del", "L", (0, 0x1000, "ram", 0)),
                            ("commit", "L")]
    assert space.flatview() == []
    root.add_subregion(0x100, MemoryRegion.ram("later", 0x10))
    assert space.flatview() == []


def test_listener_exceptions_propagate_and_the_view_is_still_installed(setup):
    root, _, space = setup

    class Broken:
        def region_add(self, section):
            raise RuntimeError("listener failed")

    space.add_listener(RecordingListener())
    space._listeners[0].listener.region_add = Broken().region_add
    with pytest.raises(RuntimeError, match="listener failed"):
        root.add_subregion(0x4000, MemoryRegion.ram("x", 0x10))
    assert [fr.mr.name for fr in space.flatview()] == ["ram", "x"]


def test_adding_hundreds_of_regions_is_fast():
    import time
    root = MemoryRegion("system", 1 << 64)
    space = AddressSpace(root, "memory")
    space.add_listener(RecordingListener())
    pci = MemoryRegion("pci", 1 << 32)
    root.add_subregion_overlap(0, pci, -1)
    start = time.perf_counter()
    for i in range(400):
        parent = pci if i % 2 else root
        parent.add_subregion(0x100000 + i * 0x1000, MemoryRegion.ram(f"r{i}", 0x800))
    elapsed = time.perf_counter() - start
    assert len(space.flatview()) == 400
    assert elapsed < 2.0, f"400 adds with a listener took {elapsed:.2f} s"
