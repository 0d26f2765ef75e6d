"""§5.2: the four RAM-discard counters, their refusals and predicates.

The reference below is the spec's table written as data; hypothesis checks
random call sequences against it, and the named cases are vector 10's.
"""

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qemu_py.system.discard import RamDiscardPolicy

EBUSY = -errno.EBUSY

# call -> (counters that make state=True fail, counter it increments)
TABLE = {
    "discard_disable": (("required", "coordinated_required"), "disabled"),
    "uncoordinated_discard_disable": (("required",), "uncoordinated_disabled"),
    "discard_require": (("disabled", "uncoordinated_disabled"), "required"),
    "coordinated_discard_require": (("disabled",), "coordinated_required"),
}


class Reference:
    def __init__(self):
        self.c = dict.fromkeys(("required", "coordinated_required", "disabled",
                                "uncoordinated_disabled"), 0)

    def call(self, name, state):
        blockers, counter = TABLE[name]
        if not state:
            self.c[counter] -= 1
            return 0
        if any(self.c[b] for b in blockers):
            return EBUSY
        self.c[counter] += 1
        return 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(TABLE)), st.booleans()), max_size=30))
def test_random_sequences_follow_the_table(calls):
    policy, ref = RamDiscardPolicy(), Reference()
    for name, state in calls:
        if not state and ref.c[TABLE[name][1]] == 0:
            continue                       # a decrement without increment is a caller bug
        assert getattr(policy, name)(state) == ref.call(name, state)
        assert {k: getattr(policy, k) for k in ref.c} == ref.c
        assert policy.is_disabled() == bool(ref.c["disabled"] or ref.c["uncoordinated_disabled"])
        assert policy.is_required() == bool(ref.c["required"] or ref.c["coordinated_required"])


def test_type1_vfio_and_virtio_mem_coexist():
    p = RamDiscardPolicy()
    assert p.uncoordinated_discard_disable(True) == 0     # vfio type1 group
    assert p.coordinated_discard_require(True) == 0       # virtio-mem realizes
    assert p.is_disabled() and p.is_required()


def test_spapr_vfio_and_virtio_mem_exclude_each_other():
    p = RamDiscardPolicy()
    assert p.discard_disable(True) == 0                   # vfio sPAPR group
    assert p.coordinated_discard_require(True) == EBUSY   # "Discarding RAM is disabled"
    q = RamDiscardPolicy()
    assert q.coordinated_discard_require(True) == 0       # virtio-mem first
    assert q.discard_disable(True) == EBUSY               # then sPAPR VFIO fails


def test_state_false_only_decrements():
    p = RamDiscardPolicy()
    p.discard_require(True)
    assert p.discard_disable(True) == EBUSY
    assert p.discard_require(False) == 0
    assert p.discard_disable(True) == 0 and p.disabled == 1


def test_decrement_below_zero_is_a_bug():
    with pytest.raises(AssertionError, match="would go negative"):
        RamDiscardPolicy().uncoordinated_discard_disable(False)
