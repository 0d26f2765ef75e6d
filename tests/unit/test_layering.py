"""The import directions of the tree, as data: a module imports only from its
own layer or the layers below it, and no two modules import each other (even
through an import inside a function: none is needed to break a cycle).

The map and the rule are described in docs/architecture.md."""

from __future__ import annotations

import ast
import pathlib

import qemu_py

ROOT = pathlib.Path(qemu_py.__file__).parent

# lowest first; a module belongs to the layer of the longest prefix naming it
LAYERS = (
    ("base", ("qemu_py", "qemu_py.config", "qemu_py.system", "qemu_py.qom")),
    ("engine", ("qemu_py.memory", "qemu_py.tcg")),
    ("targets", ("qemu_py.target", "qemu_py.loader")),
    ("devices", ("qemu_py.hw",)),
    ("front ends", ("qemu_py.accel", "qemu_py.monitor", "qemu_py.gdbstub",
                    "qemu_py.qtest.server", "qemu_py.qtest.commands", "qemu_py.qtest.codec",
                    "qemu_py.qtest.log", "qemu_py.qtest.board")),
    ("launcher", ("qemu_py.cmdline", "qemu_py.help", "qemu_py.launch",
                  "qemu_py.user")),                  # linux-user mode is a launcher of its own
    ("commands and harnesses", ("qemu_py.cli", "qemu_py.__main__", "qemu_py.report",
                                "qemu_py.report_pytest",
                                "qemu_py.guests", "qemu_py.qtest")),   # the qtest clients
)


def layer_of(module: str) -> int:
    best, level = -1, None
    for i, (_name, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, level = len(p), i
    assert level is not None, f"{module} is in no layer"
    return level


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ["qemu_py"] + list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """Module -> the qemu_py modules it imports anywhere (module level or in a
    function), except under ``if TYPE_CHECKING:``."""
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skip = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for n in ast.walk(node))
        found = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module
                for a in node.names:
                    full = f"{base}.{a.name}"
                    found.add(full if full in mods else base)
        graph[name] = set()
        for target in found:
            while target not in mods and "." in target:
                target = target.rpartition(".")[0]
            if target in mods and target != name:
                graph[name].add(target)
    return graph


def test_every_import_points_to_the_same_layer_or_below():
    mods = modules()
    wrong = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
             for a, targets in imports(mods).items() for b in sorted(targets)
             if layer_of(b) > layer_of(a)]
    assert wrong == []


def test_no_import_cycle():
    graph = imports(modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v):                               # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_layer_map_names_every_module_and_the_graph_sees_imports():
    mods = modules()
    for name in mods:
        layer_of(name)
    graph = imports(mods)
    assert "qemu_py.system.startup" in graph["qemu_py.launch"]
    assert "qemu_py.launch" in graph["qemu_py.cli"]
