"""QEMU option strings: ``driver,key=value,key2=value2`` (QemuOpts syntax).

A comma inside a value is written as ``,,``. The first element may omit its
key (the *implied* key, e.g. the backend of ``-chardev`` or the driver of
``-device``). A bare ``flag`` means ``flag=on`` and ``noflag`` means
``flag=off`` for the keys a caller lists as booleans (QEMU's old forms).
"""

from __future__ import annotations


class OptsError(ValueError):
    pass


def split_opts(text: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == ",":
            if text[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def parse_opts(text: str, implied_key: str | None = None,
               bool_keys: tuple[str, ...] = ()) -> dict[str, str]:
    """Parse an option string into an ordered dict of key -> string value."""
    out: dict[str, str] = {}
    for idx, part in enumerate(split_opts(text)):
        if "=" in part:
            key, val = part.split("=", 1)
        elif idx == 0 and implied_key is not None:
            key, val = implied_key, part
        elif part in bool_keys:
            key, val = part, "on"
        elif part.startswith("no") and part[2:] in bool_keys:
            key, val = part[2:], "off"
        elif part == "" and idx > 0:
            continue
        else:
            raise OptsError(f"Invalid parameter '{part}'")
        if key == "":
            raise OptsError(f"Invalid parameter '{part}'")
        out[key] = val
    return out


def parse_bool(key: str, text: str) -> bool:
    if text in ("on", "yes", "true", "y"):
        return True
    if text in ("off", "no", "false", "n"):
        return False
    raise OptsError(f"Parameter '{key}' expects 'on' or 'off'")
