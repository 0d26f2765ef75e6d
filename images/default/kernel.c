/*
 * The qemu-py default guest (freestanding x86-64 C).
 *
 * Prints a banner and computed results on COM1, checks each result against
 * its known value, enters user mode and comes back through SYSCALL, takes a
 * local-APIC timer interrupt, and exits through isa-debug-exit (port 0xf4):
 * value 0 when every check passed, else the number of the first failed check.
 */
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define APIC_BASE 0xFEE00000UL
#define TIMER_VECTOR 64
#define SPURIOUS_VECTOR 255

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline void wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
static inline uint32_t apic_read(uint32_t reg) { return *(volatile uint32_t *)(APIC_BASE + reg); }
static inline void apic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(APIC_BASE + reg) = v; }

/* ------------------------------------------------------------------ serial */

static void serial_init(void)
{
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0xC7);       /* FIFO */
}

static void putc(char c)
{
    if (c == '\n')
        putc('\r');
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void puts(const char *s) { while (*s) putc(*s++); }

static void putu(uint64_t v)
{
    char buf[24];
    int i = 0;
    do { buf[i++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (i) putc(buf[--i]);
}

static void putx(uint64_t v, int digits)
{
    puts("0x");
    for (int i = digits - 1; i >= 0; i--)
        putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

/* ----------------------------------------------------------------- checks */

static int failed;
static int check_no;

static void check(const char *what, uint64_t got, uint64_t want)
{
    check_no++;
    puts("  ");
    puts(what);
    puts(" = ");
    putu(got);
    if (got == want) {
        puts("  [ok]\n");
    } else {
        puts("  [FAIL, expected ");
        putu(want);
        puts("]\n");
        if (!failed)
            failed = check_no;
    }
}

static uint64_t count_primes(uint32_t limit)
{
    static uint8_t sieve[20001];
    uint64_t n = 0;
    for (uint32_t i = 2; i <= limit; i++) {
        if (sieve[i])
            continue;
        n++;
        for (uint32_t j = i * i; j <= limit; j += i)
            sieve[j] = 1;
    }
    return n;
}

static uint64_t fib(unsigned n)
{
    uint64_t a = 0, b = 1;
    while (n--) { uint64_t t = a + b; a = b; b = t; }
    return a;
}

static uint32_t crc32(const char *s)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (*s) {
        crc ^= (uint8_t)*s++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
    return ~crc;
}

static uint64_t collatz_longest(uint32_t limit)
{
    uint64_t best = 0, arg = 0;
    for (uint32_t i = 1; i < limit; i++) {
        uint64_t x = i, steps = 0;
        while (x != 1) { x = (x & 1) ? 3 * x + 1 : x / 2; steps++; }
        if (steps > best) { best = steps; arg = i; }
    }
    return arg;
}

static uint64_t sort_checksum(void)
{
    static uint32_t v[256];
    uint32_t x = 12345;
    for (int i = 0; i < 256; i++) { x = x * 1103515245u + 12345u; v[i] = x >> 8; }
    for (int i = 1; i < 256; i++) {            /* insertion sort */
        uint32_t key = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > key) { v[j + 1] = v[j]; j--; }
        v[j + 1] = key;
    }
    uint64_t sum = 0;
    for (int i = 0; i < 256; i++) {
        if (i && v[i - 1] > v[i])
            return 0;
        sum = sum * 31 + v[i];
    }
    return sum;
}

/* ------------------------------------------------------------- interrupts */

struct idt_entry { uint16_t off0, sel; uint8_t ist, type; uint16_t off1; uint32_t off2, zero; };
static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile uint64_t ticks;

extern char isr0[], isr1[], isr2[], isr3[], isr4[], isr5[], isr6[], isr7[], isr8[], isr9[];
extern char isr10[], isr11[], isr12[], isr13[], isr14[], isr15[], isr16[], isr17[], isr18[];
extern char isr19[], isr32[], isr39[], isr64[], isr255[];

static void set_gate(int v, void *handler)
{
    uint64_t a = (uint64_t)handler;
    idt[v] = (struct idt_entry){ (uint16_t)a, 0x08, 0, 0x8E, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
}

static void idt_init(void)
{
    void *stubs[20] = { isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7, isr8, isr9, isr10,
                        isr11, isr12, isr13, isr14, isr15, isr16, isr17, isr18, isr19 };
    for (int v = 0; v < 20; v++)
        set_gate(v, stubs[v]);
    set_gate(32, isr32);
    set_gate(39, isr39);
    set_gate(TIMER_VECTOR, isr64);
    set_gate(SPURIOUS_VECTOR, isr255);
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" :: "m"(ptr));
}

void isr_dispatch(uint64_t vector, uint64_t *frame)
{
    if (vector == TIMER_VECTOR) {
        ticks++;
        apic_write(0xB0, 0);                   /* EOI */
        return;
    }
    if (vector == 32 || vector == 39 || vector == SPURIOUS_VECTOR)
        return;                                /* PIC noise / spurious */
    puts("\nunexpected exception ");
    putu(vector);
    puts(" error ");
    putx(frame[0], 4);
    puts(" at rip ");
    putx(frame[1], 16);
    puts("\n");
    outb(DEBUG_EXIT, 0x40 + (uint8_t)vector);
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---------------------------------------------------------------------- TSS */

extern uint64_t gdt[];
static struct { uint32_t reserved0; uint64_t rsp[3]; uint64_t reserved1; uint64_t ist[7];
                uint64_t reserved2; uint16_t reserved3, iomap; } __attribute__((packed)) tss;
static uint8_t interrupt_stack[8192] __attribute__((aligned(16)));

static void tss_init(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    tss.rsp[0] = (uint64_t)(interrupt_stack + sizeof(interrupt_stack));
    tss.iomap = sizeof(tss);
    gdt[6] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89UL << 40) |
             (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[7] = base >> 32;
    __asm__ volatile("ltr %w0" :: "r"(0x30));
}

/* The 8259s are not used: mask every input (the local APIC timer is). */
static void pic_mask_all(void)
{
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

/* --------------------------------------------------------------- user mode */

extern void syscall_entry(void);
extern void enter_user(void *entry, void *stack);
extern void resume_kernel(void);
static uint64_t user_result;
static uint8_t user_stack[4096] __attribute__((aligned(16)));

uint64_t syscall_dispatch(uint64_t arg, uint64_t nr)
{
    if (nr == 1) {                             /* write one value: the user computation */
        user_result = arg;
        return 0;
    }
    if (nr == 60)                              /* exit: back to the kernel */
        resume_kernel();
    return (uint64_t)-1;
}

static void __attribute__((noinline, section(".text.user"))) user_main(void)
{
    uint64_t sum = 0;
    for (uint64_t i = 1; i <= 1000; i++)
        sum += i * i;
    __asm__ volatile("syscall" :: "a"(1UL), "D"(sum) : "rcx", "r11", "memory");
    __asm__ volatile("syscall" :: "a"(60UL), "D"(0UL) : "rcx", "r11", "memory");
    for (;;)
        ;
}

/* ------------------------------------------------------------------- main */

void kmain(uint32_t *mbi)
{
    serial_init();
    puts("qemu-py default guest: x86-64 long mode, 4-level paging\n");

    uint32_t a, b, c, d;
    char vendor[13];
    cpuid(0, &a, &b, &c, &d);
    *(uint32_t *)&vendor[0] = b; *(uint32_t *)&vendor[4] = d; *(uint32_t *)&vendor[8] = c;
    vendor[12] = 0;
    puts("cpu: ");
    puts(vendor);
    cpuid(0x80000001, &a, &b, &c, &d);
    puts((d & (1u << 29)) ? ", lm" : ", no lm");
    puts((d & (1u << 20)) ? " nx" : "");
    cpuid(7, &a, &b, &c, &d);
    puts((b & (1u << 3)) ? " bmi1" : "");
    puts((b & (1u << 8)) ? " bmi2" : "");
    puts("\n");
    if (mbi[0] & 4) {
        puts("cmdline: ");
        puts((const char *)(uint64_t)mbi[4]);
        puts("\n");
    }
    puts("memory: ");
    putu(mbi[2] / 1024 + 1);
    puts(" MiB\n");

    puts("computing:\n");
    check("primes below 20000", count_primes(20000), 2262);
    check("fib(90)", fib(90), 2880067194370816120ULL);
    check("crc32(\"qemu-py\")", crc32("qemu-py"), 0x847a1c87);
    check("longest collatz below 3000", collatz_longest(3000), 2919);
    check("sorted checksum", sort_checksum(), 17634936341842485674ULL);

    idt_init();
    tss_init();
    pic_mask_all();

    /* user mode and back through SYSCALL/SYSRET */
    wrmsr(0xC0000081, ((uint64_t)0x18 << 48) | ((uint64_t)0x08 << 32));   /* STAR */
    wrmsr(0xC0000082, (uint64_t)syscall_entry);                          /* LSTAR */
    wrmsr(0xC0000084, 0x200);                                            /* FMASK: IF */
    enter_user((void *)user_main, user_stack + sizeof(user_stack));
    check("sum of squares computed at CPL3", user_result, 333833500);

    /* local APIC timer: one-shot, 50000 counts (divide by 1) */
    apic_write(0xF0, 0x100 | SPURIOUS_VECTOR);  /* software enable */
    apic_write(0x3E0, 0xB);                    /* divide by 1 */
    apic_write(0x320, TIMER_VECTOR);           /* one-shot */
    uint64_t t0 = rdtsc();
    apic_write(0x380, 50000);
    __asm__ volatile("sti");
    while (!ticks)
        __asm__ volatile("hlt");
    __asm__ volatile("cli");
    uint64_t t1 = rdtsc();
    check("timer interrupts", ticks, 1);
    puts("timer interrupt after ");
    putu(t1 - t0);
    puts(" TSC ticks\n");

    if (failed) {
        puts("FAILED check ");
        putu(failed);
        puts("\n");
        outb(DEBUG_EXIT, (uint8_t)failed);
    } else {
        puts("all checks passed\n");
        outb(DEBUG_EXIT, 0);
    }
    for (;;)
        __asm__ volatile("cli; hlt");
}
