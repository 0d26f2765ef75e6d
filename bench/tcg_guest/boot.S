/* Benchmark guest entry: multiboot v1 (a.out kludge) -> long mode -> bench_main(mbi). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    .long mb_header, _load_start, _load_end, _bss_end, _start32

    .section .text.boot, "ax"
    .code32
    .globl _start32
_start32:
    cli
    mov $stack_top, %esp
    mov %ebx, %edi
    mov $pml4, %eax
    movl $pdpt + 7, (%eax)
    mov $pdpt, %eax
    movl $pd + 7, (%eax)
    mov $pd, %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x87, %eax
    mov %eax, (%ebx, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jne 1b
    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax
    mov %eax, %cr0
    lgdt gdt_ptr
    ljmp $0x08, $long_mode

    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $stack_top, %rsp
    call bench_main
2:  hlt
    jmp 2b

    .section .data
    .align 16
gdt:
    .quad 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF
gdt_ptr:
    .word 23
    .quad gdt

    .section .bss
    .align 4096
pml4: .skip 4096
pdpt: .skip 4096
pd:   .skip 4096
      .skip 16384
stack_top:
    .section .note.GNU-stack, "", @progbits
