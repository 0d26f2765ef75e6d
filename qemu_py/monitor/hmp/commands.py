"""The HMP command table and the command-line dispatcher (monitor/hmp.c).

Each entry is QEMU's: names (``stop|s`` = two spellings), ``args_type``,
the ``params`` and ``help`` text that ``help`` prints, and flags (``p``:
usable before the machine is built, i.e. with --preconfig). ``info`` has a
sub-table. Texts of the dispatcher: ``unknown command: '...'``, ``Command
'...' not available until machine initialization has completed.``, ``Try
"help ..." for more information``.

CPU hooks, used by ``x``, ``xp /i`` and ``$reg`` once a board has CPUs
(``machine.cpus``): ``memory_rw_debug(addr, length)`` -> bytes, or None when
the virtual address is not mapped; ``disassemble(addr, count, physical)`` ->
text; ``monitor_register(name)`` -> int, or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from qemu_py.memory import MemTxResult

from ..commands import runstate
from ..errors import QMPError
from . import info
from .args import get_str, parse_arguments, skip_spaces
from .expr import SPACES
from .memory_dump import dump_chars, dump_length, memory_dump_lines


@dataclass(eq=False)
class HMPCommand:
    name: str
    args_type: str
    params: str
    help: str
    handler: Callable | None
    flags: str = ""
    sub_table: "list[HMPCommand] | None" = None


def compare_cmd(name: str, names: str) -> bool:
    return name in names.split("|")


def available(mon, cmd: HMPCommand) -> bool:
    return mon.vm.machine_ready or "p" in cmd.flags


def _report(mon, fn):
    """Run a QMP-level action; print its error as hmp_handle_error() does."""
    try:
        fn(mon)
    except QMPError as e:
        mon.out.write(f"Error: {e.desc}\n")


# -- handlers -----------------------------------------------------------------------------------

def hmp_help(mon, args):
    help_cmd(mon, args.get("name"))


def hmp_info_help(mon, args):
    help_cmd(mon, "info")


def hmp_quit(mon, args):
    mon.vm.request_shutdown("host-qmp-quit")


def hmp_x_exit_preconfig(mon, args):
    _report(mon, runstate.x_exit_preconfig)


def hmp_stop(mon, args):
    runstate.stop(mon)


def hmp_cont(mon, args):
    _report(mon, runstate.cont)


def hmp_system_reset(mon, args):
    runstate.system_reset(mon)


def hmp_system_powerdown(mon, args):
    runstate.system_powerdown(mon)


DUMP_BATCH_LINES = 1024                 # a long dump reaches the output in pieces of this many lines


def _dump(mon, args, physical: bool):
    fmt, size, count, addr = args["format"], args["size"], args["count"], args["addr"]
    cpu = mon.current_cpu()
    if cpu is None and (fmt == "i" or not physical):
        mon.out.write("Can not dump without CPU\n")
        return
    if fmt == "i":
        disas = getattr(cpu, "disassemble", None)
        if disas is None:
            mon.out.write(f"No disassembler for CPU#{cpu.cpu_index}\n")
        else:
            mon.out.write(disas(addr, count, physical))
        return
    machine = mon.vm.machine
    if physical:
        read = machine.qtest_as.read
    else:
        def read(vaddr, length):
            data = cpu.memory_rw_debug(vaddr, length)
            return (data, MemTxResult.OK) if data is not None else (b"", MemTxResult.ERROR)
    limit = getattr(mon.out, "limit", None)
    if limit is not None and dump_chars(count, fmt, size) > limit:
        name = "xp" if physical else "x"
        mon.out.write(f"{name}: a dump of {dump_length(count, size)} bytes does not fit in one "
                      f"reply (at most {limit} characters)\n")
        return
    batch: list[str] = []
    for line in memory_dump_lines(count, fmt, size, addr, read=read, big_endian=machine.big_endian):
        batch.append(line)
        if len(batch) == DUMP_BATCH_LINES:
            mon.out.write("".join(batch))
            batch.clear()
    mon.out.write("".join(batch))


def hmp_memory_dump(mon, args):
    _dump(mon, args, physical=False)


def hmp_physical_memory_dump(mon, args):
    _dump(mon, args, physical=True)


INFO_COMMANDS = [
    HMPCommand("version", "", "", "show the version of QEMU", info.info_version, "p"),
    HMPCommand("registers", "cpustate_all:-a,vcpu:i?", "[-a|vcpu]",
               "show the cpu registers (-a: show register info for all cpus; vcpu: specific "
               "vCPU to query; show the current CPU's registers if no argument is specified)",
               info.info_registers),
    HMPCommand("irq", "", "", "show the interrupts statistics (if available)", info.info_irq),
    HMPCommand("mtree", "flatview:-f,dispatch_tree:-d,owner:-o,disabled:-D", "[-f][-d][-o][-D]",
               "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, "
               "valid with -f only);-o: dump region owners/parents;-D: dump disabled regions",
               info.info_mtree),
    HMPCommand("kvm", "", "", "show KVM information", info.info_kvm),
    HMPCommand("status", "", "", "show the current VM status (running|paused)",
               info.info_status, "p"),
    HMPCommand("name", "", "", "show the current VM name", info.info_name, "p"),
    HMPCommand("qtree", "", "", "show device tree", info.info_qtree),
    HMPCommand("qom-tree", "path:s?", "[path]", "show QOM composition tree",
               info.info_qom_tree, "p"),
    HMPCommand("balloon", "", "", "show balloon information", info.info_balloon),
    HMPCommand("iotlb", "", "", "show the IOTLB of every IOMMU (qemu-py extension)",
               info.info_iotlb),
]

COMMANDS = [
    HMPCommand("help|?", "name:S?", "[cmd]", "show the help", hmp_help, "p"),
    HMPCommand("q|quit", "", "", "quit the emulator", hmp_quit, "p"),
    HMPCommand("x_exit_preconfig", "", "", "exit the preconfig state", hmp_x_exit_preconfig,
               "p"),
    HMPCommand("stop|s", "", "", "stop emulation", hmp_stop),
    HMPCommand("cont|c", "", "", "resume emulation", hmp_cont),
    HMPCommand("x", "fmt:/,addr:l", "/fmt addr", "virtual memory dump starting at 'addr'",
               hmp_memory_dump),
    HMPCommand("xp", "fmt:/,addr:l", "/fmt addr", "physical memory dump starting at 'addr'",
               hmp_physical_memory_dump),
    HMPCommand("system_reset", "", "", "reset the system", hmp_system_reset),
    HMPCommand("system_powerdown", "", "", "send system power down event",
               hmp_system_powerdown),
    HMPCommand("info", "item:s?", "[subcommand]",
               "show various information about the system state", hmp_info_help, "p",
               INFO_COMMANDS),
]


def command_names() -> list[str]:
    """Every top-level command name and alias (what Tab completes)."""
    return [n for cmd in COMMANDS for n in cmd.name.split("|")]


# -- help ------------------------------------------------------------------------------------------

def _split_words(text: str) -> list[str] | None:
    """parse_cmdline: words as get_str() reads them; None on a bad string or > 16 words."""
    words = []
    pos = skip_spaces(text, 0)
    while pos < len(text):
        if len(words) >= 16:
            return None
        word, pos = get_str(text, pos)
        if word is None:
            return None
        words.append(word)
        pos = skip_spaces(text, pos)
    return words


def _dump_one(mon, cmd: HMPCommand, prefix: list[str]):
    if available(mon, cmd):
        mon.out.write("".join(p + " " for p in prefix) + f"{cmd.name} {cmd.params} -- {cmd.help}\n")


def _help_dump(mon, table, words: list[str], index: int):
    if index >= len(words):
        for cmd in table:
            _dump_one(mon, cmd, words[:index])
        return
    for cmd in table:
        if compare_cmd(words[index], cmd.name) and available(mon, cmd):
            if cmd.sub_table:
                _help_dump(mon, cmd.sub_table, words, index + 1)
            else:
                _dump_one(mon, cmd, words[:index])
            return
    mon.out.write("unknown command: '" + " ".join(words[:index + 1]) + "'\n")


def help_cmd(mon, name: str | None):
    words: list[str] = []
    if name is not None:
        if name == "log":
            from qemu_py.system.log import LOG_ITEMS
            mon.out.write("Log items (comma separated):\n")
            mon.out.write(f"{'none':<10} remove all logs\n")
            for item, text in LOG_ITEMS.items():
                mon.out.write(f"{item:<10} {text}\n")
            return
        words = _split_words(name)
        if words is None:
            return
    _help_dump(mon, COMMANDS, words, 0)


# -- dispatch ---------------------------------------------------------------------------------------

def _command_name(text: str, pos: int) -> tuple[str | None, int]:
    pos = skip_spaces(text, pos)
    if pos >= len(text):
        return None, pos
    start = pos
    while pos < len(text) and text[pos] != "/" and text[pos] not in SPACES:
        pos += 1
    return text[start:pos][:255], pos


def _find(mon, text: str, pos: int, table) -> tuple[HMPCommand | None, int]:
    name, end = _command_name(text, pos)
    if name is None:
        return None, pos
    cmd = next((c for c in table if compare_cmd(name, c.name)), None)
    if cmd is None:
        mon.out.write(f"unknown command: '{text[:end]}'\n")
        return None, pos
    if not available(mon, cmd):
        mon.out.write(f"Command '{text[:end]}' not available until machine initialization "
                      "has completed.\n")
        return None, pos
    end = skip_spaces(text, end)
    if cmd.sub_table is not None and end < len(text):
        return _find(mon, text, end, cmd.sub_table)
    return cmd, end


def handle_command(mon, text: str):
    """handle_hmp_command: run one command line, output to ``mon.out``."""
    cmd, pos = _find(mon, text, 0, COMMANDS)
    if cmd is None:
        return
    args = parse_arguments(mon, cmd, text, pos)
    if args is None:
        shown = text[:pos].rstrip(SPACES)
        mon.out.write(f'Try "help {shown}" for more information\n')
        return
    cmd.handler(mon, args)
