"""PowerPC machines.  So far: the pseries hashed page table (HPT) logic.

What is here (machine wiring of ``-M pseries`` comes later):

* :mod:`.spapr_hpt`: HPT sizing (QEMU's default 1/128-of-RAM rule, an
  explicit ``htab-shift``), ``ibm,pft-size``, and :func:`.spapr_hpt.create_spapr_hpt`
  building the ``memory`` or ``kvm-sim`` backend;
* :mod:`.hcall_codes`: PAPR opcodes, flags and return codes;
* :mod:`.spapr_hcall_hpt`: H_ENTER, H_REMOVE, H_READ, H_PROTECT and
  H_BULK_REMOVE with QEMU 7.2's semantics, on either backend;
* :mod:`.spapr_hcall`: the dispatcher ``SpaprHcalls.hcall(opcode, args)`` and the
  proposed qtest command ``hcall OPCODE ARG...``.

The MMU and the backends live in :mod:`qemu_py.target.ppc`.  Under a real
KVM-HV host the kernel handles these hypercalls itself; running QEMU's
handlers against the kernel-owned table (``kvm-sim``) is this emulator's way
of testing the HTAB fd path and has no upstream counterpart.  The backends
differ visibly in two places only: the fd cannot carry the contents of an
invalid entry, so H_READ of one returns the stored words on ``memory``
(QEMU's table starts with pte0 = 0x40 everywhere) and zeros on ``kvm-sim``;
and bit 62 of pte1 (TS) is cleared on ``kvm-sim``, because KVM uses that bit
as its MODIFIED flag.
"""
