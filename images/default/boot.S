/*
 * Entry of the default guest: multiboot v1 (a.out kludge) in 32-bit protected
 * mode, paging off. Builds identity page tables for the first 4 GiB with 2 MiB
 * pages, enables PAE + long mode + paging, far-jumps to 64-bit code and calls
 * kmain(multiboot_info). Also holds the IDT stubs and the user-mode trampoline.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010003            /* page-align, memory info, a.out kludge */

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long mb_header                    /* header_addr */
    .long _load_start                  /* load_addr */
    .long _load_end                    /* load_end_addr */
    .long _bss_end                     /* bss_end_addr */
    .long _start32                     /* entry_addr */

    .section .text.boot, "ax"
    .code32
    .globl _start32
_start32:
    cli
    mov $boot_stack_top, %esp
    mov %ebx, %edi                     /* multiboot info, first argument of kmain */
    cmp $0x2BADB002, %eax
    jne bad_magic
    /* PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3, PDn: 512 x 2 MiB pages */
    mov $pml4, %eax
    movl $pdpt + 0x7, (%eax)
    mov $pdpt, %eax
    movl $pd + 0x0007, 0(%eax)
    movl $pd + 0x1007, 8(%eax)
    movl $pd + 0x2007, 16(%eax)
    movl $pd + 0x3007, 24(%eax)
    mov $pd, %ebx
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x87, %eax                     /* present, writable, user, 2 MiB */
    cmp $(0xFE000000 >> 21), %ecx
    jb 2f
    or $0x18, %eax                     /* device space: PCD | PWT */
2:  mov %eax, (%ebx, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 1b
    mov $pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                     /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx              /* EFER: SCE | LME | NXE */
    rdmsr
    or $0x901, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010000, %eax               /* PG | WP */
    mov %eax, %cr0
    lgdt gdt_ptr
    ljmp $0x08, $long_mode

bad_magic:
    mov $0x3f8, %dx
    mov $'?', %al
    out %al, %dx
    mov $0xf4, %dx
    mov $0x7f, %al
    out %al, %dx
    hlt

    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    call kmain
    cli
3:  hlt
    jmp 3b

/* Interrupt stubs: push a dummy error code where the CPU does not, then the
 * vector, save the scratch registers and call isr_dispatch(vector, frame). */
    .macro isr_noerr n
    .globl isr\n
isr\n:
    push $0
    push $\n
    jmp isr_common
    .endm
    .macro isr_err n
    .globl isr\n
isr\n:
    push $\n
    jmp isr_common
    .endm

    isr_noerr 0
    isr_noerr 1
    isr_noerr 2
    isr_noerr 3
    isr_noerr 4
    isr_noerr 5
    isr_noerr 6
    isr_noerr 7
    isr_err 8
    isr_noerr 9
    isr_err 10
    isr_err 11
    isr_err 12
    isr_err 13
    isr_err 14
    isr_noerr 15
    isr_noerr 16
    isr_err 17
    isr_noerr 18
    isr_noerr 19
    isr_noerr 32
    isr_noerr 39
    isr_noerr 64
    isr_noerr 255

isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov 72(%rsp), %rdi                 /* vector */
    lea 80(%rsp), %rsi                 /* error code, then the CPU's frame */
    cld
    call isr_dispatch
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

/* syscall entry: rcx = user rip, r11 = user rflags; rax = number, rdi = arg */
    .globl syscall_entry
syscall_entry:
    mov %rsp, user_rsp(%rip)
    mov $kernel_syscall_stack_top, %rsp
    push %rcx
    push %r11
    mov %rax, %rsi
    call syscall_dispatch
    pop %r11
    pop %rcx
    mov user_rsp(%rip), %rsp
    sysretq

/* enter_user(entry, stack): iretq to CPL3 */
    .globl enter_user
enter_user:
    mov %rsp, kernel_resume_rsp(%rip)
    pushq $0x23                        /* user data | 3 */
    push %rsi
    pushq $0x202
    pushq $0x2b                        /* user code64 | 3 */
    push %rdi
    iretq

/* resume_kernel(): continue after enter_user() returned (called from syscall) */
    .globl resume_kernel
resume_kernel:
    mov kernel_resume_rsp(%rip), %rsp
    ret

    .section .data
    .align 16
    .globl gdt
gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF           /* 0x08 kernel code64 */
    .quad 0x00CF93000000FFFF           /* 0x10 kernel data */
    .quad 0x00CFFB000000FFFF           /* 0x18 user code32 (sysret base) */
    .quad 0x00CFF3000000FFFF           /* 0x20 user data */
    .quad 0x00AFFB000000FFFF           /* 0x28 user code64 */
    .quad 0, 0                         /* 0x30 TSS, filled in by kmain */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .section .bss
    .align 4096
pml4: .skip 4096
pdpt: .skip 4096
pd:   .skip 4 * 4096
boot_stack: .skip 16384
boot_stack_top:
    .skip 8192
kernel_syscall_stack_top:
    .align 8
user_rsp: .skip 8
kernel_resume_rsp: .skip 8
    .section .note.GNU-stack, "", @progbits
