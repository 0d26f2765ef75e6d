"""linux-user mode: run x86-64 Linux programs on the translator (``qemu-py-x86_64``)."""
