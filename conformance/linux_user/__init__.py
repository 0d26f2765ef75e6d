"""linux-user conformance: programs run under qemu-py-x86_64 and natively, compared.

Oracle: the same program run natively on the host with the same arguments,
standard input, environment and working directory.  Standard output, standard
error and the exit status must be byte-identical; the one expected difference
is the line qemu-py prints (as QEMU does) when the guest dies of a signal that
dumps core.  A mismatch names the command line that reproduces it.
"""
