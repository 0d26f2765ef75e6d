"""The native translator tier: TB IR lowered to LLVM IR and compiled with llvmlite's MCJIT."""

from .backend import LLVMBackend

__all__ = ["LLVMBackend"]
