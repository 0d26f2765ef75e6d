"""``info mtree`` and ``info mtree -f`` text (QEMU's mtree_info).

Tree form: address spaces sharing a root are printed together (names
sorted), the root's subtree indented two spaces per level with children
ordered by address (then by descending priority), followed by one
``memory-region:`` block for every region reached through an alias.  Flat
form: one ``FlatView #n`` block per distinct (reduced) root.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
INDENT = "  "


def _last(size: int) -> int:
    """QEMU's MR_SIZE: size - 1, or 0 for an empty region."""
    return (size - 1) & MASK64 if size else 0


def _owner_text(mr) -> str:
    owner = mr.owner
    if owner is None:
        return " orphan"
    name = getattr(owner, "name", None) or str(owner)
    return f" owner:{{dev id={name}}}"


def _print_mr(out: list, mr, level: int, base: int, alias_queue: list,
              owner: bool, disabled: bool) -> None:
    cur_start = (base + mr._addr) & MASK64
    cur_end = (cur_start + _last(mr._size)) & MASK64
    line = "[DETECTED OVERFLOW!] " if cur_start < base or cur_end < cur_start else ""
    nv = "nv-" if mr._nonvolatile else ""
    shown = mr._enabled or disabled
    off = "" if mr._enabled else " [disabled]"
    target = mr._alias
    if target is not None:
        if not any(queued is target for queued in alias_queue):
            alias_queue.append(target)
        if shown:
            start = mr._alias_offset & MASK64
            line += (f"{INDENT * level}{cur_start:016x}-{cur_end:016x} "
                     f"(prio {mr._priority}, {nv}{mr.type_label()}): alias {mr.name} "
                     f"@{target.name} {start:016x}-{(start + _last(mr._size)) & MASK64:016x}"
                     f"{off}")
    elif shown:
        line += (f"{INDENT * level}{cur_start:016x}-{cur_end:016x} "
                 f"(prio {mr._priority}, {nv}{mr.type_label()}): {mr.name}{off}")
    if shown:
        out.append(line + (_owner_text(mr) if owner else ""))
    for sub in sorted(mr._subregions, key=lambda s: (s._addr, -s._priority)):
        _print_mr(out, sub, level + 1, cur_start, alias_queue, owner, disabled)


def flatview_root(mr):
    """memory_region_get_flatview_root: peel whole-target aliases and
    containers with one enabled child covering them (None: nothing enabled)."""
    while mr is not None and mr._enabled:
        if mr._alias is not None:
            if not mr._alias_offset and mr._size >= mr._alias._size:
                mr = mr._alias
                continue
        elif not mr._terminates:
            found = 0
            nxt = None
            for child in mr._subregions:
                if child._enabled:
                    found += 1
                    if found > 1:
                        nxt = None
                        break
                    if not child._addr and mr._size >= child._size:
                        nxt = child
            if found == 0:
                return None
            if nxt is not None:
                mr = nxt
                continue
        return mr
    return None


def _tree(spaces, owner: bool, disabled: bool) -> list:
    groups: dict = {}
    for space in spaces:
        groups.setdefault(id(space.root), (space.root, []))[1].append(space)
    out: list = []
    alias_queue: list = []
    for root, members in groups.values():
        for space in sorted(members, key=lambda s: s.name):
            out.append(f"address-space: {space.name}")
        _print_mr(out, root, 1, 0, alias_queue, owner, disabled)
        out.append("")
    i = 0
    while i < len(alias_queue):  # printing may queue further aliased regions
        mr = alias_queue[i]
        out.append(f"memory-region: {mr.name}")
        _print_mr(out, mr, 1, 0, alias_queue, owner, disabled)
        out.append("")
        i += 1
    return out


def _flat(spaces, owner: bool) -> list:
    groups: dict = {}
    for space in spaces:
        physmr = None if space._destroyed else flatview_root(space.root)
        groups.setdefault(id(physmr), (physmr, []))[1].append(space)
    out: list = []
    for counter, (physmr, members) in enumerate(groups.values()):
        out.append(f"FlatView #{counter}")
        for space in members:
            alias = space.root._alias
            out.append(f' AS "{space.name}", root: {space.root.name}'
                       + (f", alias {alias.name}" if alias is not None else ""))
        out.append(f" Root memory region: {physmr.name if physmr is not None else '(none)'}")
        ranges = members[0].flatview()
        if not ranges:
            out.append(f"{INDENT}No rendered FlatView")
            out.append("")
            continue
        for fr in ranges:
            mr = fr.mr
            label = "rom" if fr.readonly else mr.type_label()
            line = (f"{INDENT}{fr.start:016x}-{(fr.start + _last(fr.size)) & MASK64:016x} "
                    f"(prio {mr._priority}, {'nv-' if fr.nonvolatile else ''}{label}): "
                    f"{mr.name}")
            if fr.offset_in_region:
                line += f" @{fr.offset_in_region:016x}"
            out.append(line + (_owner_text(mr) if owner else ""))
        out.append("")
    return out


def mtree_info(spaces, flat: bool = False, owner: bool = False, disabled: bool = False) -> str:
    """The ``info mtree`` text for ``spaces`` (in the order given)."""
    lines = _flat(spaces, owner) if flat else _tree(spaces, owner, disabled)
    return "\n".join(lines) + "\n"
