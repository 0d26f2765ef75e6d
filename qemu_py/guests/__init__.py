"""Guest images shipped with qemu-py as package data.

``default.elf``: the guest ``qemu-py`` boots without arguments (sources and
build recipe in the source tree's ``images/default/``; its Makefile writes the
image here).
"""
