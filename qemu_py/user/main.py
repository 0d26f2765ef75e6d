"""``qemu-py-x86_64 [options] program [arguments...]``: QEMU's linux-user command.

Options (each with QEMU's environment twin, the option winning):

  -h                  print this help
  -L path             QEMU_LD_PREFIX   prefix for the ELF interpreter
  -s size             QEMU_STACK_SIZE  stack size in bytes (k/M/G suffixes)
  -cpu model          QEMU_CPU         CPU model (``help`` lists them)
  -E var=value        QEMU_SET_ENV     set a variable in the guest environment
  -U var              QEMU_UNSET_ENV   remove a variable from the guest environment
  -0 argv0            QEMU_ARGV0       the program's argv[0]
  -B address          QEMU_GUEST_BASE  accepted: guest addresses are not host addresses
  -R size             QEMU_RESERVED_VA reserve SIZE bytes of guest address space
  -d item[,...]       QEMU_LOG         log items (``-d help``)
  -D logfile          QEMU_LOG_FILENAME
  -strace             QEMU_STRACE      log system calls
  -one-insn-per-tb / -singlestep       one guest instruction per translation block
  -seed number        QEMU_RAND_SEED   seed AT_RANDOM and getrandom-free randomness
  -version            QEMU_VERSION     print the version and exit

The guest's exit status is the emulator's; a guest killed by a signal kills
the emulator with the same signal after QEMU's message.
"""

from __future__ import annotations

import os
import random
import sys

from .ending import PROG, finish
from dataclasses import dataclass, field



class UsageError(Exception):
    pass


@dataclass
class UserOptions:
    prefix: str | None = None
    stack_size: int = 8 << 20
    cpu: str = "qemu64"
    set_env: list = field(default_factory=list)
    unset_env: list = field(default_factory=list)
    argv0: str | None = None
    log_items: list = field(default_factory=list)
    log_file: str | None = None
    strace: bool = False
    one_insn_per_tb: bool = False
    seed: int | None = None
    reserved_va: int = 0
    backend: str = "python"
    passthrough: list = field(default_factory=list)   # options for a re-executed emulator


def _size(arg: str, opt: str) -> int:
    mult = {"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}
    num, m = (arg[:-1], mult[arg[-1]]) if arg and arg[-1] in mult else (arg, 1)
    try:
        v = int(num, 0) * m
    except ValueError:
        raise UsageError(f"Invalid {opt} size: {arg}") from None
    if v <= 0:
        raise UsageError(f"Invalid {opt} size: {arg}")
    return v


HELP = f"""usage: {PROG} [options] program [arguments...]
Linux CPU emulator (compiled for x86_64 emulation)

Options and associated environment variables:

Argument             Env-variable      Description
-h                                     print this help
-help                                  
-L path              QEMU_LD_PREFIX    set the elf interpreter prefix to 'path'
-s size              QEMU_STACK_SIZE   set the stack size to 'size' bytes
-cpu model           QEMU_CPU          select CPU (-cpu help for list)
-E var=value         QEMU_SET_ENV      sets targets environment variable (see below)
-U var               QEMU_UNSET_ENV    unsets targets environment variable (see below)
-0 argv0             QEMU_ARGV0        forces target process argv[0] to be 'argv0'
-B address           QEMU_GUEST_BASE   set guest_base address to 'address'
-R size              QEMU_RESERVED_VA  reserve 'size' bytes for guest virtual address space
-d item[,...]        QEMU_LOG          enable logging of specified items (use '-d help' for a list of items)
-D logfile           QEMU_LOG_FILENAME write logs to 'logfile' (default stderr)
-singlestep          QEMU_SINGLESTEP   run in singlestep mode
-one-insn-per-tb                       run with one guest instruction per emulated TB
-strace              QEMU_STRACE       log system calls
-seed                QEMU_RAND_SEED    Seed for pseudo-random number generator
-version             QEMU_VERSION      display version information and exit

Defaults:
QEMU_LD_PREFIX  = /
QEMU_STACK_SIZE = 8388608 byte

You can use -E and -U options or the QEMU_SET_ENV and
QEMU_UNSET_ENV environment variables to set and unset
environment variables for the target process.
It is possible to provide several variables by separating them
by commas in getsubopt(3) style. Additionally it is possible to
provide the -E and -U options multiple times.
The following lines are equivalent:
    -E var1=val2 -E var2=val2 -U LD_PRELOAD -U LD_DEBUG
    QEMU_SET_ENV=var1=val2,var2=val2 QEMU_UNSET_ENV=LD_PRELOAD,LD_DEBUG
Note that if you provide several changes to a single variable
the last change will stay in effect.
"""

# option -> (environment twin, takes an argument)
OPTIONS = {
    "-h": (None, False), "-help": (None, False), "-L": ("QEMU_LD_PREFIX", True),
    "-s": ("QEMU_STACK_SIZE", True), "-cpu": ("QEMU_CPU", True),
    "-E": ("QEMU_SET_ENV", True), "-U": ("QEMU_UNSET_ENV", True), "-0": ("QEMU_ARGV0", True),
    "-B": ("QEMU_GUEST_BASE", True), "-R": ("QEMU_RESERVED_VA", True),
    "-d": ("QEMU_LOG", True), "-D": ("QEMU_LOG_FILENAME", True),
    "-singlestep": ("QEMU_SINGLESTEP", False), "-one-insn-per-tb": (None, False),
    "-strace": ("QEMU_STRACE", False), "-seed": ("QEMU_RAND_SEED", True),
    "-version": ("QEMU_VERSION", False), "-accel-backend": (None, True),
}


def _apply(o: UserOptions, opt: str, arg: str | None) -> str | None:
    """Apply one option; returns 'help'/'version' for those, else None."""
    if opt in ("-h", "-help"):
        return "help"
    if opt == "-version":
        return "version"
    if opt == "-L":
        o.prefix = arg
    elif opt == "-s":
        o.stack_size = _size(arg, "stack")
    elif opt == "-cpu":
        if arg == "help":
            return "cpu-help"
        from qemu_py.hw.core.cpus import cpu_models
        if arg.split(",")[0] not in [name for name, _ in cpu_models("x86_64")]:
            raise UsageError(f"unable to find CPU model '{arg.split(',')[0]}'")
        o.cpu = arg
    elif opt == "-E":
        o.set_env += [kv for kv in arg.split(",") if kv]
    elif opt == "-U":
        o.unset_env += [k for k in arg.split(",") if k]
    elif opt == "-0":
        o.argv0 = arg
    elif opt == "-B":
        try:
            int(arg, 0)
        except ValueError:
            raise UsageError(f"invalid guest base '{arg}'") from None
    elif opt == "-R":
        o.reserved_va = _size(arg, "reserved_va")
    elif opt == "-d":
        from qemu_py.system.log import LOG_ITEMS
        if arg == "help":
            return "log-help"
        for item in arg.split(","):
            if item not in LOG_ITEMS:
                raise UsageError(f'Invalid -d option "{item}"')
        o.log_items += arg.split(",")
    elif opt == "-D":
        o.log_file = arg
    elif opt in ("-singlestep", "-one-insn-per-tb"):
        o.one_insn_per_tb = True
    elif opt == "-strace":
        o.strace = True
    elif opt == "-seed":
        try:
            o.seed = int(arg, 0)
        except ValueError:
            raise UsageError(f"Invalid seed number: {arg}") from None
    elif opt == "-accel-backend":
        if arg not in ("python", "interp"):
            raise UsageError(f"unknown TCG backend '{arg}' (known: interp, python)")
        o.backend = arg
    return None


def parse_args(argv: list[str], environ) -> tuple[UserOptions, str | None, list[str], str | None]:
    o = UserOptions()
    action = None
    for opt, (env, takes) in OPTIONS.items():    # the environment first, options override
        if env and env in environ and env != "QEMU_VERSION":
            r = _apply(o, opt, environ[env] if takes else None)
            action = action or r
    if "QEMU_VERSION" in environ:
        action = "version"
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        opt = argv[i]
        if opt == "--":
            i += 1
            break
        if opt.startswith("--"):
            opt = opt[1:]
        if opt not in OPTIONS:
            raise UsageError(f"unknown option '{argv[i].lstrip('-')}'")
        _env, takes = OPTIONS[opt]
        arg = None
        if takes:
            if i + 1 >= len(argv):
                raise UsageError(f"'{opt[1:]}' requires an argument")
            arg = argv[i + 1]
            i += 1
        o.passthrough += [opt] + ([arg] if arg is not None else [])
        r = _apply(o, opt, arg)
        action = action or r
        i += 1
    if action:
        return o, None, [], action
    if i >= len(argv):
        raise UsageError("no user program specified")
    return o, argv[i], argv[i + 1:], None


def guest_environment(o: UserOptions, environ) -> list[bytes]:
    """The guest's environment: the emulator's (its QEMU_* variables too, as QEMU
    passes them on), with -E/-U applied."""
    env = dict(environ)
    for kv in o.set_env:
        k, _, v = kv.partition("=")
        env[k] = v
    for k in o.unset_env:
        env.pop(k, None)
    return [f"{k}={v}".encode("utf-8", "surrogateescape") for k, v in env.items()]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        o, program, args, action = parse_args(argv, os.environ)
    except UsageError as e:
        sys.stderr.write(f"{PROG}: {e}\n")
        return 1
    if action == "help":
        sys.stdout.write(HELP)
        return 0
    if action == "version":
        from qemu_py.help import version_text
        sys.stdout.write(f"{PROG} version " + version_text().split(" version ", 1)[1])
        return 0
    if action == "log-help":
        from qemu_py.system.log import help_text
        sys.stdout.write(help_text())
        return 1
    if action == "cpu-help":
        from qemu_py.help import cpu_help
        sys.stdout.write(cpu_help("x86_64"))
        return 0
    return run_program(o, program, args)


def run_program(o: UserOptions, program: str, args: list[str]) -> int:
    from qemu_py.system.log import LOG
    from .cpu import UserCPU
    from .loader import LoadError, load_program
    from .memory import GuestMemory
    from .process import Process

    try:
        LOG.configure(o.log_items, o.log_file)
    except OSError as e:
        sys.stderr.write(f"{PROG}: could not open log file '{o.log_file}': {e.strerror}\n")
        return 1
    path = program
    if "/" not in program:                   # QEMU looks the program up on PATH
        for d in os.environ.get("PATH", "").split(":"):
            cand = os.path.join(d or ".", program)
            if os.path.isfile(cand):
                path = cand
                break
    argv = [o.argv0 if o.argv0 is not None else program] + args
    mem = GuestMemory()
    rng = random.Random(o.seed) if o.seed is not None else None
    cpu = UserCPU(mem, backend=o.backend, one_insn_per_tb=o.one_insn_per_tb)
    from qemu_py.target.i386.cpuid import LEAF1_EDX
    try:
        proc_info = load_program(
            mem, path, [os.fsencode(a) for a in argv], guest_environment(o, os.environ),
            prefix=o.prefix, stack_size=o.stack_size,
            random_bytes=rng.randbytes(16) if rng else None, hwcap=LEAF1_EDX)
    except LoadError as e:
        sys.stderr.write(f"{PROG}: {e}\n")
        return 1
    from .page_dump import log_binary_load
    log_binary_load(mem, proc_info)
    cpu.env_q[cpu_rip_slot()] = proc_info.entry
    cpu.set_gpr(4, proc_info.stack_pointer)
    for r in (0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15):
        cpu.set_gpr(r, 0)
    proc = Process(cpu, mem, exe=proc_info.exe_path, argv=argv, options=o)
    try:
        end = proc.run()
    except Exception as e:                   # a defect of the emulator, not of the guest
        if os.environ.get("QEMU_PY_DEBUG"):
            raise
        from qemu_py.target.i386.state import RIP
        sys.stderr.write(f"{PROG}: internal error at guest pc {cpu.env_q[RIP]:#x}: "
                         f"{type(e).__name__}: {e} (QEMU_PY_DEBUG=1 shows where)\n")
        return 1
    return finish(end)


def cpu_rip_slot() -> int:
    from qemu_py.target.i386.state import RIP
    return RIP


if __name__ == "__main__":
    sys.exit(main())
