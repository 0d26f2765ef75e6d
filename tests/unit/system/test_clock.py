from qemu_py.system.clock import VirtualClock


def make():
    clock = VirtualClock("manual")
    clock.enable()
    return clock


def test_warp_runs_timers_in_order_at_their_deadlines():
    clock = make()
    seen = []
    a = clock.new_timer(lambda: seen.append(("a", clock.now())))
    b = clock.new_timer(lambda: seen.append(("b", clock.now())))
    b.mod(300)
    a.mod(100)
    clock.warp(1000)
    assert seen == [("a", 100), ("b", 300)]
    assert clock.now() == 1000


def test_equal_deadlines_fire_in_arming_order():
    clock = make()
    seen = []
    for name in "xyz":
        clock.new_timer(lambda n=name: seen.append(n)).mod(50)
    clock.warp(50)
    assert seen == ["x", "y", "z"]


def test_periodic_timer_rearms_inside_callback():
    clock = make()
    ticks = []

    def tick():
        ticks.append(clock.now())
        t.mod(clock.now() + 10)

    t = clock.new_timer(tick)
    t.mod(10)
    clock.warp(35)
    assert ticks == [10, 20, 30]


def test_deadline_none_and_disabled_clock():
    clock = make()
    assert clock.deadline() == -1
    t = clock.new_timer(lambda: None)
    t.mod(70)
    assert clock.deadline() == 70
    clock.disable()
    assert clock.deadline() == -1
    clock.warp(100)                 # the counter still moves, no timer runs
    assert clock.now() == 100 and t.pending


def test_deleted_and_rearmed_timers():
    clock = make()
    seen = []
    t = clock.new_timer(lambda: seen.append(clock.now()))
    t.mod(10)
    t.mod(20)
    t.delete()
    clock.warp(30)
    assert seen == []
    t.mod(40)
    clock.warp(50)
    assert seen == [40]
