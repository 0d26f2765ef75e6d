/* Multiboot (a.out kludge) guest for the interrupt tests of tests/unit/accel/kvm:
 * enters long mode (interrupt returns are IRETQ: a PVM host's CPL0 emulator
 * cannot run a 32-bit IRET), then takes a local APIC timer interrupt (vector
 * 0x40, one-shot, 200 us) and a PIT interrupt through the 8259 and LINT0 in
 * ExtINT mode (vector 0x20), records what it saw at 0x100800 and writes 0x10
 * to isa-debug-exit (exit status 0x21). Any other vector writes 0x7f.
 *
 * Results (u32): +0 APIC timer interrupts, +4 8259 interrupts, +0x10 EAX at
 * entry (multiboot magic), +0x14 APIC version register, +0x18 LVT LINT0 at
 * entry, +0x1c ISR bits 0-31 | 64-95 after both EOIs.
 *
 * Build: as --64 -o irq_guest.o irq_guest.S &&
 *        ld -m elf_x86_64 -Ttext=0x100000 --oformat binary -o irq_guest.bin irq_guest.o */
    .set APIC, 0xFEE00000
    .set PML4, 0x10000
    .set PDPT, 0x11000
    .set PD, 0x12000
    .set IDT, 0x20000
    .set RESULTS, 0x100800
    .code32
    .globl _start
hdr:
    .long 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    .long hdr, hdr, 0, 0, _start
_start:
    mov $0x80000, %esp
    mov %eax, RESULTS + 0x10              /* multiboot magic */
    /* identity map 4 GiB with 2 MiB pages */
    movl $PDPT + 3, PML4
    movl $PD + 0x0003, PDPT
    movl $PD + 0x1003, PDPT + 8
    movl $PD + 0x2003, PDPT + 16
    movl $PD + 0x3003, PDPT + 24
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, PD(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b
    mov $PML4, %eax
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
    lgdt gdtr
    ljmp $0x08, $long_mode
    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x80000, %rsp
    /* IDT: every vector -> bad, 0x20 -> pic_irq, 0x40 -> apic_timer */
    mov $IDT, %rdi
    xor %ecx, %ecx
2:  lea bad(%rip), %rax
    cmp $0x20, %ecx
    jne 3f
    lea pic_irq(%rip), %rax
3:  cmp $0x40, %ecx
    jne 4f
    lea apic_timer(%rip), %rax
4:  mov %ax, (%rdi)
    movw $0x08, 2(%rdi)
    movw $0x8E00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    movq $0, 8(%rdi)
    add $16, %rdi
    inc %ecx
    cmp $256, %ecx
    jne 2b
    lidt idtr(%rip)
    /* 8259: vectors 0x20/0x28, only IRQ0 unmasked */
    mov $0x11, %al
    out %al, $0x20
    out %al, $0xA0
    mov $0x20, %al
    out %al, $0x21
    mov $0x28, %al
    out %al, $0xA1
    mov $4, %al
    out %al, $0x21
    mov $2, %al
    out %al, $0xA1
    mov $1, %al
    out %al, $0x21
    out %al, $0xA1
    mov $0xFE, %al
    out %al, $0x21
    mov $0xFF, %al
    out %al, $0xA1
    /* APIC: software enable, timer one-shot vector 0x40, divide by 1 */
    mov $APIC, %rbx
    movl $0x1FF, 0xF0(%rbx)
    movl $0xB, 0x3E0(%rbx)
    movl $0x40, 0x320(%rbx)
    mov 0x30(%rbx), %eax
    mov %eax, RESULTS + 0x14              /* version */
    mov 0x350(%rbx), %eax
    mov %eax, RESULTS + 0x18              /* LVT LINT0 as the loader left it */
    movl $200000, 0x380(%rbx)             /* 200 us */
    /* PIT channel 0, mode 0, 1193 counts: 1 ms */
    mov $0x30, %al
    out %al, $0x43
    mov $0xA9, %al
    out %al, $0x40
    mov $0x04, %al
    out %al, $0x40
    sti
5:  hlt
    cmpl $0, RESULTS
    je 5b
    cmpl $0, RESULTS + 4
    je 5b
    cli
    mov 0x100(%rbx), %eax                 /* ISR bits 0-31: nothing in service */
    or 0x120(%rbx), %eax                  /* ISR bits 64-95 (0x40) */
    mov %eax, RESULTS + 0x1C
    mov $0x10, %al
    out %al, $0xF4
6:  hlt
    jmp 6b

apic_timer:
    incl RESULTS
    push %rax
    mov $APIC, %rax
    movl $0, 0xB0(%rax)                   /* EOI */
    pop %rax
    iretq
pic_irq:
    incl RESULTS + 4
    push %rax
    mov $0x20, %al
    out %al, $0x20                        /* 8259 EOI */
    pop %rax
    iretq
bad:
    mov $0x7F, %al
    out %al, $0xF4
    hlt

    .align 8
gdt:
    .quad 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF
gdtr:
    .word 23
    .long gdt
idtr:
    .word 256 * 16 - 1
    .quad IDT
