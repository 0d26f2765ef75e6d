"""PowerPC target.  So far: the 64-bit hash MMU and the ways to reach an HPT.

Modules, from the bottom up:

* :mod:`.bitfield`: data-driven field declarations for 64-bit words;
* :mod:`.hpte`, :mod:`.slb`: HPTE and SLB layouts (pre-ISA-3.0 HPTE format,
  ISA 3.0 conversion helpers), ``slbmte`` validation and SLB lookup;
* :mod:`.mmu_models`: segment/page-size tables (MPSS) of POWER7-10 and 970;
* :mod:`.hash_lookup`: hash functions and the PTEG search;
* :mod:`.protection`, :mod:`.mmu_state`, :mod:`.faults`: key/PP, AMR/IAMR,
  the MSR/LPCR inputs, and fault descriptions (DSI/ISI/DSeg/ISeg/HDSI/HISI);
* :mod:`.xlate`: effective-to-real translation with R/C updates;
* :mod:`.debug`: ``get_phys_page_debug`` and the gdbstub memory access;
* :mod:`.hpt_backend`: the backend interface and ``MemoryHPT``;
* :mod:`.kvm_htab_abi`, :mod:`.kvm_htab_sim`: the ``KVM_PPC_GET_HTAB_FD``
  ABI and a simulated KVM-HV kernel with its HTAB fd;
* :mod:`.kvm_hptes`: QEMU's ``kvmppc_read_hptes``/``kvmppc_write_hpte`` and
  the ``KvmSimHPT`` backend.

Source of truth: the project's HPT specification (``specs/ppc_hpt.md``) (QEMU 7.2, Linux 4.12-4.17
KVM-HV).  Deliberate deviations are listed in each module's docstring; the
main ones: the KVM reader never spins (spec 2.3), the KVM writer can also
remove an entry, and only the pseries (virtual hypervisor) real mode exists.
No CPU, no TLB and no radix MMU yet.
"""
