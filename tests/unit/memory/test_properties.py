"""Hypothesis properties.

1. For random trees of containers, RAM, I/O, reservations and aliases with
   random priorities, offsets and enabled/readonly flags, and random
   topology changes (alone or batched in transactions), the FlatView equals
   a simple per-byte "who owns this address" computation written here from
   the rules of spec §1.3-1.4, is maximally simplified, and what a listener
   has been told adds up to it.
2. For random MemoryRegionOps parameters, a byte-array-backed device behaves
   like RAM exactly where the access rules (§2.2, §2.4, §3.4) say it must.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.memory import (AddressSpace, Endian, MemoryRegion, MemoryRegionOps,
                            MemTxResult, memory_transaction)

from .recording import RecordingDevice

SPACE = 0x40
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
LIGHT = settings(SETTINGS, max_examples=50)


# ----------------------------------------------------------------- property 1

class TreeModel:
    """What the test itself knows about the tree, kept independently of the
    regions' own bookkeeping."""

    def __init__(self) -> None:
        self.seq = itertools.count()
        self.attrs: dict[int, dict] = {}  # id(region) -> fields
        self.children: dict[int, list] = {}
        self.regions: list[MemoryRegion] = []
        self.detached: list[tuple] = []  # (parent, region) removed by a mutation

    def new(self, mr: MemoryRegion, kind: str, target=None, alias_offset=0):
        self.attrs[id(mr)] = dict(kind=kind, size=mr.size, addr=0, prio=0, seq=0,
                                  enabled=True, readonly=False, target=target,
                                  alias_offset=alias_offset, parent=None)
        self.children[id(mr)] = []
        self.regions.append(mr)
        return mr

    def add(self, parent, offset, child, prio):
        parent.add_subregion_overlap(offset, child, prio)
        a = self.attrs[id(child)]
        a.update(addr=offset, prio=prio, seq=next(self.seq), parent=parent)
        self.children[id(parent)].append(child)

    def remove(self, child):
        a = self.attrs[id(child)]
        parent = a["parent"]
        parent.del_subregion(child)
        self.children[id(parent)].remove(child)
        a["parent"] = None
        self.detached.append((parent, child))

    def owner(self, mr, base, x, readonly):
        """Who answers for byte ``x``: (region, offset, readonly) or None."""
        a = self.attrs[id(mr)]
        if not a["enabled"]:
            return None
        base += a["addr"]
        readonly = readonly or a["readonly"]
        if not base <= x < base + a["size"]:
            return None
        if a["target"] is not None:
            target = a["target"]
            # target offset 0 sits at alias_base - alias_offset
            return self.owner(target, base - a["alias_offset"] - self.attrs[id(target)]["addr"],
                              x, readonly)
        order = sorted(self.children[id(mr)],
                       key=lambda c: (-self.attrs[id(c)]["prio"], -self.attrs[id(c)]["seq"]))
        for child in order:
            hit = self.owner(child, base, x, readonly)
            if hit is not None:
                return hit
        if a["kind"] in ("ram", "io", "reservation"):
            return (mr, x - base, readonly)
        return None


def per_byte(space) -> dict:
    out = {}
    for fr in space.flatview():
        for x in range(fr.start, min(fr.end, SPACE)):
            out[x] = (fr.mr, fr.offset_in_region + x - fr.start, fr.readonly)
    return out


def expected(model, root) -> dict:
    out = {}
    for x in range(SPACE):
        hit = model.owner(root, 0, x, False)
        if hit is not None:
            out[x] = hit
    return out


def assert_maximal(space):
    ranges = space.flatview()
    for a, b in zip(ranges, ranges[1:]):
        assert a.end <= b.start
        assert not (a.end == b.start and a.mr is b.mr
                    and a.offset_in_region + a.size == b.offset_in_region
                    and a.readonly == b.readonly and a.nonvolatile == b.nonvolatile
                    and a.romd_mode == b.romd_mode), (a, b)


class ViewTracker:
    """A listener that rebuilds the view from what it is told."""

    def __init__(self) -> None:
        self.view: dict[int, tuple] = {}

    def region_add(self, section):
        assert section.offset_within_address_space not in self.view
        self.view[section.offset_within_address_space] = (
            section.size, section.mr, section.offset_within_region, section.readonly)

    def region_del(self, section):
        assert self.view.pop(section.offset_within_address_space) == (
            section.size, section.mr, section.offset_within_region, section.readonly)


def draw_region(draw, model, name, depth, targets):
    kinds = ["container", "ram", "io", "reservation"] + (["alias"] if targets else [])
    kind = draw(st.sampled_from(kinds))
    size = draw(st.integers(1 if kind == "ram" else 0, 0x30))
    if kind == "alias":
        target = draw(st.sampled_from(targets))
        offset = draw(st.integers(0, 0x20))
        return model.new(MemoryRegion.alias(name, target, offset, size), kind, target, offset)
    mr = {"container": lambda: MemoryRegion(name, size),
          "ram": lambda: MemoryRegion.ram(name, size),
          "io": lambda: MemoryRegion.io(name, size, MemoryRegionOps()),
          "reservation": lambda: MemoryRegion.reservation(name, size)}[kind]()
    model.new(mr, kind)
    if depth > 0:
        for i in range(draw(st.integers(0, 3))):
            child = draw_region(draw, model, f"{name}.{i}", depth - 1, targets)
            model.add(mr, draw(st.integers(0, 0x30)), child, draw(st.integers(-2, 2)))
    return mr


def draw_flags(draw, model, regions):
    for mr in regions:
        if draw(st.integers(0, 4)) == 0:
            mr.set_enabled(False)
            model.attrs[id(mr)]["enabled"] = False
        if draw(st.integers(0, 4)) == 0:
            mr.set_readonly(True)
            model.attrs[id(mr)]["readonly"] = True


@st.composite
def trees(draw):
    model = TreeModel()
    # alias targets: plain subtrees, then aliases of those (alias of alias)
    targets = [draw_region(draw, model, f"t{i}", 1, []) for i in range(draw(st.integers(0, 2)))]
    if targets and draw(st.booleans()):
        t = draw(st.sampled_from(targets))
        offset = draw(st.integers(0, 0x10))
        targets.append(model.new(MemoryRegion.alias("t-alias", t, offset, draw(
            st.integers(0, 0x30))), "alias", t, offset))
    root = model.new(MemoryRegion("root", SPACE), "container")
    for i in range(draw(st.integers(0, 4))):
        child = draw_region(draw, model, f"r{i}", 2, targets)
        model.add(root, draw(st.integers(0, 0x38)), child, draw(st.integers(-2, 2)))
    # some alias targets are also mapped themselves
    for t in targets:
        if draw(st.integers(0, 2)) == 0:
            model.add(root, draw(st.integers(0, 0x38)), t, draw(st.integers(-2, 2)))
    draw_flags(draw, model, model.regions)
    return model, root


def mutate(draw, model, root):
    """One random topology change, applied to the tree and to the model."""
    movable = [mr for mr in model.regions if model.attrs[id(mr)]["parent"] is not None]
    aliases = [mr for mr in model.regions if model.attrs[id(mr)]["target"] is not None]
    sizable = [mr for mr in model.regions
               if model.attrs[id(mr)]["kind"] in ("container", "io", "alias") and mr is not root]
    choices = ["enable", "readonly"] + (["move", "remove"] if movable else []) \
        + (["readd"] if model.detached else []) + (["alias_offset"] if aliases else []) \
        + (["size"] if sizable else [])
    op = draw(st.sampled_from(choices))
    if op == "enable":
        mr = draw(st.sampled_from(model.regions))
        flag = draw(st.booleans())
        mr.set_enabled(flag)
        model.attrs[id(mr)]["enabled"] = flag
    elif op == "readonly":
        mr = draw(st.sampled_from(model.regions))
        flag = draw(st.booleans())
        mr.set_readonly(flag)
        model.attrs[id(mr)]["readonly"] = flag
    elif op == "move":
        mr = draw(st.sampled_from(movable))
        offset = draw(st.integers(0, 0x38))
        a = model.attrs[id(mr)]
        if offset != a["addr"]:
            mr.set_address(offset)
            a.update(addr=offset, seq=next(model.seq))  # re-added: front of its band
    elif op == "remove":
        model.remove(draw(st.sampled_from(movable)))
    elif op == "readd":
        parent, child = model.detached.pop(draw(st.integers(0, len(model.detached) - 1)))
        model.add(parent, draw(st.integers(0, 0x38)), child, draw(st.integers(-2, 2)))
    elif op == "alias_offset":
        mr = draw(st.sampled_from(aliases))
        offset = draw(st.integers(0, 0x20))
        mr.set_alias_offset(offset)
        model.attrs[id(mr)]["alias_offset"] = offset
    elif op == "size":
        mr = draw(st.sampled_from(sizable))
        size = draw(st.integers(0, 0x30))
        mr.set_size(size)
        model.attrs[id(mr)]["size"] = size


def check(model, root, space, tracker):
    assert per_byte(space) == expected(model, root)
    assert_maximal(space)
    assert tracker.view == {fr.start: (fr.size, fr.mr, fr.offset_in_region, fr.readonly)
                            for fr in space.flatview()}


@SETTINGS
@given(tree=trees(), data=st.data())
def test_flatview_matches_per_byte_owners_through_changes(tree, data):
    model, root = tree
    space = AddressSpace(root, "as")
    tracker = ViewTracker()
    space.add_listener(tracker)
    check(model, root, space, tracker)
    for _ in range(data.draw(st.integers(0, 6))):
        if data.draw(st.booleans()):
            with memory_transaction():
                for _ in range(data.draw(st.integers(1, 3))):
                    mutate(data.draw, model, root)
        else:
            mutate(data.draw, model, root)
        check(model, root, space, tracker)


@LIGHT
@given(tree=trees(), data=st.data())
def test_lazily_rendered_view_matches_too(tree, data):
    """A space without listeners renders on demand; same answers."""
    model, root = tree
    space = AddressSpace(root, "lazy")
    for _ in range(data.draw(st.integers(0, 4))):
        mutate(data.draw, model, root)
        if data.draw(st.booleans()):
            assert per_byte(space) == expected(model, root)
    assert per_byte(space) == expected(model, root)
    assert_maximal(space)


# ----------------------------------------------------------------- property 2

BASE = 0x100
DEV_SIZE = 0x40


def predicted_pieces(offset, length, valid_max, impl_unaligned):
    """physmem's pieces, restated: the largest power of two that fits the
    remaining length and the size limit, halved until aligned unless the
    implementation takes unaligned accesses."""
    limit = valid_max or 4
    pieces = []
    while length:
        size = 1
        while size * 2 <= min(length, limit):
            size *= 2
        while not impl_unaligned and offset % size:
            size //= 2
        pieces.append((offset, size))
        offset += size
        length -= size
    return pieces


def piece_valid(offset, size, p):
    if not p["valid_unaligned"] and offset % size:
        return False
    return p["valid_max"] == 0 or p["valid_min"] <= size <= p["valid_max"]


def widens(size, p):
    implemented = max(min(size, p["impl_max"] or 4), p["impl_min"] or 1)
    return implemented > size


sizes = st.sampled_from([1, 2, 4, 8])
ops_params = st.fixed_dictionaries({
    "valid_min": sizes,
    "valid_max": st.sampled_from([0, 1, 2, 4, 8]),
    "valid_unaligned": st.booleans(),
    "impl_min": st.sampled_from([0, 1, 2, 4, 8]),
    "impl_max": st.sampled_from([0, 1, 2, 4, 8]),
    "impl_unaligned": st.booleans(),
    "endianness": st.sampled_from(list(Endian)),
})
accesses = st.lists(st.tuples(st.booleans(), st.integers(0, 0x30), st.binary(min_size=1,
                                                                           max_size=12)),
                    max_size=12)


def device_space(p, big_endian):
    root = MemoryRegion("root", 0x1000)
    space = AddressSpace(root, "as", big_endian=big_endian)
    big = p["endianness"] is Endian.BIG or (p["endianness"] is Endian.NATIVE and big_endian)
    dev = RecordingDevice(DEV_SIZE, "bytes", big=big, **p)
    root.add_subregion(BASE, dev.region)
    return space, dev


@SETTINGS
@given(p=ops_params, big_endian=st.booleans(), ops=accesses)
def test_byte_array_device_is_ram_like_where_the_rules_say(p, big_endian, ops):
    space, dev = device_space(p, big_endian)
    ram = bytearray(DEV_SIZE)
    for is_write, offset, data in ops:
        pieces = predicted_pieces(offset, len(data), p["valid_max"], p["impl_unaligned"])
        valid = [piece_valid(o, s, p) for o, s in pieces]
        if is_write:
            result = space.write(BASE + offset, data)
            assert bool(result & MemTxResult.DECODE_ERROR) == (not all(valid))
            if all(valid) and not any(widens(s, p) for _, s in pieces):
                ram[offset:offset + len(data)] = data
                assert dev.mem == ram
            ram[:] = dev.mem  # diverged legitimately (widened or dropped pieces)
        else:
            got, result = space.read(BASE + offset, len(data))
            assert bool(result & MemTxResult.DECODE_ERROR) == (not all(valid))
            for (o, s), ok in zip(pieces, valid):
                want = ram[o:o + s] if ok else bytes(s)
                assert got[o - offset:o - offset + s] == want


@LIGHT
@given(endianness=st.sampled_from(list(Endian)), big_endian=st.booleans(), ops=accesses)
def test_valid_and_impl_unaligned_up_to_8_is_exactly_ram(endianness, big_endian, ops):
    p = dict(valid_min=1, valid_max=8, valid_unaligned=True, impl_min=1, impl_max=8,
             impl_unaligned=True, endianness=endianness)
    space, dev = device_space(p, big_endian)
    ram = bytearray(DEV_SIZE)
    for is_write, offset, data in ops:
        if is_write:
            assert space.write(BASE + offset, data) == MemTxResult.OK
            ram[offset:offset + len(data)] = data
        else:
            assert space.read(BASE + offset, len(data)) == (
                bytes(ram[offset:offset + len(data)]), MemTxResult.OK)
    assert dev.mem == ram


def test_memaccess_testdev_overlapping_word_writes():
    """memaccess-test: LE writew of 0x1100, 0x3322, ... at +0, +1, ... then
    readw expects 0x2200, 0x4422, ... (RAM byte semantics)."""
    p = dict(valid_min=1, valid_max=8, valid_unaligned=True, impl_min=1, impl_max=8,
             impl_unaligned=True, endianness=Endian.LITTLE)
    space, _ = device_space(p, False)
    for i in range(8):
        space.write_value(BASE + i, ((2 * i + 1) * 0x11 << 8) | (2 * i * 0x11), 2)
    got = [space.read_value(BASE + i, 2)[0] for i in range(7)]
    assert got == [((2 * i + 2) * 0x11 << 8) | (2 * i * 0x11) for i in range(7)]
