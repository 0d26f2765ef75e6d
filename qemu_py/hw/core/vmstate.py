"""Device state declared once: the fields that make up a device's state, with a version.

A device class names its state as a :class:`VMState`: a name, a version, the
attribute names of its plain-data fields (ints, bytes, lists, deques, dicts of
those), :class:`Sub` entries for lists of sub-objects with their own
``VMState`` (the PIT's channels), ``timers`` (attributes holding timers whose
expiry time is part of the state) and the name of a ``post_load`` method that
checks the loaded values and returns an error text or None.

:func:`save` returns a self-contained dict (plain data, no references to the
device); :func:`load` refuses a record of another name, version or field set
and a record that fails the post-load check, leaving the device as it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass


class VMStateError(Exception):
    """A snapshot record that does not fit the device (the text says why)."""


@dataclass(frozen=True)
class Sub:
    name: str                     # attribute holding an object or a list of objects
    vmstate: "VMState"


def _objs(obj, sub: Sub) -> list:
    v = getattr(obj, sub.name)
    return list(v) if isinstance(v, (list, tuple)) else [v]


@dataclass(frozen=True)
class VMState:
    name: str
    version: int
    fields: tuple = ()            # attribute names and Sub entries
    timers: tuple[str, ...] = ()  # attributes holding Timer objects
    post_load: str | None = None  # method () -> error text or None


def save(obj, vms: VMState) -> dict:
    rec = {"name": vms.name, "version": vms.version, "fields": {}, "timers": {}}
    for f in vms.fields:
        if isinstance(f, Sub):
            rec["fields"][f.name] = [save(o, f.vmstate) for o in _objs(obj, f)]
        else:
            rec["fields"][f] = copy.deepcopy(getattr(obj, f))
    for t in vms.timers:
        timer = getattr(obj, t)
        rec["timers"][t] = -1 if timer is None else timer.expire
    return rec


def _check(obj, vms: VMState, rec) -> None:
    if not isinstance(rec, dict) or rec.get("name") != vms.name:
        got = rec.get("name") if isinstance(rec, dict) else type(rec).__name__
        raise VMStateError(f"snapshot record {got!r} does not match device state {vms.name!r}")
    if rec.get("version") != vms.version:
        raise VMStateError(f"{vms.name}: snapshot version {rec.get('version')!r}, "
                           f"this build has version {vms.version}")
    fields = rec.get("fields")
    names = {f.name if isinstance(f, Sub) else f for f in vms.fields}
    if not isinstance(fields, dict) or set(fields) != names:
        raise VMStateError(f"{vms.name}: snapshot fields do not match the declared ones")
    if set(rec.get("timers", {})) != set(vms.timers):
        raise VMStateError(f"{vms.name}: snapshot timers do not match the declared ones")
    for f in vms.fields:
        if isinstance(f, Sub):
            items = fields[f.name]
            current = _objs(obj, f)
            if not isinstance(items, list) or len(items) != len(current):
                raise VMStateError(f"{vms.name}: {f.name} has the wrong number of entries")
            for o, r in zip(current, items):
                _check(o, f.vmstate, r)
        elif type(fields[f]) is not type(getattr(obj, f)):
            raise VMStateError(f"{vms.name}: field {f} is a {type(fields[f]).__name__}, "
                               f"not a {type(getattr(obj, f)).__name__}")


def _apply(obj, vms: VMState, rec) -> None:
    for f in vms.fields:
        if isinstance(f, Sub):
            for o, r in zip(_objs(obj, f), rec["fields"][f.name]):
                _apply(o, f.vmstate, r)
        else:
            setattr(obj, f, copy.deepcopy(rec["fields"][f]))
    for t in vms.timers:
        timer = getattr(obj, t)
        if timer is None:
            continue
        expire = rec["timers"][t]
        if expire >= 0:
            timer.mod(expire)
        else:
            timer.delete()


def _post_load(obj, vms: VMState) -> str | None:
    for f in vms.fields:
        if isinstance(f, Sub):
            for o in _objs(obj, f):
                err = _post_load(o, f.vmstate)
                if err:
                    return err
    if vms.post_load is not None:
        return getattr(obj, vms.post_load)()
    return None


def load(obj, vms: VMState, rec) -> None:
    """Load REC into OBJ, or raise VMStateError with OBJ unchanged."""
    _check(obj, vms, rec)
    before = save(obj, vms)
    _apply(obj, vms, rec)
    err = _post_load(obj, vms)
    if err:
        _apply(obj, vms, before)
        raise VMStateError(f"{vms.name}: {err}")


def save_device(dev) -> dict:
    return save(dev, type(dev).VMSTATE)


def load_device(dev, rec) -> None:
    load(dev, type(dev).VMSTATE, rec)
