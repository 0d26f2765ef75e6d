"""Building backends from ``-chardev`` options and legacy short forms."""

from __future__ import annotations

from qemu_py.system.opts import OptsError, parse_bool, parse_opts

from .base import ChardevError
from .mux import MuxChardev
from .simple import FileChardev, NullChardev, PipeChardev, StdioChardev
from .socket import SocketChardev

BACKENDS = ("socket", "stdio", "null", "file", "pipe")

_ALLOWED = {
    "socket": {"id", "path", "host", "port", "fd", "server", "wait", "nodelay", "telnet",
               "abstract", "tight", "reconnect", "mux", "logfile", "logappend", "to", "ipv4",
               "ipv6"},
    "stdio": {"id", "signal", "mux", "logfile", "logappend"},
    "null": {"id", "mux", "logfile", "logappend"},
    "file": {"id", "path", "append", "mux", "logfile", "logappend"},
    "pipe": {"id", "path", "mux", "logfile", "logappend"},
}


_BOOLS = ("server", "wait", "nodelay", "telnet", "signal", "mux", "logappend", "append",
          "tight", "abstract", "ipv4", "ipv6")
_BOOLS_CHECKED = ("server", "wait", "nodelay", "telnet", "signal", "mux", "logappend",
                  "append", "tight", "abstract", "ipv4", "ipv6")
ID_HINT = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter."


def id_wellformed(text: str) -> bool:
    return (text[:1].isascii() and text[:1].isalpha()
            and all(c.isascii() and (c.isalnum() or c in "-._") for c in text))


def parse_chardev_opts(text: str) -> dict[str, str]:
    """``-chardev BACKEND,id=ID,...`` -> options (with key ``backend``)."""
    opts = parse_opts(text, implied_key="backend", bool_keys=_BOOLS)
    if "id" in opts and not id_wellformed(opts["id"]):
        raise ChardevError(f"Parameter 'id' expects an identifier\n{ID_HINT}")
    backend = opts.get("backend")
    if backend not in BACKENDS:
        raise ChardevError(f"'{backend}' is not a valid char driver name")
    if "id" not in opts:
        raise ChardevError("Parameter 'id' is missing")
    for key in opts:
        if key != "backend" and key not in _ALLOWED[backend]:
            raise ChardevError(f"Invalid parameter '{key}'")
    try:
        for key in _BOOLS_CHECKED:
            if key in opts:
                parse_bool(key, opts[key])
    except OptsError as e:
        raise ChardevError(str(e)) from None
    return opts


def _refuse_unmodelled(opts: dict[str, str]):
    """Socket options this backend does not model are refused, never ignored."""
    if parse_bool("telnet", opts.get("telnet", "off")):
        raise ChardevError("telnet=on is not supported by qemu-py (no telnet protocol)")
    if not parse_bool("tight", opts.get("tight", "on")):
        raise ChardevError("tight=off is not supported by qemu-py "
                           "(abstract addresses are always tight)")
    if opts.get("reconnect", "0") != "0":
        raise ChardevError("reconnect is not supported by qemu-py")
    if "to" in opts:
        raise ChardevError("to= (a port range) is not supported by qemu-py")


def parse_legacy(text: str) -> dict[str, str]:
    """Short forms: stdio, null, unix:PATH[,opts], tcp:HOST:PORT[,opts], file:P, pipe:P.

    ``mon:FORM`` is FORM with ``mux=on`` (and, for stdio, ``signal=off``:
    Ctrl-C goes to the guest, as QEMU does for the muxed monitor)."""
    if text.startswith("mon:"):
        opts = parse_legacy(text[len("mon:"):])
        opts["mux"] = "on"
        if opts["backend"] == "stdio":
            opts["signal"] = "off"
        return opts
    if text in ("stdio", "null", "none"):
        return {"backend": "null" if text == "none" else text}
    for prefix in ("unix:", "tcp:", "file:", "pipe:"):
        if text.startswith(prefix):
            rest = text[len(prefix):]
            try:
                if prefix == "unix:":
                    if rest.startswith("path="):
                        opts = parse_opts(rest, bool_keys=("server", "wait"))
                    else:
                        opts = parse_opts(rest, implied_key="path", bool_keys=("server", "wait"))
                    return {"backend": "socket", **opts}
                if prefix == "tcp:":
                    head, _, tail = rest.partition(",")
                    host, _, port = head.rpartition(":")
                    opts = parse_opts(tail, bool_keys=("server", "wait", "nodelay")) if tail else {}
                    return {"backend": "socket", "host": host, "port": port, **opts}
            except OptsError as e:
                raise ChardevError(str(e)) from None
            return {"backend": prefix[:-1], "path": rest}
    raise ChardevError(f"'{text}' is not a valid char driver name")


def create_chardev(loop, id: str, opts: dict[str, str], on_exit=None):
    """The backend OPTS describe; with ``mux=on`` the multiplexer over it
    (``on_exit`` runs for the ``C-a x`` escape command)."""
    try:
        mux = parse_bool("mux", opts.get("mux", "off"))
        log_append = parse_bool("logappend", opts.get("logappend", "off"))
    except OptsError as e:
        raise ChardevError(str(e)) from None
    chr_ = _create_backend(loop, id + "-base" if mux else id, opts)
    if "logfile" in opts:
        try:
            chr_.open_log(opts["logfile"], log_append)
        except ChardevError:
            chr_.close()
            raise
    return MuxChardev(loop, id, chr_, on_exit) if mux else chr_


def _create_backend(loop, id: str, opts: dict[str, str]):
    backend = opts.get("backend")
    try:
        if backend == "null":
            return NullChardev(loop, id)
        if backend == "stdio":
            return StdioChardev(loop, id, signal=parse_bool("signal", opts.get("signal", "on")))
        if backend == "file":
            if "path" not in opts:
                raise ChardevError("chardev: file: no filename given")
            return FileChardev(loop, id, opts["path"], parse_bool("append", opts.get("append", "off")))
        if backend == "pipe":
            if "path" not in opts:
                raise ChardevError("chardev: pipe: no device path given")
            return PipeChardev(loop, id, opts["path"])
        if backend == "socket":
            _refuse_unmodelled(opts)
            server = parse_bool("server", opts.get("server", "off"))
            wait = parse_bool("wait", opts.get("wait", "on"))
            sock_opts = {
                "nodelay": parse_bool("nodelay", opts.get("nodelay", "off")),
                "ipv4": parse_bool("ipv4", opts.get("ipv4", "off")),
                "ipv6": parse_bool("ipv6", opts.get("ipv6", "off")),
                "abstract": parse_bool("abstract", opts.get("abstract", "off")),
            }
            fd = opts.get("fd")
            if fd is not None:
                if not fd[:1].isdigit():
                    raise ChardevError(f"File descriptor named '{fd}' has not been found")
                if not fd.isdigit() or int(fd) > 0x7FFFFFFF:
                    raise ChardevError(f"Invalid file descriptor number '{fd}'")
                return SocketChardev(loop, id, fd=int(fd), server=server, wait=False,
                                     **sock_opts)
            if "path" in opts:
                return SocketChardev(loop, id, path=opts["path"], server=server, wait=wait,
                                     **sock_opts)
            if "port" in opts or "host" in opts:
                return SocketChardev(loop, id, host=opts.get("host") or "localhost",
                                     port=opts.get("port"), server=server, wait=wait,
                                     **sock_opts)
            raise ChardevError("chardev: socket: no host given")
    except OptsError as e:
        raise ChardevError(str(e)) from None
    raise ChardevError(f"'{backend}' is not a valid char driver name")
