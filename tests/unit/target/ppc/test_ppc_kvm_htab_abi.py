"""KVM_PPC_GET_HTAB_FD identity, argument struct and record header (spec 1.1-1.3)."""

import pytest

from qemu_py.target.ppc.kvm_htab_abi import (
    IOC_GENERIC,
    IOC_PPC,
    KVM_CAP_PPC_ALLOC_HTAB,
    KVM_CAP_PPC_HTAB_FD,
    KVM_GET_HTAB_BOLTED_ONLY,
    KVM_GET_HTAB_WRITE,
    HtabHeader,
    kvm_ppc_allocate_htab_number,
    kvm_ppc_get_htab_fd_number,
    pack_get_htab_fd,
    pack_hpte,
    unpack_get_htab_fd,
)


def test_capabilities_and_flags():
    assert (KVM_CAP_PPC_HTAB_FD, KVM_CAP_PPC_ALLOC_HTAB) == (84, 80)
    assert (KVM_GET_HTAB_BOLTED_ONLY, KVM_GET_HTAB_WRITE) == (1, 2)


def test_ioctl_number_on_ppc_and_generic_hosts():
    assert kvm_ppc_get_htab_fd_number(IOC_PPC) == 0x8020AEAA
    assert kvm_ppc_get_htab_fd_number(IOC_GENERIC) == 0x4020AEAA
    assert kvm_ppc_allocate_htab_number(IOC_PPC) == 0xC004AEA7


def test_argument_struct_is_32_bytes_native_order():
    raw = pack_get_htab_fd(KVM_GET_HTAB_WRITE, 0x1A2A8, "little")
    assert len(raw) == 32
    assert raw[:16] == (2).to_bytes(8, "little") + (0x1A2A8).to_bytes(8, "little")
    assert unpack_get_htab_fd(raw, "little") == (2, 0x1A2A8)
    assert unpack_get_htab_fd(pack_get_htab_fd(1, 7, "big"), "big") == (1, 7)
    with pytest.raises(ValueError, match="32 bytes, got 31"):
        unpack_get_htab_fd(raw[:31])


def test_header_is_host_order_and_hptes_big_endian():
    hdr = HtabHeader(0x12345678, 0x0102, 0x0304)
    assert hdr.pack("little") == bytes.fromhex("7856341202010403")
    assert hdr.pack("big") == bytes.fromhex("1234567801020304")
    assert HtabHeader.unpack_from(b"xx" + hdr.pack("big"), 2, "big") == hdr
    assert pack_hpte(0x123456041, 0x5012) == bytes.fromhex("00000001234560410000000000005012")
    with pytest.raises(ValueError, match="byteorder='middle'"):
        hdr.pack("middle")
