/* SPDX-License-Identifier: MIT */
/*
 * pvops.h - the C face of the pvops ABI.
 *
 * One table of operations (struct pvops_ops) that a guest kernel calls instead of privileged
 * instructions; the backend that fills it (native, KVM, Xen, Hyper-V, VMI) is picked at boot by
 * pvops_init(). Plain C11, fixed-layout structs, no C++ types: a C kernel includes this file
 * as it is. C++ callers use <pvops/pvops.hpp>, typed wrappers over the same table.
 *
 * Callers never touch `pvops_table` directly: they call the pvops_* inline wrappers below, so that
 * a later change can patch call sites at boot without touching callers.
 */
#ifndef PVOPS_PVOPS_H
#define PVOPS_PVOPS_H

#include <stddef.h>
#include <stdint.h>

#include <pvops/move.h>
#include <pvops/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PVOPS_ABI_VERSION 5u
/* The most CPUs the library serves, a build option of the library (CMake PVOPS_MAX_CPUS): a
 * kernel compiles with the same value (-DPVOPS_MAX_CPUS=N), which pvops_init() checks through
 * pvops_env.max_cpus. */
#ifndef PVOPS_MAX_CPUS
#define PVOPS_MAX_CPUS 64u
#endif
#if PVOPS_MAX_CPUS < 64 || PVOPS_MAX_CPUS % 64 != 0
#error "PVOPS_MAX_CPUS must be a multiple of 64 (pvops_cpuset is whole 64-bit words)"
#endif
#define PVOPS_PAGE_SIZE 4096u /* x86's base page: the unit of pages the library hands out */

/* ---- Status ----------------------------------------------------------------------------- */

/* Every fallible op returns one of these; no exceptions, no errno. */
typedef int32_t pvops_status;
enum {
  PVOPS_OK = 0,
  PVOPS_ERR_UNSUPPORTED = -1, /* the backend (or the hypervisor) lacks this feature */
  PVOPS_ERR_INVALID = -2,     /* an argument is out of range */
  PVOPS_ERR_FAULT = -3,       /* the instruction faulted (e.g. #GP on an absent MSR) */
  PVOPS_ERR_DENIED = -4,      /* the hypervisor refused (no privilege) */
  PVOPS_ERR_HYPERVISOR = -5,  /* the hypervisor returned an error; see the raw result */
  PVOPS_ERR_BAD_DATA = -6,    /* data from the hypervisor failed validation */
  PVOPS_ERR_TIMEOUT = -7,     /* a bounded wait ran out */
  PVOPS_ERR_BUSY = -8,        /* try again later */
  PVOPS_ERR_NO_RESOURCE = -9, /* a fixed-size table of the library is full */
  PVOPS_ERR_NO_CPU_AREA = -10 /* the CPU has no per-CPU area (pvops_set_cpu_area) */
};
/* A static string naming the status ("ok", "unsupported", ...); never NULL. */
const char *pvops_status_name(pvops_status status);

/* ---- Small types ------------------------------------------------------------------------ */

/* A set of logical CPU indexes (the kernel's numbering, 0..PVOPS_MAX_CPUS-1). */
typedef struct pvops_cpuset {
  uint64_t bits[PVOPS_MAX_CPUS / 64];
} pvops_cpuset;

typedef struct pvops_cpuid_regs {
  uint32_t eax, ebx, ecx, edx;
} pvops_cpuid_regs;

typedef struct pvops_wall_clock {
  uint64_t sec;  /* seconds since 1970-01-01 UTC */
  uint32_t nsec; /* 0..999999999 */
  uint32_t reserved;
} pvops_wall_clock;

/* A page-table entry at any level, in guest-physical form: on Xen PV the backend translates
 * frames to machine frames and back, so callers never see machine addresses. */
typedef uint64_t pvops_pte;

/* Everything a secondary CPU needs to start, for any backend. Native-style backends send
 * INIT-SIPI-SIPI to `sipi_page` (a real-mode trampoline the kernel placed below 1 MiB);
 * Xen PV builds a vCPU context from entry, stack and cr3. */
typedef struct pvops_cpu_start {
  uint64_t sipi_page;          /* physical, 4 KiB aligned, below 1 MiB */
  void (*entry)(uint32_t cpu); /* 64-bit entry, interrupts off, for backends that use it */
  uint64_t stack_top;          /* virtual */
  uint64_t cr3;                /* physical address of the top-level page table */
} pvops_cpu_start;

typedef void (*pvops_irq_handler)(uint8_t vector, void *ctx);

/* ---- The operations table ---------------------------------------------------------------- */

struct pvops_cpu_ops {
  /* CPUID as the guest should see it (a backend may filter leaves). */
  void (*cpuid)(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs *out);
  /* MSR access; the unchecked forms fault on an absent MSR like the instruction does. */
  uint64_t (*read_msr)(uint32_t msr);
  void (*write_msr)(uint32_t msr, uint64_t value);
  /* Same, but a fault becomes PVOPS_ERR_FAULT (needs pvops_fixup_fault in the #GP handler). */
  pvops_status (*read_msr_safe)(uint32_t msr, uint64_t *value);
  pvops_status (*write_msr_safe)(uint32_t msr, uint64_t value);
  /* The short pause legacy devices need between port accesses; no-op where it is not needed. */
  void (*io_delay)(void);
  /* Halt until the next interrupt, interrupt flag untouched. */
  void (*halt)(void);
  /* Enable interrupts and halt with no window in between (the idle loop's primitive). */
  void (*safe_halt)(void);
};

struct pvops_irq_ops {
  /* The interrupt-enable state, as an RFLAGS value where only bit 9 (IF) is meaningful. */
  uint64_t (*save_flags)(void);
  void (*restore_flags)(uint64_t flags);
  void (*disable)(void);
  void (*enable)(void);
  /* End of interrupt for the interrupt being handled on this CPU. */
  void (*eoi)(void);
  /* Send `vector` to every CPU in `cpus` (the caller may be in the set). */
  pvops_status (*send_ipi)(const pvops_cpuset *cpus, uint8_t vector);
  /* Deliver `vector` once on this CPU when clock_ns() reaches deadline_ns; 0 cancels. */
  pvops_status (*timer_oneshot)(uint64_t deadline_ns, uint8_t vector);
  /* Route `vector` (32..255) to `handler`; NULL unregisters. Interrupt entry code of the kernel
   * calls pvops_handle_interrupt(vector), which runs the handler and ends the interrupt. */
  pvops_status (*register_handler)(uint8_t vector, pvops_irq_handler handler, void *ctx);
};

struct pvops_mmu_ops {
  uint64_t (*read_cr3)(void);
  /* Switch address space; flushes non-global TLB entries like the instruction. */
  void (*write_cr3)(uint64_t cr3);
  /* Write an entry that is not yet live (a fresh table, or an absent entry). */
  void (*set_pte)(pvops_pte *ptep, pvops_pte value);
  /* Replace a live entry that maps `va` in the current address space. The TLB may keep the old
   * translation until a flush: the caller flushes (batched callers flush once). */
  void (*update_pte)(pvops_pte *ptep, uint64_t va, pvops_pte value);
  /* Read an entry back in guest-physical form. */
  pvops_pte (*read_pte)(const pvops_pte *ptep);
  /* Notifications: frame `pfn` becomes / stops being a page table of `level` (1 = PT .. 4 = PML4).
   * Xen PV pins such pages read-only; elsewhere a no-op. */
  pvops_status (*alloc_pt)(uint64_t pfn, uint32_t level);
  pvops_status (*release_pt)(uint64_t pfn, uint32_t level);
  void (*flush_tlb_local)(void);
  void (*flush_tlb_one)(uint64_t va);
  /* Flush [start, end) on every CPU in `cpus` (the caller may be in the set); end == 0 means all.
   * Returns once every CPU named has flushed (or, on KVM, was flagged preempted). */
  pvops_status (*flush_tlb_multi)(const pvops_cpuset *cpus, uint64_t start, uint64_t end);
  /* The hypervisor's share of a flush of [start, end) on other CPUs, for a kernel that sends
   * its own shootdown IPIs: the CPUs the hypervisor flushes without an IPI (Hyper-V's flush
   * hypercalls; on KVM, preempted vCPUs flagged to flush on entry) are removed from *cpus, and
   * the caller flushes the rest itself. The calling CPU is never handled here. Native: no-op. */
  pvops_status (*flush_tlb_remote)(pvops_cpuset *cpus, uint64_t start, uint64_t end);
  /* Lazy MMU mode: updates between begin and end may be queued; flush issues the queue now. */
  void (*lazy_begin)(void);
  void (*lazy_flush)(void);
  void (*lazy_end)(void);
  /* Identity except on Xen PV. */
  uint64_t (*phys_to_machine)(uint64_t phys);
  uint64_t (*machine_to_phys)(uint64_t machine);
};

struct pvops_time_ops {
  /* Monotonic nanoseconds from an arbitrary origin, the same on every CPU; no exit where the
   * hypervisor offers a paravirtual clock. */
  uint64_t (*clock_ns)(void);
  pvops_status (*wall_clock)(pvops_wall_clock *out);
  uint64_t (*tsc_khz)(void);
  /* Nanoseconds `cpu` was runnable but not running; 0 where not reported. */
  uint64_t (*steal_ns)(uint32_t cpu);
};

struct pvops_lock_ops {
  /* Wait while *ptr == value; may return early (the caller re-checks). */
  void (*wait)(const volatile uint8_t *ptr, uint8_t value);
  /* Wake `cpu` from wait(). */
  void (*kick)(uint32_t cpu);
  /* Whether the hypervisor has `cpu` descheduled right now (always 0 natively). */
  int (*vcpu_is_preempted)(uint32_t cpu);
};

struct pvops_hypercall_ops {
  /* The backend's raw hypercall: number plus up to 5 arguments, the hypervisor's result in
   * *result. PVOPS_ERR_UNSUPPORTED on native. */
  pvops_status (*call)(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                       int64_t *result);
};

struct pvops_platform_ops {
  /* Early debug console: never fails, never allocates. */
  void (*console_write)(const char *text, size_t len);
  /* Leave the machine with `code` as the status a test harness sees (under QEMU, the value
   * written to isa-debug-exit at port 0xf4); halts for good if nothing ends the machine. */
  void (*shutdown)(uint32_t code);
  /* Start secondary CPU `cpu` (logical index); it must call pvops_cpu_online(cpu) first thing. */
  pvops_status (*start_cpu)(uint32_t cpu, uint32_t apic_id, const pvops_cpu_start *start);
  /* Per-CPU backend set-up, run on that CPU by pvops_cpu_online(). */
  pvops_status (*cpu_init)(uint32_t cpu);
};

/* ABI 5: what a kernel did with privileged instructions of its own (Linux's pv_cpu_ops share). */
struct pvops_kernel_ops {
  /* Load the interrupt descriptor table (lidt's base and limit; 64-bit gates). Xen PV: the
   * trap table is built from the present gates of vectors 0-31 but NMI (Xen's callback), an
   * interrupt gate masking events as it would clear IF, each entered through the library's
   * stub that leaves the CPU's frame; the library's event callback runs the handlers of event
   * channels, and Xen's failsafe callback arrives as a #GP with error code 0. INVALID when a
   * gate is not a 64-bit interrupt or trap gate, or #GP has none. */
  pvops_status (*load_idt)(const void *idt, uint16_t limit);
  /* lgdt, then CS reloaded with `code_selector` and DS, ES, SS with `data_selector`.
   * Xen PV: UNSUPPORTED, Xen's GDT and its flat selectors stay. */
  pvops_status (*load_gdt)(const void *gdt, uint16_t limit, uint16_t code_selector,
                           uint16_t data_selector);
  /* ltr. Xen PV: UNSUPPORTED, a PV vCPU has no TSS. */
  pvops_status (*load_tr)(uint16_t selector);
  /* The address of the last page fault. Xen PV: vcpu_info's copy (0 until pvops_init has
   * mapped shared_info). */
  uint64_t (*read_cr2)(void);
  /* Never called: the kernel's interrupt and exception entries end with
   * `jmp pvops_interrupt_return`, which goes here with the CPU's frame (rip, cs, rflags, rsp,
   * ss) on the stack and every register restored. Native: iretq. Xen PV: HYPERVISOR_iret,
   * which also restores the event mask from the frame's IF. */
  void (*interrupt_return)(void);
  /* Write descriptor `index` of the GDT at `gdt`. Xen PV: update_descriptor, which checks it
   * (a TSS or any other system descriptor is refused: INVALID). */
  pvops_status (*write_gdt_entry)(void *gdt, uint32_t index, uint64_t descriptor);
  /* The thread-local-storage descriptors: PVOPS_TLS_ENTRIES of them at `first_index` of `gdt`,
   * as write_gdt_entry writes them. */
  pvops_status (*load_tls)(void *gdt, uint32_t first_index, const uint64_t *descriptors);
  /* The stack a transition from user mode lands on: native, rsp0 of the 64-bit TSS at `tss`;
   * Xen PV, stack_switch (`tss` unused). */
  pvops_status (*set_kernel_stack)(void *tss, uint64_t stack_top);
  /* CR0 and CR4. Xen PV: CR0's TS through fpu_taskswitch, its other bits Xen's; CR4 without
   * the bits Xen keeps for itself (PGE, PCE, PCIDE), as Linux's xen_write_cr4 writes it. */
  pvops_status (*write_cr0)(uint64_t value);
  pvops_status (*write_cr4)(uint64_t value);
  /* The task priority class (CR8's 0-15). Hyper-V with the APIC MSRs: HV_X64_MSR_TPR.
   * Xen PV: 0, and UNSUPPORTED to a write (no local APIC). */
  uint64_t (*read_tpr)(void);
  pvops_status (*write_tpr)(uint64_t priority_class);
};
#define PVOPS_TLS_ENTRIES 3
/* Jumped to in place of iretq (see kernel.interrupt_return); in the library's assembly. */
void pvops_interrupt_return(void);

struct pvops_ops {
  struct pvops_cpu_ops cpu;
  struct pvops_irq_ops irq;
  struct pvops_mmu_ops mmu;
  struct pvops_time_ops time;
  struct pvops_lock_ops lock;
  struct pvops_hypercall_ops hypercall;
  struct pvops_platform_ops platform;
  struct pvops_kernel_ops kernel;
};

/* The one table: native as the library is loaded, filled by pvops_init(). Native ops are
 * privileged, which a Xen PV kernel (ring 3) is not: there pvops_early_init() must run first. */
extern struct pvops_ops pvops_table;

/* ---- Call sites --------------------------------------------------------------------------- */

/* Every inline wrapper below records its call in the section `pvops_sites` (a name the linker
 * gives __start_pvops_sites/__stop_pvops_sites; a kernel's own linker script keeps the section
 * and names its bounds). Once the backend is chosen the library rewrites each site: the
 * native instruction itself where the op is native (cli, pushf; pop, invlpg ...), a direct call
 * of the backend's function elsewhere, NOP-padded; a site the library cannot improve keeps
 * calling through the table. Sites are rewritten again whenever pvops_patch() runs. */
struct pvops_site {
  int32_t offset; /* the site's first byte, relative to this field */
  uint16_t slot;  /* the op: its index among struct pvops_ops's pointers */
  uint8_t length; /* bytes the site spans */
  uint8_t kind;   /* enum pvops_site_kind */
};

enum pvops_site_kind {
  /* The C calling convention: a replacement may change every caller-saved register. */
  PVOPS_SITE_CALL = 0,
  /* Only %rax may change (the irq-flag ops): the unpatched site calls a thunk that saves the
   * rest, and a replacement must do the same or be an instruction sequence that keeps them. */
  PVOPS_SITE_CALLEE_SAVED = 1,
  /* pvops_hypercall: PVOPS_SITE_CALL's convention plus %rbx lost (the VMware backdoor's `in`
   * returns there), the seventh argument on the stack at (%rsp), and room for the backend's
   * own entry instruction inline: a hypercall costs what the instruction costs. */
  PVOPS_SITE_HYPERCALL = 2
};

/* Bytes of a PVOPS_SITE_HYPERCALL site. */
#define PVOPS_HYPERCALL_SITE_BYTES 96

/* How the library may write the kernel's text (pvops_env.text_access). */
enum pvops_text_access {
  PVOPS_TEXT_DO_NOT_PATCH = 0, /* leave every site calling through the table */
  PVOPS_TEXT_WRITABLE = 1,     /* the text is writable: the library stores the bytes itself */
  PVOPS_TEXT_POKE = 2          /* write through pvops_env.text_poke */
};

/* ---- Boot: what the kernel gives, what it gets back --------------------------------------- */

enum pvops_backend_id {
  PVOPS_BACKEND_NATIVE = 0,
  PVOPS_BACKEND_KVM = 1,
  PVOPS_BACKEND_XEN = 2,
  PVOPS_BACKEND_HYPERV = 3,
  PVOPS_BACKEND_VMI = 4,
  PVOPS_BACKEND_COUNT = 5
};
const char *pvops_backend_name(uint32_t backend);

/* How the kernel was entered: decides what detection may trust. */
enum pvops_entry {
  PVOPS_ENTRY_NATIVE = 0, /* BIOS/multiboot/PVH-style entry in ring 0 */
  PVOPS_ENTRY_PVH = 1,    /* PVH (hvm_start_info in hand) */
  PVOPS_ENTRY_XEN_PV = 2  /* Xen PV entry: ring 3, start_info in hand, CPUID is no guide */
};

/* What the kernel provides to the library; everything the library needs from its host. */
struct pvops_env {
  uint32_t size;              /* sizeof(struct pvops_env), for ABI growth */
  uint32_t entry;             /* enum pvops_entry */
  const char *cmdline;        /* the boot command line, for `pvops=`; may be NULL */
  const void *boot_info;      /* hvm_start_info (PVH) or start_info (Xen PV); may be NULL */
  uint32_t (*this_cpu)(void); /* logical index of the running CPU */
  uint64_t (*virt_to_phys)(const void *va); /* default: identity */
  void *(*phys_to_virt)(uint64_t pa);       /* NULL when `pa` is not mapped (the default) */
  uint32_t flags;                           /* PVOPS_ENV_* */
  /* Optional: PVOPS_VERSION as the kernel was compiled (0, what an older env holds here, is not
   * checked). pvops_init() refuses another major.minor: the header's structs and wrappers are
   * that release's. */
  uint32_t version;
  /* Optional (an older, smaller env leaves it NULL). Code the hypervisor placed in guest memory,
   * the VMI ROM, is called where this returns: a read-only, executable mapping of [pa, pa + len),
   * contiguous, valid from the early page tables on for as long as the library runs, or NULL
   * when the kernel will not map it. A kernel whose direct map is NX needs it; without the
   * callback the library executes through phys_to_virt. */
  const void *(*map_exec)(uint64_t pa, uint64_t len);
  /* Required: PVOPS_MAX_CPUS as the kernel was compiled. pvops_init() refuses an env whose
   * value differs from the library's: every pvops_cpuset would have another size. */
  uint32_t max_cpus;
  /* Required: PVOPS_CPU_AREA_SIZE as the kernel was compiled, the size of the per-CPU areas
   * it hands over; pvops_init() refuses areas smaller than the library needs. */
  uint32_t cpu_area_size;
  /* Optional: call-site patching (see "Call sites"). With PVOPS_TEXT_DO_NOT_PATCH, what an
   * older env gets, every site keeps calling through the table and everything still works. */
  uint32_t text_access; /* enum pvops_text_access */
  uint32_t reserved2;
  const struct pvops_site *sites_begin; /* the kernel's pvops_sites section */
  const struct pvops_site *sites_end;
  /* Writes `len` bytes at `addr` in the kernel's text, with no other CPU running it (Linux's
   * text_poke_early); used with PVOPS_TEXT_POKE. */
  void (*text_poke)(void *addr, const void *bytes, size_t len);
};

/* pvops_env.flags */
/* The kernel programs the local APIC itself (task priority, spurious vector, LVT): the library
 * only reads each CPU's APIC ID, and writes the APIC only for the ops the kernel routes to it
 * (EOI, IPIs, the native one-shot timer). */
#define PVOPS_ENV_KERNEL_OWNS_APIC (1u << 0)

#define PVOPS_MAX_CANDIDATES 8
#define PVOPS_REASON_LEN 120

/* One hypervisor interface seen at detection. */
struct pvops_candidate {
  uint32_t backend;   /* enum pvops_backend_id */
  uint32_t priority;  /* higher wins; 0 = absent */
  uint32_t base_leaf; /* 0x400000xx base where found, 0 if not CPUID-based */
  uint32_t max_leaf;
  char signature[16]; /* NUL-terminated */
};

/* What the last pass over the call sites did (pvops_info.patch). */
struct pvops_patch_report {
  uint32_t passes;            /* how many passes ran (pvops_init's, and one per pvops_patch()) */
  uint32_t sites;             /* records seen */
  uint32_t inlined;           /* sites that now hold the op's own instructions */
  uint32_t direct;            /* sites that now call the backend's function directly */
  uint32_t table;             /* sites left calling through the table (or the thunk that does) */
  uint32_t refused;           /* records that failed validation, left untouched */
  uint32_t text_access;       /* enum pvops_text_access the pass ran with */
  char why[PVOPS_REASON_LEN]; /* why sites stayed on the table; "" if none did */
};

/* What pvops_init() chose and why. */
struct pvops_info {
  uint32_t abi_version;
  uint32_t backend; /* enum pvops_backend_id */
  uint32_t entry;   /* enum pvops_entry */
  uint32_t base_leaf;
  uint32_t max_leaf;
  uint32_t version;     /* the hypervisor's version, backend-defined (Xen: major << 16 | minor) */
  uint32_t features[4]; /* backend-defined words, named by pvops_feature_word_name() */
  char signature[16];
  char reason[PVOPS_REASON_LEN];   /* why this backend */
  char fallback[PVOPS_REASON_LEN]; /* why a higher candidate was not used; "" if none */
  char notes[PVOPS_REASON_LEN];    /* paths of the chosen backend left native, and why */
  uint32_t paravirt;               /* PVOPS_PV_*: the ops the backend took over from native */
  uint32_t candidate_count;
  struct pvops_candidate candidates[PVOPS_MAX_CANDIDATES];
  struct pvops_patch_report patch; /* the last pass over the call sites */
  /* ABI 4: moves between hypervisors (pvops_suspend / pvops_resume). */
  uint32_t moves;            /* resumes after a mover saved the guest (the mailbox's hops) */
  uint32_t resumes;          /* every pvops_resume that completed, same-VM self-tests too */
  uint32_t previous_backend; /* enum pvops_backend_id before the last resume */
  uint32_t move_state;       /* enum pvops_move_state */
  uint64_t move_last_ns;     /* the last clock_ns reading before the last suspend */
  uint64_t move_first_ns;    /* where clock_ns went on after it: last + own + pause */
  uint64_t move_pause_ns;    /* the mover's pause believed (the mailbox's, or 0: move_reason) */
  char move_reason[PVOPS_REASON_LEN]; /* what the last suspend/resume did, or why it failed */
  /* The guest's own time between move_last_ns and the re-based clock (releasing, the mover's
   * `out`, choosing again), by the TSC the mover keeps running without the pause; 0 where the
   * TSC did not move forward believably (move_reason says so). */
  uint64_t move_own_ns;
};

/* pvops_info.paravirt: one bit per op (or group of ops) the chosen backend replaced, so that a
 * kernel routes a path through the library only where the hypervisor does it better, and keeps
 * its own code for the rest. */
enum pvops_paravirt_op {
  PVOPS_PV_IO_DELAY = 1u << 0,    /* cpu.io_delay */
  PVOPS_PV_HALT = 1u << 1,        /* cpu.halt, cpu.safe_halt */
  PVOPS_PV_IRQ_FLAGS = 1u << 2,   /* irq.save_flags .. irq.enable */
  PVOPS_PV_EOI = 1u << 3,         /* irq.eoi */
  PVOPS_PV_SEND_IPI = 1u << 4,    /* irq.send_ipi */
  PVOPS_PV_TIMER = 1u << 5,       /* irq.timer_oneshot */
  PVOPS_PV_PAGE_TABLES = 1u << 6, /* mmu: cr3, entries, page-table notifications, lazy mode */
  PVOPS_PV_TLB_FLUSH = 1u << 7,   /* mmu.flush_tlb_remote: some CPUs flushed without an IPI */
  PVOPS_PV_CLOCK = 1u << 8,       /* time.clock_ns */
  PVOPS_PV_WALL_CLOCK = 1u << 9,  /* time.wall_clock */
  PVOPS_PV_TSC_KHZ = 1u << 10,    /* time.tsc_khz: the rate is stated, not measured */
  PVOPS_PV_STEAL = 1u << 11,      /* time.steal_ns */
  PVOPS_PV_LOCK = 1u << 12,       /* lock.wait, lock.kick */
  PVOPS_PV_PREEMPTED = 1u << 13,  /* lock.vcpu_is_preempted */
  PVOPS_PV_CONSOLE = 1u << 14,    /* platform.console_write */
  PVOPS_PV_CPU_START = 1u << 15,  /* platform.start_cpu */
  PVOPS_PV_CPU_TABLES = 1u << 16  /* kernel: descriptor tables and CR2 */
};
/* A static name for one PVOPS_PV_* bit ("clock", "send_ipi", ...); NULL for any other value. */
const char *pvops_paravirt_op_name(uint32_t bit);

/* Detect, select and install a backend. Always leaves a working table (native at worst);
 * returns PVOPS_OK unless `env` is unusable. Boot CPU only, before any other pvops call but
 * the console. The boot CPU is then online as CPU 0 (a failure of its per-CPU set-up is
 * recorded in the info's notes). */
pvops_status pvops_init(const struct pvops_env *env);
/* Callable first thing on any entry (enum pvops_entry), before the kernel clears its .bss and
 * before pvops_init(): installs the ops that work on that entry, so that the table is valid from
 * the kernel's first instruction. Native and PVH: the native table stays, PVOPS_OK. Xen PV
 * (`boot_info` = start_info): console_io as the console, the exit port or a reboot as shutdown,
 * the vcpu_info mask as the interrupt flag and the kernel ops, PVOPS_OK; UNSUPPORTED when the
 * hypercall page is not filled (nothing changed) or Xen is not built in, BAD_DATA when
 * start_info fails its checks (the console and a reboot installed all the same).
 * pvops_init() replaces them all with the chosen backend's. */
pvops_status pvops_early_init(uint32_t entry, const void *boot_info);
/* The command line handed over at an entry whose boot structure the library reads
 * (PVOPS_ENTRY_XEN_PV: start_info, checked as pvops_init will check it). NULL when the
 * structure passes, with *cmdline its text ("" when none, or not terminated within its field);
 * otherwise a static sentence saying why, and *cmdline "". A PVH kernel reads hvm_start_info
 * itself (<pvops/pvh.h>): its addresses are physical. Callable before pvops_init. */
const char *pvops_boot_cmdline(uint32_t entry, const void *boot_info, const char **cmdline);
/* The entry's name as boot lines print it: "native", "pvh", "xen-pv" or "other". */
static inline const char *pvops_entry_name(uint32_t entry) {
  return entry == PVOPS_ENTRY_NATIVE   ? "native"
         : entry == PVOPS_ENTRY_PVH    ? "pvh"
         : entry == PVOPS_ENTRY_XEN_PV ? "xen-pv"
                                       : "other";
}
const struct pvops_info *pvops_get_info(void);
/* What features[index] means for `backend` (e.g. "hints"); NULL when that word is unused. */
const char *pvops_feature_word_name(uint32_t backend, uint32_t index);

/* Where user space may read the clock without entering the kernel, as a vDSO does: a page the
 * kernel may map read-only into every process, or the TSC itself. A page holds the
 * hypervisor's clock data and nothing else of the library's. */
enum pvops_user_clock_kind {
  PVOPS_USER_CLOCK_NONE = 0,
  /* CPU 0's struct pvclock_vcpu_time_info (KVM's and Xen's vcpu_time_info) at offset 0, read
   * by the pvclock protocol (version odd: retry). Valid from every CPU only while its flags hold
   * PVCLOCK_TSC_STABLE_BIT (bit 0): a reader checks that bit on each read. */
  PVOPS_USER_CLOCK_PVCLOCK = 1,
  /* Hyper-V's reference TSC page (sequence, scale, offset; 100 ns units, TLFS 12.7); a
   * sequence of 0 means "use the TIME_REF_COUNT MSR", which user space cannot read. */
  PVOPS_USER_CLOCK_HV_TSC_PAGE = 2,
  /* The clock is the TSC itself at pvops_tsc_khz(): user space reads it with rdtsc, and there
   * is no page. `stable` is 1 where the hypervisor keeps every vCPU's TSC in step. */
  PVOPS_USER_CLOCK_TSC = 3
};

struct pvops_user_clock {
  uint32_t kind;      /* enum pvops_user_clock_kind */
  uint32_t stable;    /* 1: readable from every CPU as the page stands now */
  const void *page;   /* page-aligned, PVOPS_PAGE_SIZE bytes; NULL for the TSC */
  uint64_t page_phys; /* its guest-physical address, for the kernel's mapping; 0 for the TSC */
};

/* Fills `out` for the installed backend's clock. PVOPS_ERR_UNSUPPORTED (kind NONE) where user
 * space cannot read the backend's clock (native, a clock the hypervisor withheld);
 * PVOPS_ERR_BAD_DATA when the hypervisor's data there does not validate. */
pvops_status pvops_get_user_clock(struct pvops_user_clock *out);

/* Per-CPU memory comes from the kernel: everything the library and its backends keep for one
 * CPU (pvclock and steal-time areas, Hyper-V's VP assist and hypercall argument pages, Xen's
 * ports and multicall batch, ...) lives in one area of PVOPS_CPU_AREA_SIZE bytes, aligned to
 * PVOPS_PAGE_SIZE (Linux: DEFINE_PER_CPU_PAGE_ALIGNED). The boot CPU's is the library's own
 * (pvops_init runs before any allocator); the kernel hands each secondary CPU its area before
 * that CPU's pvops_cpu_online(), which fails with PVOPS_ERR_NO_CPU_AREA without one.
 * The library zeroes the area and keeps it for good: PVOPS_ERR_INVALID for cpu 0 or past
 * PVOPS_MAX_CPUS, a NULL or misaligned area (virtual or, by env->virt_to_phys, physical), or
 * another area for a CPU already online (the same one again is accepted, untouched: a kernel
 * may hand it over each time the CPU comes up). Call it after pvops_init() (which forgets
 * earlier areas) and before that CPU's pvops_start_cpu() (Xen PV records the new vCPU there) or
 * pvops_cpu_online(), from any CPU. */
#define PVOPS_CPU_AREA_SIZE (4u * PVOPS_PAGE_SIZE)
pvops_status pvops_set_cpu_area(uint32_t cpu, void *area);

/* Run on each secondary CPU as it starts, before it uses the table. May be run again on an
 * online CPU, with interrupts off, to redo its set-up: a kernel that maps its APIC after
 * pvops_init() does so for the boot CPU once the APIC is mapped. */
pvops_status pvops_cpu_online(uint32_t cpu);

/* ---- The direct map ------------------------------------------------------------------------ */

/* Maps guest-physical [0, pages * 4 KiB) at `va` with 4 KiB pages, writing every entry through
 * the table (set_pte, alloc_pt, the lazy batches), so one call builds it natively and where the
 * hypervisor owns page tables (Xen PV: a frame that is a page table is mapped read-only, the
 * loader's tables and these alike, and each table is pinned before it is linked). `va` is
 * 512 GiB aligned and its top-level entry unused; the running top-level table is reached
 * through the env's phys_to_virt or the loader's own mapping. `tables` is zeroed, page-aligned,
 * physically contiguous memory (e.g. the kernel's .bss) of table_bytes: one page for the L3,
 * one per 1 GiB for the L2s, one per 2 MiB for the L1s; `pages` is cut to what they hold, and
 * 0 asks for all the memory the loader gave (Xen PV: start_info's nr_pages; elsewhere unknown:
 * PVOPS_ERR_INVALID).
 * *mapped_pages says how many pages are mapped (0 on failure; the tables may then be left
 * pinned, not to be used again). After pvops_init(). */
pvops_status pvops_build_direct_map(uint64_t va, void *tables, uint64_t table_bytes, uint64_t pages,
                                    uint64_t *mapped_pages);

/* ---- Memory given back to the hypervisor and taken again ---------------------------------- */

/* Gives the guest-physical frames pfns[0..n) back to the hypervisor (a balloon driver's
 * inflation): the kernel no longer uses them, and the library unmaps them where it knows a
 * mapping (Xen PV: the env's phys_to_virt and the alias windows). Populating takes memory for
 * the same frames again and maps it back. Both check every frame before changing any; a
 * hypervisor that does only part of the request makes the call fail with the rest left as it
 * was (on a populate the frames done stay populated). PVOPS_ERR_UNSUPPORTED on backends
 * without a reservation (every backend but Xen). After pvops_init(). */
pvops_status pvops_memory_release(const uint64_t *pfns, uint32_t n);
pvops_status pvops_memory_populate(const uint64_t *pfns, uint32_t n);
/* The pages the hypervisor counts as the guest's now (Xen: XENMEM_current_reservation). */
pvops_status pvops_memory_reservation(uint64_t *pages);

/* Rewrites the env's call sites again (the kernel's section holds the library's own too) for
 * the ops now in the table, as pvops_init() did after choosing; for a kernel whose APIC mode or
 * mapping changed after pvops_init(), or after the backend was chosen again. No other CPU may be
 * running the sites meanwhile. Returns PVOPS_ERR_UNSUPPORTED when the env forbids patching. */
pvops_status pvops_patch(void);

/* ---- Moving a running guest to another hypervisor (docs/guest-protocol.md, <pvops/move.h>) -- */

/* A library built without suspend and resume (CMake PVOPS_MOVE off, the default for the shipped
 * libpvops.a) has these calls too: they answer PVOPS_ERR_UNSUPPORTED (0 for the predicates). */

/* The vector the library reserves for its CPU rendezvous: the kernel routes it to
 * pvops_handle_interrupt like any other (as it does 0xfd, the TLB shootdown). */
#define PVOPS_VECTOR_PARK 0xfc

enum pvops_move_state {
  PVOPS_MOVE_RUNNING = 0,  /* on a backend; pvops_suspend() may be called */
  PVOPS_MOVE_SUSPENDED = 1 /* pvops_suspend() succeeded: pvops_resume() is next */
};

/* Offers the library a move mailbox: one page of the kernel's memory, page aligned and below
 * 4 GiB physically (by env->virt_to_phys), kept for good, and the vector (32..255, routed to
 * pvops_handle_interrupt) the mover raises on CPU 0 for a request. Probes the move port first:
 * PVOPS_ERR_UNSUPPORTED when no mover answers (QEMU, Xen) or the guest entered as Xen PV (the
 * port is not touched there); PVOPS_ERR_INVALID for a bad page or vector. After pvops_init(). */
pvops_status pvops_move_register(struct pvops_move_mailbox *mailbox, uint8_t vector);
/* 1 when the mover asked for a move (its vector arrived, or the mailbox says so) and no
 * pvops_suspend() has answered it yet; the kernel polls this from a safe point. */
int pvops_move_pending(void);
/* Asks the mover for the next hop of its plan now (writes PVOPS_MOVE_PORT_ASK); the request
 * then arrives as usual. PVOPS_ERR_UNSUPPORTED without a registered mailbox. */
pvops_status pvops_move_ask(void);
/* 1 once the mover says its plan has no hop left (mailbox plan_done); 0 otherwise. */
int pvops_move_plan_done(void);

/* Quiesces the backend on the boot CPU (CPU 0) with no other pvops call in flight: every other
 * online CPU is parked through PVOPS_VECTOR_PARK (it cancels its one-shot timer, releases what
 * the hypervisor holds for it, and spins with interrupts off), then the boot CPU releases its
 * own and the VM-wide state, puts the native table (and native call sites) in place, and, with
 * a mailbox registered, tells the mover "ready". Returns with interrupts off, on the new VM
 * after a move or on the same one without a mover: call pvops_resume() next, and nothing else.
 * A CPU that does not park within a second, or fails its release, makes it fail with
 * PVOPS_ERR_TIMEOUT or that CPU's status (info move_reason says which), the guest still running
 * on the old backend with the interrupt flag as it was. PVOPS_ERR_UNSUPPORTED under Xen PV. */
pvops_status pvops_suspend(void);
/* After pvops_suspend(): detects and selects again (the same rules and boot options as
 * pvops_init), installs the new backend, brings the boot CPU online on it, patches the call
 * sites again, releases the parked CPUs (each runs pvops_cpu_online on the new backend), re-arms
 * each CPU's pending one-shot timer, and restores the interrupt flag. Handlers and counters are
 * kept. clock_ns() goes on from the last reading before the suspend plus the mover's pause
 * (0 without a mover, or when the pause is above PVOPS_MOVE_MAX_PAUSE_NS); it never goes back.
 * Returns the first CPU's failure to come online (the move_reason names it), else PVOPS_OK;
 * PVOPS_ERR_INVALID without a suspend to resume from. Kernels that map a user clock page: it
 * shows the hypervisor's time without the carried offset, so pvops_get_user_clock() says
 * unsupported once a resume carried one. */
pvops_status pvops_resume(void);

/* The kernel's interrupt entry calls this for vectors it routed to the library. */
void pvops_handle_interrupt(uint8_t vector);

/* The kernel's #GP/#PF handler calls this first: if the fault hit one of the library's *_safe
 * accessors, *rip is moved to its recovery point and 1 is returned. */
int pvops_fixup_fault(uint64_t *rip, uint8_t vector);

/* Counters the library keeps per backend path (hypercalls issued, exits avoided). */
#define PVOPS_MAX_COUNTERS 32
struct pvops_counter {
  const char *name; /* static, e.g. "hypercalls" */
  uint64_t value;
};
/* Copies up to `max` counters (every counter the library keeps, zero or not); returns how many. */
uint32_t pvops_get_counters(struct pvops_counter *out, uint32_t max);
/* One counter by its name ("hypercalls", ...); 0 for a name the library does not keep. */
uint64_t pvops_get_counter(const char *name);

/* ---- Inline wrappers: the only way callers use the table ---------------------------------- */

/* Each wrapper's call is a patchable site (see "Call sites") where PVOPS_PATCHABLE is 1: the
 * default for x86-64 freestanding code (a kernel; it must be built with -mno-red-zone, as
 * kernels are, since a site is a call the compiler does not see). Defining PVOPS_NO_PATCHING,
 * or PVOPS_PATCHABLE as 0, makes every wrapper a plain C call through the table; a kernel that
 * is not built -ffreestanding (Linux) defines PVOPS_PATCHABLE as 1. */
#if defined(PVOPS_NO_PATCHING)
#undef PVOPS_PATCHABLE
#define PVOPS_PATCHABLE 0
#elif !defined(PVOPS_PATCHABLE)
#if defined(__x86_64__) && !__STDC_HOSTED__
#define PVOPS_PATCHABLE 1
#else
#define PVOPS_PATCHABLE 0
#endif
#endif

#if PVOPS_PATCHABLE

/* The record of the site between local labels 771 and 772. */
#define PVOPS__RECORD(kind)             \
  ".pushsection pvops_sites, \"a\"\n\t" \
  ".balign 4\n\t"                       \
  ".long 771b - .\n\t"                  \
  ".short %c[pvops_slot]\n\t"           \
  ".byte 772b - 771b, " kind "\n\t"     \
  ".popsection\n\t"
#define PVOPS__SLOT(op) [pvops_slot] "i"(offsetof(struct pvops_ops, op) / sizeof(void *))

/* A PVOPS_SITE_CALL site: `call *pvops_table+OFFSET(%rip)` (6 bytes) then `pad`; arguments in
 * %rdi, %rsi, %rdx, %rcx, the result in %rax, every caller-saved register lost. */
#define PVOPS__SITE(op, pad, ...)                                                                 \
  __extension__({                                                                                 \
    uint64_t pvops__ax, pvops__di, pvops__si, pvops__dx, pvops__cx;                               \
    __asm__ volatile(                                                                             \
        "771:\n\tcall *pvops_table+%c[pvops_offset](%%rip)\n\t" pad "772:\n\t" PVOPS__RECORD("0") \
        : "=a"(pvops__ax), "=D"(pvops__di), "=S"(pvops__si), "=d"(pvops__dx), "=c"(pvops__cx)     \
        : [pvops_offset] "i"(offsetof(struct pvops_ops, op)), PVOPS__SLOT(op), ##__VA_ARGS__      \
        : "r8", "r9", "r10", "r11", "memory", "cc");                                              \
    (void)pvops__di, (void)pvops__si, (void)pvops__dx, (void)pvops__cx;                           \
    pvops__ax;                                                                                    \
  })
#define PVOPS__ARG0(a) "1"((uint64_t)(a))
#define PVOPS__ARG1(a) "2"((uint64_t)(a))
#define PVOPS__ARG2(a) "3"((uint64_t)(a))
#define PVOPS__ARG3(a) "4"((uint64_t)(a))
#define PVOPS__CALL0(type, op) ((type)PVOPS__SITE(op, ""))
#define PVOPS__CALL1(type, op, a) ((type)PVOPS__SITE(op, "", PVOPS__ARG0(a)))
#define PVOPS__CALL2(type, op, a, b) ((type)PVOPS__SITE(op, "", PVOPS__ARG0(a), PVOPS__ARG1(b)))
#define PVOPS__CALL3(type, op, a, b, c) \
  ((type)PVOPS__SITE(op, "", PVOPS__ARG0(a), PVOPS__ARG1(b), PVOPS__ARG2(c)))
#define PVOPS__CALL4(type, op, a, b, c, d) \
  ((type)PVOPS__SITE(op, "", PVOPS__ARG0(a), PVOPS__ARG1(b), PVOPS__ARG2(c), PVOPS__ARG3(d)))

/* A PVOPS_SITE_CALLEE_SAVED site: `call THUNK` (5 bytes), the thunk saving every register but
 * %rax around the call through the table; the argument, if any, in %rdi. */
#define PVOPS__CALLEE_SAVED(op, thunk, ...)                                  \
  __extension__({                                                            \
    uint64_t pvops__ax;                                                      \
    __asm__ volatile("771:\n\tcall " thunk "\n\t772:\n\t" PVOPS__RECORD("1") \
                     : "=a"(pvops__ax)                                       \
                     : PVOPS__SLOT(op), ##__VA_ARGS__                        \
                     : "memory", "cc");                                      \
    pvops__ax;                                                               \
  })

#else /* !PVOPS_PATCHABLE: plain calls through the table */

/* Each call is written (pvops_table.group.op)(...): a kernel may define a function-like macro
 * of an op's name (Linux has safe_halt() and set_pte()), which must not expand here. */
#define PVOPS__CALL0(type, op) ((type)(pvops_table.op)())
#define PVOPS__CALL1(type, op, a) ((type)(pvops_table.op)(a))
#define PVOPS__CALL2(type, op, a, b) ((type)(pvops_table.op)(a, b))
#define PVOPS__CALL3(type, op, a, b, c) ((type)(pvops_table.op)(a, b, c))
#define PVOPS__CALL4(type, op, a, b, c, d) ((type)(pvops_table.op)(a, b, c, d))

#endif /* PVOPS_PATCHABLE */

static inline void pvops_cpuid(uint32_t leaf, uint32_t subleaf, pvops_cpuid_regs *out) {
  PVOPS__CALL3(void, cpu.cpuid, leaf, subleaf, out);
}
static inline uint64_t pvops_read_msr(uint32_t msr) {
  return PVOPS__CALL1(uint64_t, cpu.read_msr, msr);
}
static inline void pvops_write_msr(uint32_t msr, uint64_t value) {
  PVOPS__CALL2(void, cpu.write_msr, msr, value);
}
static inline pvops_status pvops_read_msr_safe(uint32_t msr, uint64_t *value) {
  return PVOPS__CALL2(pvops_status, cpu.read_msr_safe, msr, value);
}
static inline pvops_status pvops_write_msr_safe(uint32_t msr, uint64_t value) {
  return PVOPS__CALL2(pvops_status, cpu.write_msr_safe, msr, value);
}
static inline void pvops_io_delay(void) { PVOPS__CALL0(void, cpu.io_delay); }
static inline void pvops_halt(void) { PVOPS__CALL0(void, cpu.halt); }
static inline void pvops_safe_halt(void) { PVOPS__CALL0(void, cpu.safe_halt); }

/* The irq-flag ops: in the patchable form, callee-saved sites. */
#if PVOPS_PATCHABLE
static inline uint64_t pvops_save_flags(void) {
  return PVOPS__CALLEE_SAVED(irq.save_flags, "pvops_thunk_save_flags");
}
static inline void pvops_restore_flags(uint64_t flags) {
  (void)PVOPS__CALLEE_SAVED(irq.restore_flags, "pvops_thunk_restore_flags", "D"(flags));
}
static inline void pvops_irq_disable(void) {
  (void)PVOPS__CALLEE_SAVED(irq.disable, "pvops_thunk_irq_disable");
}
static inline void pvops_irq_enable(void) {
  (void)PVOPS__CALLEE_SAVED(irq.enable, "pvops_thunk_irq_enable");
}
#else
static inline uint64_t pvops_save_flags(void) { return (pvops_table.irq.save_flags)(); }
static inline void pvops_restore_flags(uint64_t flags) { (pvops_table.irq.restore_flags)(flags); }
static inline void pvops_irq_disable(void) { (pvops_table.irq.disable)(); }
static inline void pvops_irq_enable(void) { (pvops_table.irq.enable)(); }
#endif
static inline uint64_t pvops_irq_save(void) {
  uint64_t flags = pvops_save_flags();
  pvops_irq_disable();
  return flags;
}

static inline void pvops_eoi(void) {
#if PVOPS_PATCHABLE
  /* 11 bytes: room for the native EOI as one instruction sequence (x2APIC: the EOI MSR write;
   * xAPIC: one store to the EOI register). */
  (void)PVOPS__SITE(irq.eoi, ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t");
#else
  (pvops_table.irq.eoi)();
#endif
}
static inline pvops_status pvops_send_ipi(const pvops_cpuset *cpus, uint8_t vector) {
  return PVOPS__CALL2(pvops_status, irq.send_ipi, cpus, vector);
}
static inline pvops_status pvops_timer_oneshot(uint64_t deadline_ns, uint8_t vector) {
  return PVOPS__CALL2(pvops_status, irq.timer_oneshot, deadline_ns, vector);
}
static inline pvops_status pvops_register_handler(uint8_t vector, pvops_irq_handler handler,
                                                  void *ctx) {
  return PVOPS__CALL3(pvops_status, irq.register_handler, vector, handler, ctx);
}

static inline uint64_t pvops_read_cr3(void) { return PVOPS__CALL0(uint64_t, mmu.read_cr3); }
static inline void pvops_write_cr3(uint64_t cr3) { PVOPS__CALL1(void, mmu.write_cr3, cr3); }
static inline void pvops_set_pte(pvops_pte *ptep, pvops_pte value) {
  PVOPS__CALL2(void, mmu.set_pte, ptep, value);
}
static inline void pvops_update_pte(pvops_pte *ptep, uint64_t va, pvops_pte value) {
  PVOPS__CALL3(void, mmu.update_pte, ptep, va, value);
}
static inline pvops_pte pvops_read_pte(const pvops_pte *ptep) {
  return PVOPS__CALL1(pvops_pte, mmu.read_pte, ptep);
}
static inline pvops_status pvops_alloc_pt(uint64_t pfn, uint32_t level) {
  return PVOPS__CALL2(pvops_status, mmu.alloc_pt, pfn, level);
}
static inline pvops_status pvops_release_pt(uint64_t pfn, uint32_t level) {
  return PVOPS__CALL2(pvops_status, mmu.release_pt, pfn, level);
}
static inline void pvops_flush_tlb_local(void) { PVOPS__CALL0(void, mmu.flush_tlb_local); }
static inline void pvops_flush_tlb_one(uint64_t va) { PVOPS__CALL1(void, mmu.flush_tlb_one, va); }
static inline pvops_status pvops_flush_tlb_multi(const pvops_cpuset *cpus, uint64_t start,
                                                 uint64_t end) {
  return PVOPS__CALL3(pvops_status, mmu.flush_tlb_multi, cpus, start, end);
}
static inline pvops_status pvops_flush_tlb_remote(pvops_cpuset *cpus, uint64_t start,
                                                  uint64_t end) {
  return PVOPS__CALL3(pvops_status, mmu.flush_tlb_remote, cpus, start, end);
}
static inline void pvops_lazy_mmu_begin(void) { PVOPS__CALL0(void, mmu.lazy_begin); }
static inline void pvops_lazy_mmu_flush(void) { PVOPS__CALL0(void, mmu.lazy_flush); }
static inline void pvops_lazy_mmu_end(void) { PVOPS__CALL0(void, mmu.lazy_end); }
static inline uint64_t pvops_phys_to_machine(uint64_t phys) {
  return PVOPS__CALL1(uint64_t, mmu.phys_to_machine, phys);
}
static inline uint64_t pvops_machine_to_phys(uint64_t machine) {
  return PVOPS__CALL1(uint64_t, mmu.machine_to_phys, machine);
}

static inline uint64_t pvops_clock_ns(void) { return PVOPS__CALL0(uint64_t, time.clock_ns); }
static inline pvops_status pvops_get_wall_clock(pvops_wall_clock *out) {
  return PVOPS__CALL1(pvops_status, time.wall_clock, out);
}
static inline uint64_t pvops_tsc_khz(void) { return PVOPS__CALL0(uint64_t, time.tsc_khz); }
static inline uint64_t pvops_steal_ns(uint32_t cpu) {
  return PVOPS__CALL1(uint64_t, time.steal_ns, cpu);
}

static inline void pvops_lock_wait(const volatile uint8_t *ptr, uint8_t value) {
  PVOPS__CALL2(void, lock.wait, ptr, value);
}
static inline void pvops_lock_kick(uint32_t cpu) { PVOPS__CALL1(void, lock.kick, cpu); }
static inline int pvops_vcpu_is_preempted(uint32_t cpu) {
  return PVOPS__CALL1(int, lock.vcpu_is_preempted, cpu);
}

static inline pvops_status pvops_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                                           uint64_t a3, uint64_t a4, int64_t *result) {
#if PVOPS_PATCHABLE
  /* Seven arguments: the last goes on the stack, around the site. */
  uint64_t ax, di, si, dx, cx;
  register uint64_t r8 __asm__("r8") = a3;
  register uint64_t r9 __asm__("r9") = a4;
  /* Unpatched, the call jumps over the room the backend's inline form may take. */
  __asm__ volatile("pushq %[result]\n\t"
                   "771:\n\tcall *pvops_table+%c[pvops_offset](%%rip)\n\t"
                   ".byte 0xeb, %c[pvops_room] - 8\n\t" /* jmp 772f: call is 6 bytes */
                   ".fill %c[pvops_room] - 8, 1, 0xcc\n"
                   "772:\n\t" PVOPS__RECORD("2") "addq $8, %%rsp"
                   : "=a"(ax), "=D"(di), "=S"(si), "=d"(dx), "=c"(cx), "+r"(r8), "+r"(r9)
                   : [pvops_offset] "i"(offsetof(struct pvops_ops, hypercall.call)),
                     PVOPS__SLOT(hypercall.call), [pvops_room] "i"(PVOPS_HYPERCALL_SITE_BYTES),
                     "1"(nr), "2"(a0), "3"(a1), "4"(a2), [result] "r"(result)
                   : "rbx", "r10", "r11", "memory", "cc");
  (void)di, (void)si, (void)dx, (void)cx;
  return (pvops_status)ax;
#else
  return (pvops_table.hypercall.call)(nr, a0, a1, a2, a3, a4, result);
#endif
}

static inline void pvops_console_write(const char *text, size_t len) {
  PVOPS__CALL2(void, platform.console_write, text, len);
}
static inline void pvops_shutdown(uint32_t code) { PVOPS__CALL1(void, platform.shutdown, code); }
static inline pvops_status pvops_start_cpu(uint32_t cpu, uint32_t apic_id,
                                           const pvops_cpu_start *start) {
  return PVOPS__CALL3(pvops_status, platform.start_cpu, cpu, apic_id, start);
}

static inline pvops_status pvops_load_idt(const void *idt, uint16_t limit) {
  return PVOPS__CALL2(pvops_status, kernel.load_idt, idt, limit);
}
static inline pvops_status pvops_load_gdt(const void *gdt, uint16_t limit, uint16_t code_selector,
                                          uint16_t data_selector) {
  return PVOPS__CALL4(pvops_status, kernel.load_gdt, gdt, limit, code_selector, data_selector);
}
static inline pvops_status pvops_load_tr(uint16_t selector) {
  return PVOPS__CALL1(pvops_status, kernel.load_tr, selector);
}
static inline uint64_t pvops_read_cr2(void) { return PVOPS__CALL0(uint64_t, kernel.read_cr2); }
static inline pvops_status pvops_write_gdt_entry(void *gdt, uint32_t index, uint64_t descriptor) {
  return PVOPS__CALL3(pvops_status, kernel.write_gdt_entry, gdt, index, descriptor);
}
static inline pvops_status pvops_load_tls(void *gdt, uint32_t first_index,
                                          const uint64_t *descriptors) {
  return PVOPS__CALL3(pvops_status, kernel.load_tls, gdt, first_index, descriptors);
}
static inline pvops_status pvops_set_kernel_stack(void *tss, uint64_t stack_top) {
  return PVOPS__CALL2(pvops_status, kernel.set_kernel_stack, tss, stack_top);
}
static inline pvops_status pvops_write_cr0(uint64_t value) {
  return PVOPS__CALL1(pvops_status, kernel.write_cr0, value);
}
static inline pvops_status pvops_write_cr4(uint64_t value) {
  return PVOPS__CALL1(pvops_status, kernel.write_cr4, value);
}
static inline uint64_t pvops_read_tpr(void) { return PVOPS__CALL0(uint64_t, kernel.read_tpr); }
static inline pvops_status pvops_write_tpr(uint64_t priority_class) {
  return PVOPS__CALL1(pvops_status, kernel.write_tpr, priority_class);
}

/* Cpuset helpers. */
static inline void pvops_cpuset_clear(pvops_cpuset *set) {
  for (unsigned i = 0; i < PVOPS_MAX_CPUS / 64; ++i) set->bits[i] = 0;
}
static inline void pvops_cpuset_add(pvops_cpuset *set, uint32_t cpu) {
  if (cpu < PVOPS_MAX_CPUS) set->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}
static inline void pvops_cpuset_remove(pvops_cpuset *set, uint32_t cpu) {
  if (cpu < PVOPS_MAX_CPUS) set->bits[cpu / 64] &= ~((uint64_t)1 << (cpu % 64));
}
static inline int pvops_cpuset_has(const pvops_cpuset *set, uint32_t cpu) {
  return cpu < PVOPS_MAX_CPUS && ((set->bits[cpu / 64] >> (cpu % 64)) & 1u);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PVOPS_PVOPS_H */
