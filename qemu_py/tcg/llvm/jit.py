"""One MCJIT execution engine per backend instance: LLVM IR text in, machine code out."""

from __future__ import annotations

import llvmlite.binding as llvm

_ready = False


def _init():
    global _ready
    if not _ready:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _ready = True


class JIT:
    """Compiles modules of LLVM IR text and returns their functions' addresses."""

    def __init__(self, opt: int = 2):
        _init()
        target = llvm.Target.from_default_triple()
        self.tm = target.create_target_machine(opt=opt, codemodel="jitdefault")
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
        self.opt = opt
        self.modules = []

    def _optimize(self, mod):
        pto = llvm.create_pipeline_tuning_options(speed_level=self.opt)
        pb = llvm.create_pass_builder(self.tm, pto)
        pm = pb.getModulePassManager()
        pm.run(mod, pb)

    def compile(self, text: str, names: list[str]) -> list[int]:
        mod = llvm.parse_assembly(text)
        mod.verify()
        self._optimize(mod)
        self.engine.add_module(mod)
        self.engine.finalize_object()
        self.modules.append(mod)        # the engine owns it; keep the Python side alive
        return [self.engine.get_function_address(n) for n in names]
