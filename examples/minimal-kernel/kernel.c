// SPDX-License-Identifier: MIT
/*
 * A minimal kernel on the installed pvops package: it initializes the library, prints what it
 * detected, checks that the clock moves forward and that an IPI to itself arrives, and ends the
 * machine with the pass or fail code. Its output follows the reference guest's line protocol
 * (docs/guest-protocol.md), so `pvops-run --env=ENV --image=minimal-kernel.elf` judges it.
 */
#include <stddef.h>
#include <stdint.h>

#include <pvops/pvh.h>
#include <pvops/pvops.h>
#include <pvops/xen.h>

#include "interrupts.h"

_Static_assert(VECTOR_XEN_CALLBACK == PVOPS_XEN_HVM_CALLBACK_VECTOR, "interrupts.h is stale");
_Static_assert(VECTOR_PARK == PVOPS_VECTOR_PARK, "interrupts.h is stale");

/* The codes the environments' isa-debug-exit turns into QEMU's status (code << 1 | 1). */
enum { EXIT_PASS = 0x10, EXIT_FAIL = 0x11, EXIT_FAULT = 0x12 };

#define IPI_TIMEOUT_NS 2000000000ull /* the nested environments take ~0.3 ms; a busy host more */
#define FOUR_GIB 0x100000000ull

extern const struct pvops_site __start_pvops_sites[], __stop_pvops_sites[];

/* ---- Console: one pvops_console_write per line, so that no line is split on the way. ---- */

struct line {
  char text[256];
  size_t length;
};

static void put(struct line *line, const char *text) {
  for (; *text != '\0' && line->length < sizeof line->text - 1; ++text) {
    /* A quote would end the runner's quoted field early; control characters break the line. */
    line->text[line->length++] = (*text == '"' || *text < 0x20) ? '?' : *text;
  }
}

static void put_raw(struct line *line, const char *text) {
  for (; *text != '\0' && line->length < sizeof line->text - 1; ++text)
    line->text[line->length++] = *text;
}

static void put_number(struct line *line, uint64_t value, unsigned base) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  if (base == 16) put_raw(line, "0x");
  while (count > 0 && line->length < sizeof line->text - 1)
    line->text[line->length++] = digits[--count];
}

static void emit(struct line *line) {
  line->text[line->length++] = '\n';
  pvops_console_write(line->text, line->length);
  line->length = 0;
}

/* ---- The cases: TAP-style lines, counted for the closing line. ---- */

static unsigned cases_run, cases_failed;

static void report(const char *name, int passed, const char *why) {
  struct line line = {0};
  put_raw(&line, passed ? "ok " : "not ok ");
  put_number(&line, ++cases_run, 10);
  put_raw(&line, " ");
  put_raw(&line, name);
  if (!passed) {
    ++cases_failed;
    put_raw(&line, " # ");
    put(&line, why);
  }
  emit(&line);
}

static void print_clock(void) {
  struct line line = {0};
  put_raw(&line, "clock: ns=");
  put_number(&line, pvops_clock_ns(), 10);
  emit(&line);
}

/* ---- What the library needs from the kernel. ---- */

static uint32_t this_cpu(void) { return 0; } /* one CPU */

/* The low 4 GiB are identity-mapped (boot.S); physical 0 has no usable address. */
static void *phys_to_virt(uint64_t pa) { return pa < FOUR_GIB ? (void *)(uintptr_t)pa : NULL; }

/* ---- Interrupts ---- */

static volatile uint32_t ipi_vector_seen;

static void on_self_ipi(uint8_t vector, void *context) {
  (void)context;
  ipi_vector_seen = vector;
}

static void halt_forever(void) {
  for (;;) __asm__ volatile("cli; hlt");
}

void trap_dispatch(struct trap_frame *frame) {
  if (frame->vector >= VECTOR_FIRST_INTERRUPT) {
    pvops_handle_interrupt((uint8_t)frame->vector);
    return;
  }
  /* A *_safe MSR accessor's #GP: the library moves rip to its recovery point. */
  if (frame->vector == VECTOR_GENERAL_PROTECTION &&
      pvops_fixup_fault(&frame->rip, VECTOR_GENERAL_PROTECTION))
    return;
  struct line line = {0};
  put_raw(&line, "FAULT: vector=");
  put_number(&line, frame->vector, 10);
  put_raw(&line, " rip=");
  put_number(&line, frame->rip, 16);
  put_raw(&line, " error=");
  put_number(&line, frame->error_code, 16);
  put_raw(&line, " cpu=0");
  emit(&line);
  pvops_shutdown(EXIT_FAULT);
  halt_forever();
}

/* ---- The checks ---- */

static void print_detection(const struct pvops_info *info) {
  struct line line = {0};
  put_raw(&line, "# detect: backend=");
  put_raw(&line, pvops_backend_name(info->backend));
  put_raw(&line, " signature=\"");
  put(&line, info->signature);
  put_raw(&line, "\" reason=\"");
  put(&line, info->reason);
  put_raw(&line, "\"");
  emit(&line);
  if (info->fallback[0] != '\0') {
    put_raw(&line, "# fallback: ");
    put(&line, info->fallback);
    emit(&line);
  }
  put_raw(&line, "# patch: sites=");
  put_number(&line, info->patch.sites, 10);
  put_raw(&line, " inlined=");
  put_number(&line, info->patch.inlined, 10);
  put_raw(&line, " direct=");
  put_number(&line, info->patch.direct, 10);
  put_raw(&line, " table=");
  put_number(&line, info->patch.table, 10);
  put_raw(&line, " refused=");
  put_number(&line, info->patch.refused, 10);
  put_raw(&line, " why=\"");
  put(&line, info->patch.why);
  put_raw(&line, "\"");
  emit(&line);
}

/* The linker script kept the records (pvops-sites.ld) and the library took every one. */
static void check_call_sites(const struct pvops_info *info) {
  const uint64_t records = (uint64_t)(&__stop_pvops_sites[0] - &__start_pvops_sites[0]);
  report("patch.sites", records > 0 && info->patch.sites == records && info->patch.refused == 0,
         records == 0 ? "no pvops_sites records in the image"
                      : "the library refused or missed records");
}

static void check_clock_moves_forward(void) {
  const uint64_t first = pvops_clock_ns();
  for (int i = 0; i < 1000; ++i) __asm__ volatile("pause");
  const uint64_t second = pvops_clock_ns();
  report("clock.forward", second > first && second - first < IPI_TIMEOUT_NS,
         second <= first ? "the second read is not later than the first"
                         : "a thousand pauses took seconds");
}

static void check_self_ipi(void) {
  pvops_status status = pvops_register_handler(VECTOR_SELF_IPI, on_self_ipi, NULL);
  if (status != PVOPS_OK) {
    report("irq.self_ipi", 0, pvops_status_name(status));
    return;
  }
  pvops_cpuset self;
  pvops_cpuset_clear(&self);
  pvops_cpuset_add(&self, this_cpu());
  pvops_irq_enable();
  status = pvops_send_ipi(&self, VECTOR_SELF_IPI);
  const uint64_t deadline = pvops_clock_ns() + IPI_TIMEOUT_NS;
  while (status == PVOPS_OK && ipi_vector_seen == 0 && pvops_clock_ns() < deadline)
    __asm__ volatile("pause");
  pvops_irq_disable();
  if (status != PVOPS_OK) {
    report("irq.self_ipi", 0, pvops_status_name(status));
  } else {
    report("irq.self_ipi", ipi_vector_seen == VECTOR_SELF_IPI,
           ipi_vector_seen == 0 ? "no interrupt within 2 s" : "the handler saw another vector");
  }
}

/* Both entries come here: boot.S's PVH entry with the start info's physical address, and the
 * library's Xen PV entry with start_info's address (kernel.ld names kmain pvops_kernel_entry). */
void kmain(uint64_t boot_info, uint32_t entry) {
  /* First, the ops this entry can use: on Xen PV (ring 3) the console and shutdown among them. */
  const pvops_status early = pvops_early_init(entry, (const void *)(uintptr_t)boot_info);
  const pvops_status idt = load_idt();
  const char *cmdline = "";
  const char *problem = NULL;
  if (entry == PVOPS_ENTRY_PVH) {
    const struct pvops_pvh_start_info *start = (const void *)(uintptr_t)boot_info;
    if (start->cmdline_paddr != 0) cmdline = (const char *)(uintptr_t)start->cmdline_paddr;
  } else {
    problem = pvops_boot_cmdline(entry, (const void *)(uintptr_t)boot_info, &cmdline);
  }
  if (early != PVOPS_OK || idt != PVOPS_OK || problem != NULL) {
    report("boot", 0,
           problem != NULL ? problem : pvops_status_name(early != PVOPS_OK ? early : idt));
    pvops_shutdown(EXIT_FAIL);
    halt_forever();
  }
  const struct pvops_env env = {
      .size = sizeof env,
      .entry = entry,
      .cmdline = cmdline,
      .boot_info = (const void *)(uintptr_t)boot_info,
      .this_cpu = this_cpu,
      /* virt_to_phys: the identity, the library's default. Xen PV maps only what it loaded
       * (the library knows that region itself): nothing else is mapped. */
      .phys_to_virt = entry == PVOPS_ENTRY_PVH ? phys_to_virt : NULL,
      .version = PVOPS_VERSION,
      .max_cpus = PVOPS_MAX_CPUS,
      .cpu_area_size = PVOPS_CPU_AREA_SIZE,
      .text_access = PVOPS_TEXT_WRITABLE, /* the identity map is writable, as is Xen PV's */
      .sites_begin = __start_pvops_sites,
      .sites_end = __stop_pvops_sites,
  };
  const pvops_status status = pvops_init(&env);
  const struct pvops_info *info = pvops_get_info();
  print_detection(info);
  if (status != PVOPS_OK || info->abi_version != PVOPS_ABI_VERSION) {
    report("init", 0, status != PVOPS_OK ? info->reason : "the library's ABI is another");
  } else {
    report("init", 1, "");
    print_clock();
    check_call_sites(info);
    check_clock_moves_forward();
    check_self_ipi();
    print_clock();
  }
  struct line line = {0};
  put_number(&line, cases_run - cases_failed, 10);
  put_raw(&line, " passed, ");
  put_number(&line, cases_failed, 10);
  put_raw(&line, " failed, 0 skipped");
  emit(&line);
  pvops_shutdown(cases_failed == 0 ? EXIT_PASS : EXIT_FAIL);
  halt_forever();
}
