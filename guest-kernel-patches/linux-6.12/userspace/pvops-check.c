/* SPDX-License-Identifier: MIT */
/*
 * pvops-check: checks, from Linux user space, that the kernel took its paravirtualization from
 * the pvops library, and reports in the pvops guest protocol (docs/guest-protocol.md): TAP case
 * lines, `stat:` lines, the closing `N passed, N failed, N skipped`, then the machine's end
 * through QEMU's isa-debug-exit (port 0xf4): code 0x10 when nothing failed, 0x11 otherwise.
 *
 * Run as the initramfs's init (after /proc and /sys are mounted). Options come from the kernel
 * command line (/proc/cmdline); the kernel does not pass dotted words on to init:
 *   pvops_check.cpus=N   the number of CPUs the machine was started with (cpu.count checks it)
 *   pvops_check.reads=N  clock reads per CPU for clock.monotonic (default 200000)
 *   pvops=NAME           the library's override: sysfs.backend then expects that backend
 *   pvops_check.now=SECS the host's CLOCK_REALTIME (seconds since the epoch) when the machine
 *                        was started; clock.realtime then checks the guest's wall clock against
 *                        it (no earlier than 1 s before it, no later than the boot could take)
 *   pvops_check.boot_s=N the boot time allowed for that check (default 300 s)
 *   pvops_check.tlb_rounds=N mmap/mprotect/munmap rounds for tlb.storm (default 1000)
 *   pvops_check.tlb_free_ms=N its free-running write-protect phase (default 300 ms)
 *   pvops_check.membarriers=N expedited membarriers for ipi.membarrier (default 500)
 *   pvops_check.pingpongs=N   futex handovers for futex.wakeups (default 2000)
 *   pvops_check.yields=N      sched_yield calls per CPU for sched.yield (default 20000)
 *   pvops_check.idle_ms=N     the sleep of idle.halt (default 300 ms)
 *
 * The same initramfs runs on the stock kernel (the same source with Linux's own guest support
 * and no pvops series): there is no /sys/kernel/pvops, the cases about the library's decisions
 * skip, and the workloads run and report the same way, for the comparison of the two kernels.
 * Each workload is a phase: its wall time, and the exits and hypercalls KVM counted during it
 * where the VMM serves its counters on I/O ports 0xf60-0xf6b (tools/pvops-vmm/kvm_stats_port.h).
 *
 * Its own stat: keys start with linux_ so that they never replace one of the library's counters
 * (the runner merges stat: lines by key). Built static (gcc -static -O2 -pthread) against glibc.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SYSFS_DIR "/sys/kernel/pvops"
#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11
#define DEBUG_EXIT_PORT 0xf4
#define MAX_CPUS 256
#define MAX_COUNTERS 64
/* pvops-vmm's window on KVM's counters (tools/pvops-vmm/kvm_stats_port.h): reading the magic
 * port gives "STAT", the others a counter so far over every vCPU (low 32 bits). */
#define KVM_STATS_PORT_MAGIC 0x0f60
#define KVM_STATS_PORTS_END 0x0f7c
#define KVM_STATS_MAGIC 0x54415453u
/* The counters a phase reads, the exits first; each read is a port I/O exit of its own. */
static const struct {
  const char *name;
  uint16_t port;
} kPhaseCounters[] = {
    {"exits", 0x0f64},      {"hypercalls", 0x0f68},       {"halt_exits", 0x0f6c},
    {"irq_exits", 0x0f70}, {"irq_window_exits", 0x0f74}, {"io_exits", 0x0f78},
};
#define PHASE_COUNTERS (sizeof kPhaseCounters / sizeof kPhaseCounters[0])

static const char *const kBackends[] = {"native", "kvm", "xen", "hyperv", "vmi"};

struct counter {
  char name[64];
  uint64_t value;
};

static unsigned g_case, g_passed, g_failed, g_skipped;
static int g_stock;          /* no /sys/kernel/pvops: the stock kernel */
static int g_kvm_counters;   /* the VMM serves KVM's exit and hypercall counts */
static const char kStockSkip[] = "no " SYSFS_DIR ": the stock kernel has no pvops library";
static char g_cmdline[4096];
static cpu_set_t g_start_affinity; /* restored after every case: a case may pin the main thread */

/* ---- Reporting ---------------------------------------------------------------------------- */

static void Pass(const char *name) {
  printf("ok %u %s\n", ++g_case, name);
  ++g_passed;
}

static void Fail(const char *name, const char *fmt, ...) {
  char reason[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  for (char *p = reason; *p; ++p)
    if (*p == '\n') *p = ' ';
  printf("not ok %u %s # %s\n", ++g_case, name, reason);
  ++g_failed;
}

static void Skip(const char *name, const char *reason) {
  printf("ok %u %s # SKIP %s\n", ++g_case, name, reason);
  ++g_skipped;
}

/* ---- Small helpers ------------------------------------------------------------------------ */

/* Reads a whole small file; strips one trailing newline. Returns the length or -errno. */
static long ReadFile(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "re");
  if (f == NULL) return -errno;
  size_t n = fread(buf, 1, size - 1, f);
  int err = ferror(f) ? EIO : 0;
  fclose(f);
  if (err) return -err;
  buf[n] = '\0';
  if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  return (long)n;
}

/* Whether `word` is one of the words of `list`, split at any of `separators`. */
static int WordIn(const char *word, const char *list, const char *separators) {
  char copy[1024], *save = NULL;
  snprintf(copy, sizeof copy, "%s", list);
  for (char *w = strtok_r(copy, separators, &save); w != NULL; w = strtok_r(NULL, separators, &save))
    if (strcmp(w, word) == 0) return 1;
  return 0;
}

static int64_t TimespecNs(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* `id` read as user space reads it (clock_gettime: the vDSO where the kernel offers it). */
static int64_t ClockNs(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return TimespecNs(&ts);
}

static int64_t MonotonicNs(void) { return ClockNs(CLOCK_MONOTONIC); }

/* The value of `key=` on the kernel command line (the last one wins), or NULL. */
static const char *CmdlineValue(const char *key, char *out, size_t size) {
  const char *found = NULL;
  size_t klen = strlen(key);
  for (const char *p = g_cmdline; *p;) {
    while (*p == ' ') ++p;
    const char *word = p;
    while (*p && *p != ' ') ++p;
    if ((size_t)(p - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
      size_t n = (size_t)(p - word) - klen - 1;
      if (n >= size) n = size - 1;
      memcpy(out, word + klen + 1, n);
      out[n] = '\0';
      found = out;
    }
  }
  return found;
}

static long CmdlineNumber(const char *key, long fallback) {
  char value[32];
  if (CmdlineValue(key, value, sizeof value) == NULL) return fallback;
  char *end;
  long n = strtol(value, &end, 0);
  return (*end == '\0' && n > 0) ? n : fallback;
}

/* Counts the CPUs in a sysfs cpu list such as "0-3,5", and marks them in `set` (MAX_CPUS
 * entries) unless it is NULL. Returns -1 when it does not parse. */
static int ParseCpuList(const char *list, unsigned char *set) {
  int count = 0;
  const char *p = list;
  while (*p) {
    char *end;
    long first = strtol(p, &end, 10);
    if (end == p || first < 0) return -1;
    long last = first;
    p = end;
    if (*p == '-') {
      last = strtol(p + 1, &end, 10);
      if (end == p + 1 || last < first) return -1;
      p = end;
    }
    count += (int)(last - first + 1);
    for (long cpu = first; set != NULL && cpu <= last && cpu < MAX_CPUS; ++cpu) set[cpu] = 1;
    if (*p == ',') ++p;
    else if (*p != '\0') return -1;
  }
  return count;
}

static int CountCpuList(const char *list) { return ParseCpuList(list, NULL); }

/* The machine boots its kernel with maxcpus=1, so that the code the kernel rewrites during boot
 * (the static keys of its late initcalls) is rewritten while no other CPU runs it: under QEMU's
 * multi-threaded TCG a CPU running the site could still execute the int3 of the rewrite after
 * it ended, and no handler claims it. The other present CPUs come online here, before any case.
 * A CPU that does not come up is said here and counted by cpu.count. */
static void BringUpPresentCpus(void) {
  char present[256], online[256];
  static unsigned char is_present[MAX_CPUS], is_online[MAX_CPUS];
  if (ReadFile("/sys/devices/system/cpu/present", present, sizeof present) < 0 ||
      ReadFile("/sys/devices/system/cpu/online", online, sizeof online) < 0 ||
      ParseCpuList(present, is_present) < 0 || ParseCpuList(online, is_online) < 0) {
    printf("# cpus: cannot read the present and online lists\n");
    return;
  }
  for (int cpu = 0; cpu < MAX_CPUS; ++cpu) {
    if (!is_present[cpu] || is_online[cpu]) continue;
    char path[64];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
    int64_t t0 = MonotonicNs();
    FILE *f = fopen(path, "we");
    int ok = f != NULL && fputs("1", f) >= 0;
    if (f != NULL && fclose(f) != 0) ok = 0;
    printf("# cpus: cpu%d brought online: %s (%" PRId64 " ms)\n", cpu, ok ? "yes" : strerror(errno),
           (MonotonicNs() - t0) / 1000000);
  }
}

/* Parses /sys/kernel/pvops/counters: `name=value` lines. Returns the count or -1. */
static int ReadCounters(struct counter *out, int max, char *why, size_t why_size) {
  static char buf[8192];
  long len = ReadFile(SYSFS_DIR "/counters", buf, sizeof buf);
  if (len < 0) {
    snprintf(why, why_size, "cannot read " SYSFS_DIR "/counters: %s", strerror((int)-len));
    return -1;
  }
  int n = 0;
  for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    char *eq = strchr(line, '=');
    if (eq == NULL || eq == line || (size_t)(eq - line) >= sizeof out[0].name) {
      snprintf(why, why_size, "line %d is not name=value: \"%.60s\"", n + 1, line);
      return -1;
    }
    for (char *c = line; c < eq; ++c) {
      if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')) {
        snprintf(why, why_size, "line %d: bad counter name \"%.*s\"", n + 1, (int)(eq - line),
                 line);
        return -1;
      }
    }
    char *end;
    errno = 0;
    unsigned long long value = strtoull(eq + 1, &end, 10);
    if (eq[1] == '\0' || *end != '\0' || errno != 0 || eq[1] == '-') {
      snprintf(why, why_size, "line %d: bad value \"%.40s\"", n + 1, eq + 1);
      return -1;
    }
    if (n == max) {
      snprintf(why, why_size, "more than %d counters", max);
      return -1;
    }
    for (int i = 0; i < n; ++i) {
      if (strncmp(out[i].name, line, (size_t)(eq - line)) == 0 &&
          out[i].name[eq - line] == '\0') {
        snprintf(why, why_size, "counter \"%.60s\" listed twice", out[i].name);
        return -1;
      }
    }
    memcpy(out[n].name, line, (size_t)(eq - line));
    out[n].name[eq - line] = '\0';
    out[n].value = value;
    ++n;
  }
  return n;
}

/* Reads `path` for case `name`; on failure the case fails with the reason and 0 is returned. */
static int ReadForCase(const char *name, const char *path, char *buf, size_t size) {
  long len = ReadFile(path, buf, size);
  if (len >= 0) return 1;
  Fail(name, "cannot read %s: %s", path, strerror((int)-len));
  return 0;
}

/* ---- Phases: what one workload cost --------------------------------------------------------- */

struct phase {
  const char *name;
  uint32_t counters[PHASE_COUNTERS]; /* KVM's counts when the phase began (wrapping 32-bit) */
  int64_t t0_ns;
};

static void ReadPhaseCounters(uint32_t *out) {
  for (size_t i = 0; i < PHASE_COUNTERS; ++i)
    out[i] = g_kvm_counters ? inl(kPhaseCounters[i].port) : 0;
}

/* The serial console sends what was written before on its own time, one port write per
 * character: that output is sent before a phase begins, so that it counts in none. */
static void PhaseBegin(struct phase *ph, const char *name) {
  fflush(stdout);
  tcdrain(STDOUT_FILENO); /* fails harmlessly where stdout is no terminal */
  ph->name = name;
  ReadPhaseCounters(ph->counters);
  ph->t0_ns = MonotonicNs();
}

/* Prints the phase's cost. Its exits and port I/O exits include the counter reads themselves:
 * those after the exits were read at the beginning, and those up to the exits at the end, one
 * per counter in all (likewise for the I/O count), which are left out. */
static void PhaseEnd(const struct phase *ph) {
  int64_t wall_us = (MonotonicNs() - ph->t0_ns) / 1000;
  if (g_kvm_counters) {
    uint32_t now[PHASE_COUNTERS];
    ReadPhaseCounters(now);
    char by_reason[256] = "";
    size_t used = 0;
    uint32_t exits = 0, hypercalls = 0;
    for (size_t i = 0; i < PHASE_COUNTERS; ++i) {
      const char *counter = kPhaseCounters[i].name;
      uint32_t delta = now[i] - ph->counters[i];
      if (strcmp(counter, "exits") == 0 || strcmp(counter, "io_exits") == 0)
        delta = delta >= PHASE_COUNTERS ? delta - (uint32_t)PHASE_COUNTERS : 0;
      if (strcmp(counter, "exits") == 0) exits = delta;
      else if (strcmp(counter, "hypercalls") == 0) hypercalls = delta;
      else if (used < sizeof by_reason)
        used += (size_t)snprintf(by_reason + used, sizeof by_reason - used, " %s=%" PRIu32,
                                 counter, delta);
    }
    printf("# phase: name=%s kernel=%s wall_us=%" PRId64 " exits=%" PRIu32 " hypercalls=%" PRIu32
           "%s\n", ph->name, g_stock ? "stock" : "pvops", wall_us, exits, hypercalls, by_reason);
    printf("stat: linux_phase_%s_wall_us=%" PRId64 " linux_phase_%s_exits=%" PRIu32
           " linux_phase_%s_hypercalls=%" PRIu32 "\n", ph->name, wall_us, ph->name, exits,
           ph->name, hypercalls);
  } else {
    printf("# phase: name=%s kernel=%s wall_us=%" PRId64 " exits=? hypercalls=? (no KVM counters)\n",
           ph->name, g_stock ? "stock" : "pvops", wall_us);
    printf("stat: linux_phase_%s_wall_us=%" PRId64 "\n", ph->name, wall_us);
  }
}

/* ---- Cases -------------------------------------------------------------------------------- */

/* The library's decision is in sysfs and names a backend (the expected one under pvops=). */
static void CaseSysfsBackend(void) {
  const char *name = "sysfs.backend";
  char backend[64], text[256], expected[32];
  if (g_stock) {
    Skip(name, kStockSkip);
    return;
  }
  if (!ReadForCase(name, SYSFS_DIR "/backend", backend, sizeof backend)) return;
  static const char *const kFiles[] = {"signature", "features", "reason", "fallback", "notes"};
  for (size_t i = 0; i < sizeof kFiles / sizeof kFiles[0]; ++i) {
    char path[128];
    snprintf(path, sizeof path, SYSFS_DIR "/%s", kFiles[i]);
    if (!ReadForCase(name, path, text, sizeof text)) return;
    if (text[0] != '\0') printf("# sysfs: %s=\"%s\"\n", kFiles[i], text);
  }
  printf("# sysfs: backend=%s\n", backend);
  int known = 0;
  for (size_t i = 0; i < sizeof kBackends / sizeof kBackends[0]; ++i)
    known |= strcmp(backend, kBackends[i]) == 0;
  if (!known) {
    Fail(name, "backend \"%s\" is not one the library has", backend);
    return;
  }
  if (CmdlineValue("pvops", expected, sizeof expected) != NULL &&
      strcmp(expected, backend) != 0) {
    Fail(name, "pvops=%s on the command line, backend is %s", expected, backend);
    return;
  }
  Pass(name);
}

/* The counters file parses; its values are printed as stat: lines. */
static void CaseSysfsCounters(void) {
  const char *name = "sysfs.counters";
  struct counter counters[MAX_COUNTERS];
  char why[256];
  if (g_stock) {
    Skip(name, kStockSkip);
    return;
  }
  int n = ReadCounters(counters, MAX_COUNTERS, why, sizeof why);
  if (n < 0) {
    Fail(name, "%s", why);
    return;
  }
  if (n == 0) {
    Fail(name, "no counters listed");
    return;
  }
  for (int first = 0; first < n; first += 6) {
    printf("stat:");
    for (int i = first; i < n && i < first + 6; ++i)
      printf(" %s=%" PRIu64, counters[i].name, counters[i].value);
    printf("\n");
  }
  Pass(name);
}

/* The CPU count agrees between sysfs, sysconf, our affinity mask and pvops_check.cpus=. */
static void CaseCpuCount(void) {
  const char *name = "cpu.count";
  char list[256];
  long len = ReadFile("/sys/devices/system/cpu/online", list, sizeof list);
  if (len < 0) {
    Fail(name, "cannot read /sys/devices/system/cpu/online: %s", strerror((int)-len));
    return;
  }
  int online = CountCpuList(list);
  long sc = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  CPU_ZERO(&set);
  int affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
  long expected = CmdlineNumber("pvops_check.cpus", 0);
  printf("# cpus: online=\"%s\" (%d) sysconf=%ld affinity=%d expected=%ld\n", list, online, sc,
         affinity, expected);
  printf("stat: linux_cpus_online=%d\n", online);
  if (online < 1) {
    Fail(name, "cannot parse the online list \"%s\"", list);
  } else if (sc != online || affinity != online) {
    Fail(name, "online=%d sysconf=%ld affinity=%d disagree", online, sc, affinity);
  } else if (expected > 0 && online != expected) {
    Fail(name, "%d CPUs online, pvops_check.cpus=%ld", online, expected);
  } else {
    Pass(name);
  }
}

struct clock_thread {
  pthread_t thread;
  int cpu;
  long reads;
  int pinned;
  long backwards;      /* a read below this thread's previous read */
  long cross_backwards; /* a read below a value another CPU published before it */
  int64_t worst_ns;     /* the largest step back seen */
  int64_t first_ns, last_ns;
};

static _Atomic int64_t g_latest_ns;   /* the largest CLOCK_MONOTONIC value any thread published */
static _Atomic int g_threads_ready;
static int g_thread_count;

/* Pinned to its CPU: each read must not be below this thread's previous read, nor below what
 * any thread had published before the read began. */
static void *ClockThread(void *arg) {
  struct clock_thread *t = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(t->cpu, &set);
  t->pinned = pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 && sched_getcpu() == t->cpu;
  atomic_fetch_add(&g_threads_ready, 1);
  while (atomic_load(&g_threads_ready) < g_thread_count) sched_yield();
  int64_t previous = MonotonicNs();
  t->first_ns = previous;
  for (long i = 0; i < t->reads; ++i) {
    int64_t published = atomic_load_explicit(&g_latest_ns, memory_order_acquire);
    int64_t now = MonotonicNs();
    if (now < previous) {
      ++t->backwards;
      if (previous - now > t->worst_ns) t->worst_ns = previous - now;
    }
    if (now < published) {
      ++t->cross_backwards;
      if (published - now > t->worst_ns) t->worst_ns = published - now;
    }
    int64_t seen = published;
    while (now > seen &&
           !atomic_compare_exchange_weak_explicit(&g_latest_ns, &seen, now, memory_order_acq_rel,
                                                  memory_order_acquire)) {
    }
    previous = now;
  }
  t->last_ns = previous;
  return NULL;
}

/* CLOCK_MONOTONIC never goes backwards, read by one thread pinned to each online CPU. */
static void CaseClockMonotonic(void) {
  const char *name = "clock.monotonic";
  static struct clock_thread threads[MAX_CPUS];
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    Fail(name, "sched_getaffinity: %s", strerror(errno));
    return;
  }
  long reads = CmdlineNumber("pvops_check.reads", 200000);
  char clocksource[64] = "?";
  ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource", clocksource,
           sizeof clocksource);
  g_thread_count = 0;
  for (int cpu = 0; cpu < MAX_CPUS && cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    threads[g_thread_count] = (struct clock_thread){.cpu = cpu, .reads = reads};
    ++g_thread_count;
  }
  struct phase phase;
  PhaseBegin(&phase, "clock");
  for (int i = 0; i < g_thread_count; ++i) {
    int err = pthread_create(&threads[i].thread, NULL, ClockThread, &threads[i]);
    if (err != 0) {
      /* Threads already started wait for a count that will not come: end the machine's run as
       * a failure rather than hang. */
      Fail(name, "pthread_create for CPU %d: %s", threads[i].cpu, strerror(err));
      g_thread_count = i;
      atomic_store(&g_threads_ready, i);
      for (int j = 0; j < i; ++j) pthread_join(threads[j].thread, NULL);
      return;
    }
  }
  long backwards = 0, cross = 0, unpinned = 0;
  int64_t worst = 0;
  for (int i = 0; i < g_thread_count; ++i) pthread_join(threads[i].thread, NULL);
  PhaseEnd(&phase);
  for (int i = 0; i < g_thread_count; ++i) {
    const struct clock_thread *t = &threads[i];
    printf("# clock: cpu=%d pinned=%d reads=%ld span_ns=%" PRId64 " backwards=%ld cross_cpu_backwards=%ld\n",
           t->cpu, t->pinned, t->reads, t->last_ns - t->first_ns, t->backwards,
           t->cross_backwards);
    backwards += t->backwards;
    cross += t->cross_backwards;
    unpinned += !t->pinned;
    if (t->worst_ns > worst) worst = t->worst_ns;
  }
  printf("# clock: clocksource=%s\n", clocksource);
  printf("stat: linux_clock_reads=%ld linux_clock_backwards=%ld linux_clock_cross_cpu_backwards=%ld\n",
         reads * g_thread_count, backwards, cross);
  if (unpinned != 0) {
    Fail(name, "%ld of %d threads could not be pinned to their CPU", unpinned, g_thread_count);
  } else if (backwards != 0 || cross != 0) {
    Fail(name, "went backwards %ld times on one CPU and %ld times across CPUs (worst %" PRId64 " ns, clocksource %s)",
         backwards, cross, worst, clocksource);
  } else {
    Pass(name);
  }
}

/* The backends whose hypervisor offers a paravirtual clock: the kernel keeps time with it
 * (VMI: the ROM's cycle counter at the rate the hypervisor states). */
static const char *const kPvClockBackends[] = {"kvm", "xen", "hyperv", "vmi"};
/* KVM's clock is a feature the hypervisor may withhold: the kvm backend's third features word
 * ("enabled") has KVM_FEATURE_CLOCKSOURCE2 (bit 3) set only when the library took kvmclock. */
#define KVM_ENABLED_WORD 2
#define KVM_FEATURE_CLOCKSOURCE2 3

/* Whether /proc/cpuinfo's flags promise that the CPUs' TSCs agree: tsc_reliable, or an invariant
 * TSC (constant_tsc and nonstop_tsc). */
static int TscPromisedInStep(void) {
  static char cpuinfo[16384];
  if (ReadFile("/proc/cpuinfo", cpuinfo, sizeof cpuinfo) < 0) return 0;
  char *flags = strstr(cpuinfo, "\nflags");
  if (flags == NULL) return 0;
  char *end = strchr(flags + 1, '\n');
  if (end != NULL) *end = '\0';
  const int constant = WordIn("constant_tsc", flags, " \t:");
  const int nonstop = WordIn("nonstop_tsc", flags, " \t:");
  const int reliable = WordIn("tsc_reliable", flags, " \t:");
  printf("# clocksource: constant_tsc=%d nonstop_tsc=%d tsc_reliable=%d\n", constant, nonstop,
         reliable);
  return reliable || (constant && nonstop);
}

/* Under every hypervisor backend the library's clock is registered as pvops: its paravirtual
 * clock where it has one, else its TSC clock (never backwards across CPUs). It is current
 * exactly where nothing promises that the TSCs agree across CPUs; where something does, the TSC
 * stays current unless the watchdog dropped it, as Linux's own kvm-clock and Xen clock step
 * aside for an invariant TSC. On bare metal pvops is not registered. */
static void CaseClockSource(void) {
  const char *name = "clock.source";
  char backend[64] = "none", current[64], available[256];
  if (!g_stock && !ReadForCase(name, SYSFS_DIR "/backend", backend, sizeof backend)) return;
  if (!ReadForCase(name, "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                   current, sizeof current))
    return;
  if (ReadFile("/sys/devices/system/clocksource/clocksource0/available_clocksource", available,
               sizeof available) < 0)
    strcpy(available, "?");
  printf("# clocksource: current=%s available=\"%s\" backend=%s\n", current, available,
         backend);
  if (g_stock) {
    Skip(name, "the stock kernel: Linux picks its own clocksource (above); the pvops kernel's "
         "choice is the one checked");
    return;
  }
  int pv_clock = 0;
  for (size_t i = 0; i < sizeof kPvClockBackends / sizeof kPvClockBackends[0]; ++i)
    pv_clock |= strcmp(backend, kPvClockBackends[i]) == 0;
  if (pv_clock && strcmp(backend, "kvm") == 0) {
    char features[128];
    unsigned long words[4] = {0};
    if (ReadFile(SYSFS_DIR "/features", features, sizeof features) < 0 ||
        sscanf(features, "%lx,%lx,%lx,%lx", &words[0], &words[1], &words[2], &words[3]) != 4) {
      Fail(name, "cannot parse " SYSFS_DIR "/features");
      return;
    }
    pv_clock = (words[KVM_ENABLED_WORD] >> KVM_FEATURE_CLOCKSOURCE2) & 1;
    printf("# clocksource: kvm enabled=0x%lx: kvmclock %s\n", words[KVM_ENABLED_WORD],
           pv_clock ? "taken" : "not offered or refused");
  }
  const int registered = WordIn("pvops", available, " ");
  const int tsc_available = WordIn("tsc", available, " ");
  const int hypervisor = strcmp(backend, "native") != 0;
  const int is_pvops = strcmp(current, "pvops") == 0;
  const int is_tsc = strcmp(current, "tsc") == 0 || strcmp(current, "tsc-early") == 0;
  const char *clock = pv_clock ? "paravirtual clock" : "TSC clock";
  if (!hypervisor) {
    if (registered)
      Fail(name, "on bare metal the pvops clocksource is registered (current %s)", current);
    else
      Pass(name);
  } else if (!registered) {
    Fail(name, "backend %s: the library's %s is not registered (current %s)", backend, clock,
         current);
  } else if (!TscPromisedInStep()) {
    if (is_pvops)
      Pass(name);
    else
      Fail(name, "nothing promises the TSCs agree across CPUs, yet the clocksource is %s, not "
           "the library's %s", current, clock);
  } else if (is_tsc || (is_pvops && !tsc_available)) {
    Pass(name);
  } else {
    Fail(name, "the TSC is promised to agree across CPUs and is%s available, yet the "
         "clocksource is %s", tsc_available ? "" : " not", current);
  }
}

/* A CLOCK_REALTIME reading and the CLOCK_MONOTONIC time it was taken at: the realtime read
 * between two monotonic reads, the tightest of 20 such brackets, at its midpoint. The bracket's
 * width bounds the pairing's error: a vCPU the host deschedules between two reads (seen: 4.4 ms
 * with the host's cores busy) would otherwise pass for a clock that jumped. */
struct clock_pair {
  int64_t realtime, monotonic, width;
};

static struct clock_pair ReadClockPair(void) {
  struct clock_pair best = {.width = INT64_MAX};
  for (int i = 0; i < 20; ++i) {
    int64_t before = ClockNs(CLOCK_MONOTONIC), rt = ClockNs(CLOCK_REALTIME);
    int64_t after = ClockNs(CLOCK_MONOTONIC);
    if (after - before < best.width)
      best = (struct clock_pair){rt, before + (after - before) / 2, after - before};
  }
  return best;
}

/* CLOCK_REALTIME is a plausible date (the wall clock was read at boot; against the host's time
 * when pvops_check.now= is given) and advances at CLOCK_MONOTONIC's rate: over a 200 ms sleep
 * the two may differ by 1 ms at most (nothing adjusts the clock in this initramfs), plus the
 * half-widths of the two readings' brackets. */
static void CaseClockRealtime(void) {
  const char *name = "clock.realtime";
  const int64_t kSec = 1000000000;
  struct clock_pair p0 = ReadClockPair();
  struct timespec nap = {.tv_sec = 0, .tv_nsec = 200000000};
  while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
  }
  struct clock_pair p1 = ReadClockPair();
  int64_t rt0 = p0.realtime, mono0 = p0.monotonic, rt1 = p1.realtime, mono1 = p1.monotonic;
  int64_t drift = (rt1 - rt0) - (mono1 - mono0);
  int64_t allowed = 1000000 + p0.width / 2 + p1.width / 2;
  printf("# realtime: now=%" PRId64 ".%09" PRId64 " monotonic=%" PRId64 ".%09" PRId64
         " slept_rt_ns=%" PRId64 " slept_mono_ns=%" PRId64 " drift_ns=%" PRId64
         " bracket_ns=%" PRId64 ",%" PRId64 "\n",
         rt1 / kSec, rt1 % kSec, mono1 / kSec, mono1 % kSec, rt1 - rt0, mono1 - mono0, drift,
         p0.width, p1.width);
  char host[32];
  long boot_s = CmdlineNumber("pvops_check.boot_s", 300);
  if (mono1 - mono0 < 200000000) {
    Fail(name, "CLOCK_MONOTONIC advanced %" PRId64 " ns over a 200 ms sleep", mono1 - mono0);
  } else if (drift > allowed || drift < -allowed) {
    Fail(name, "CLOCK_REALTIME advanced %" PRId64 " ns while CLOCK_MONOTONIC advanced %" PRId64
         " ns (allowed difference %" PRId64 " ns)", rt1 - rt0, mono1 - mono0, allowed);
  } else if (rt1 / kSec < 1577836800) { /* 2020-01-01 */
    Fail(name, "CLOCK_REALTIME is %" PRId64 " s since the epoch: the wall clock was not read",
         rt1 / kSec);
  } else if (CmdlineValue("pvops_check.now", host, sizeof host) != NULL) {
    int64_t host_s = strtoll(host, NULL, 10);
    int64_t ahead_ms = (rt1 - host_s * kSec) / 1000000;
    printf("stat: linux_realtime_minus_host_start_ms=%" PRId64 "\n", ahead_ms);
    if (ahead_ms < -1000 || ahead_ms > boot_s * 1000) {
      Fail(name, "CLOCK_REALTIME is %" PRId64 " ms from the host's start time %" PRId64
           " (allowed: -1000 .. %ld000)", ahead_ms, host_s, boot_s);
    } else {
      Pass(name);
    }
  } else {
    Pass(name);
  }
}

/* ---- The end of the run ------------------------------------------------------------------- */

/* Leaves the machine with `code` through isa-debug-exit; powers off if that does not end it. */
/* ---- What the kernel routes through the library, and the counters ------------------------ */

/* The value of one library counter, or -1 when it cannot be read. */
static int64_t CounterValue(const char *counter) {
  if (g_stock) return 0; /* no library: nothing went through it */
  struct counter counters[MAX_COUNTERS];
  char why[256];
  int n = ReadCounters(counters, MAX_COUNTERS, why, sizeof why);
  for (int i = 0; i < n; ++i)
    if (strcmp(counters[i].name, counter) == 0) return (int64_t)counters[i].value;
  return -1;
}

/* Prints every library counter as stat: lines (the runner keeps the last value of a key). */
static void PrintCounters(void) {
  if (g_stock) return;
  struct counter counters[MAX_COUNTERS];
  char why[256];
  int n = ReadCounters(counters, MAX_COUNTERS, why, sizeof why);
  for (int first = 0; first < n; first += 6) {
    printf("stat:");
    for (int i = first; i < n && i < first + 6; ++i)
      printf(" %s=%" PRIu64, counters[i].name, counters[i].value);
    printf("\n");
  }
}

/* Whether /sys/kernel/pvops/routed (comma-separated path names) lists `path`; -1 if unreadable. */
static int Routed(const char *path) {
  if (g_stock) return 0;
  char routed[512];
  if (ReadFile(SYSFS_DIR "/routed", routed, sizeof routed) < 0) return -1;
  return WordIn(path, routed, ",");
}

/* The sum over every CPU of the /proc/interrupts line labelled `label` (e.g. "TLB:"), or -1. */
static int64_t InterruptCount(const char *label) {
  static char buf[32768];
  if (ReadFile("/proc/interrupts", buf, sizeof buf) < 0) return -1;
  size_t len = strlen(label);
  for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    char *p = line;
    while (*p == ' ') ++p;
    if (strncmp(p, label, len) != 0) continue;
    int64_t sum = 0;
    for (p += len;;) {
      char *end;
      long long v = strtoll(p, &end, 10);
      if (end == p) break;
      sum += v;
      p = end;
    }
    return sum;
  }
  return -1;
}

/* The CPUs this process may run on, as a list; returns how many. */
static int AllowedCpus(int *cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  int n = 0;
  for (int cpu = 0; cpu < MAX_CPUS; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
  return n;
}

static int PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 && sched_getcpu() == cpu;
}

/* The routed paths are a subset of what the backend offers, and both name known paths. */
static void CaseSysfsRouted(void) {
  const char *name = "sysfs.routed";
  char offered[512], routed[512], backend[64];
  if (g_stock) {
    Skip(name, kStockSkip);
    return;
  }
  if (!ReadForCase(name, SYSFS_DIR "/paravirt", offered, sizeof offered) ||
      !ReadForCase(name, SYSFS_DIR "/routed", routed, sizeof routed) ||
      !ReadForCase(name, SYSFS_DIR "/backend", backend, sizeof backend))
    return;
  printf("# paths: backend=%s paravirt=\"%s\" routed=\"%s\"\n", backend, offered, routed);
  if (strcmp(backend, "native") == 0 && (offered[0] != '\0' || routed[0] != '\0')) {
    Fail(name, "the native backend offers \"%s\" and the kernel routes \"%s\"", offered, routed);
    return;
  }
  char copy[512], *save = NULL;
  snprintf(copy, sizeof copy, "%s", routed);
  for (char *path = strtok_r(copy, ",", &save); path != NULL; path = strtok_r(NULL, ",", &save)) {
    if (!WordIn(path, offered, ",")) {
      Fail(name, "the kernel routes \"%s\", which the backend does not offer (\"%s\")", path,
           offered);
      return;
    }
  }
  Pass(name);
}

/* ---- Remote TLB flushes ------------------------------------------------------------------- */

struct tlb_worker {
  pthread_t thread;
  int cpu;
  int pinned;
  long stale; /* a read of the published page that did not show this round's value */
};

static _Atomic long g_tlb_phase;            /* odd: page published with value (phase-1)/2 */
static volatile long *_Atomic g_tlb_page;
static _Atomic long g_tlb_ack[MAX_CPUS];    /* the last phase each worker has seen */
static _Atomic int g_tlb_stop;
/* The free-running phase: workers read this page without pause while the main thread keeps
 * write-protecting it, so that a flush can find another vCPU preempted by the host (the
 * lock-step rounds only flush once every CPU has answered, that is while all are running). */
#define TLB_FREE_RUN (-1L)
static volatile long *_Atomic g_tlb_free_page;

/* Pinned to its CPU: reads the page of each odd phase (so that its TLB holds the translation
 * the next munmap must flush), acknowledges every phase, and yields while it waits. */
static void *TlbWorker(void *arg) {
  struct tlb_worker *w = arg;
  w->pinned = PinTo(w->cpu);
  long seen = 0;
  while (!atomic_load(&g_tlb_stop)) {
    long phase = atomic_load(&g_tlb_phase);
    if (phase == TLB_FREE_RUN) {
      volatile long *page = atomic_load(&g_tlb_free_page);
      if (page != NULL) (void)*page;
      continue;
    }
    if (phase == seen) {
      sched_yield();
      continue;
    }
    if (phase & 1) {
      volatile long *page = atomic_load(&g_tlb_page);
      if (page == NULL || *page != (phase - 1) / 2) ++w->stale;
    }
    seen = phase;
    atomic_store(&g_tlb_ack[w->cpu], phase);
  }
  return NULL;
}

static void TlbWaitAcks(const struct tlb_worker *workers, int n, long phase) {
  for (int i = 0; i < n; ++i)
    while (atomic_load(&g_tlb_ack[workers[i].cpu]) != phase) sched_yield();
}

/* Remote TLB flushes: one thread pinned on each CPU keeps this address space live there while
 * the main thread maps a page, writes the round's number, has every thread read it, write-
 * protects it and unmaps it, round after round (the next mmap usually gets the same address,
 * so a stale translation would show the previous round's page). Then, for 300 ms, the threads
 * read a page without pause while the main thread write-protects it and lifts the protection
 * again: flushes that may find a vCPU the host has preempted. Where the kernel routes its
 * remote flushes through the library (routed has tlb_flush), each must reach the backend
 * (tlb_flush_remote_calls grows); on Hyper-V, by hypercall. Elsewhere neither counter moves. */
static void CaseTlbStorm(void) {
  const char *name = "tlb.storm";
  static struct tlb_worker workers[MAX_CPUS];
  static int cpus[MAX_CPUS];
  char backend[64] = "none";
  if (!g_stock && !ReadForCase(name, SYSFS_DIR "/backend", backend, sizeof backend)) return;
  int routed = Routed("tlb_flush");
  int n = AllowedCpus(cpus);
  if (n < 2) {
    Skip(name, "one CPU: no remote flush to make");
    return;
  }
  for (int i = 0; i < n; ++i) workers[i] = (struct tlb_worker){.cpu = cpus[i]};
  long rounds = CmdlineNumber("pvops_check.tlb_rounds", 1000);

  int64_t calls_before = CounterValue("tlb_flush_remote_calls");
  int64_t hc_before = CounterValue("tlb_flush_hypercalls");
  int64_t preempted_before = CounterValue("tlb_flush_preempted_skipped");
  int64_t ipis_before = InterruptCount("TLB:");
  atomic_store(&g_tlb_phase, 0);
  atomic_store(&g_tlb_stop, 0);
  for (int i = 0; i < n; ++i) {
    atomic_store(&g_tlb_ack[workers[i].cpu], 0);
    if (pthread_create(&workers[i].thread, NULL, TlbWorker, &workers[i]) != 0) {
      atomic_store(&g_tlb_stop, 1);
      for (int j = 0; j < i; ++j) pthread_join(workers[j].thread, NULL);
      Fail(name, "pthread_create failed");
      return;
    }
  }
  struct phase phase;
  PhaseBegin(&phase, "tlb");
  int64_t t0 = MonotonicNs();
  long done = 0, errors = 0;
  for (long r = 0; r < rounds; ++r) {
    long *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
      ++errors;
      break;
    }
    *page = r;
    atomic_store(&g_tlb_page, page);
    atomic_store(&g_tlb_phase, 2 * r + 1);
    TlbWaitAcks(workers, n, 2 * r + 1);
    if (mprotect(page, 4096, PROT_READ) != 0) ++errors;
    atomic_store(&g_tlb_page, NULL);
    atomic_store(&g_tlb_phase, 2 * r + 2);
    TlbWaitAcks(workers, n, 2 * r + 2);
    if (munmap(page, 4096) != 0) ++errors;
    ++done;
  }
  int64_t elapsed_ms = (MonotonicNs() - t0) / 1000000;
  PhaseEnd(&phase);
  long free_ms = CmdlineNumber("pvops_check.tlb_free_ms", 300), protects = 0;
  long *free_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (free_page == MAP_FAILED) {
    ++errors;
  } else {
    *free_page = 1;
    atomic_store(&g_tlb_free_page, free_page);
    atomic_store(&g_tlb_phase, TLB_FREE_RUN);
    for (int64_t end = MonotonicNs() + free_ms * 1000000; MonotonicNs() < end; ++protects) {
      if (mprotect(free_page, 4096, PROT_READ) != 0 ||
          mprotect(free_page, 4096, PROT_READ | PROT_WRITE) != 0)
        ++errors;
    }
    atomic_store(&g_tlb_free_page, NULL);
  }
  atomic_store(&g_tlb_stop, 1);
  long stale = 0;
  int pinned = 1;
  for (int i = 0; i < n; ++i) {
    pthread_join(workers[i].thread, NULL);
    stale += workers[i].stale;
    pinned &= workers[i].pinned;
  }
  /* Only now: a worker may have loaded the pointer just before it was cleared. */
  if (free_page != MAP_FAILED) munmap(free_page, 4096);
  int64_t calls = CounterValue("tlb_flush_remote_calls") - calls_before;
  int64_t hypercalls = CounterValue("tlb_flush_hypercalls") - hc_before;
  int64_t preempted = CounterValue("tlb_flush_preempted_skipped") - preempted_before;
  int64_t ipis = InterruptCount("TLB:") - ipis_before;
  printf("# tlb: backend=%s routed=%d rounds=%ld threads=%d elapsed_ms=%" PRId64
         " free_run_ms=%ld write_protects=%ld remote_calls=+%" PRId64 " flush_hypercalls=+%" PRId64
         " preempted_flagged=+%" PRId64 " shootdown_ipis=+%" PRId64 "\n",
         backend, routed, done, n, elapsed_ms, free_ms, protects, calls, hypercalls, preempted,
         ipis);
  printf("stat: linux_tlb_rounds=%ld linux_tlb_stale_reads=%ld linux_tlb_remote_calls=%" PRId64
         " linux_tlb_flush_hypercalls=%" PRId64 " linux_tlb_preempted_flagged=%" PRId64
         " linux_tlb_shootdown_ipis=%" PRId64 "\n",
         done, stale, calls, hypercalls, preempted, ipis);
  if (routed < 0 || calls_before < 0 || hc_before < 0 || preempted_before < 0) {
    Fail(name, "cannot read " SYSFS_DIR "/routed or the tlb_flush_* counters");
  } else if (!pinned) {
    Fail(name, "could not pin a thread on each of the %d CPUs", n);
  } else if (errors != 0 || done != rounds) {
    Fail(name, "%ld mmap/mprotect/munmap errors in %ld rounds", errors, done);
  } else if (stale != 0) {
    Fail(name, "%ld reads saw a stale page", stale);
  } else if (routed && calls < done) {
    Fail(name, "flushes are routed to the library, but only %" PRId64 " of at least %ld reached "
         "the backend", calls, done);
  } else if (routed && strcmp(backend, "hyperv") == 0 && hypercalls < done) {
    Fail(name, "Hyper-V flushes by hypercall, but only %" PRId64 " flush hypercalls for %ld rounds",
         hypercalls, done);
  } else if (!routed && (calls != 0 || hypercalls != 0)) {
    Fail(name, "flushes are not routed to the library, but it counted %" PRId64 " calls and %"
         PRId64 " hypercalls", calls, hypercalls);
  } else {
    Pass(name);
  }
}

/* ---- IPIs and cross-CPU wakeups ----------------------------------------------------------- */

static _Atomic int g_spin_stop;
static _Atomic int g_spinners_ready;
static _Atomic unsigned long g_spin_laps; /* every spinner's laps: it is running while they grow */

/* Keeps this address space running on its CPU, so that membarrier must interrupt that CPU. */
static void *Spinner(void *arg) {
  int cpu = (int)(intptr_t)arg;
  int pinned = PinTo(cpu);
  atomic_fetch_add(&g_spinners_ready, 1);
  while (!atomic_load(&g_spin_stop))
    atomic_fetch_add_explicit(&g_spin_laps, 1, memory_order_relaxed);
  return (void *)(intptr_t)pinned;
}

#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#endif

/* IPIs: the main thread, pinned on the first CPU, issues expedited private membarriers while a
 * thread of this process spins on every other CPU; a membarrier interrupts each CPU that runs
 * the spinner at that moment (the kernel's own count: the "CAL" line of /proc/interrupts; a CPU
 * whose spinner was switched out is skipped). Where the kernel sends its IPIs through the
 * library (routed has send_ipi) the library sent at least every one that arrived (ipis_sent);
 * elsewhere it sends none. A batch that took no IPI while no spinner ran a single lap (another
 * task had the CPU for the whole batch: 0.5 ms when nothing is interrupted) says nothing, and
 * is made again, up to kMembarrierBatches times; one in which a spinner ran must take one. */
static void CaseIpiMembarrier(void) {
  const char *name = "ipi.membarrier";
  static int cpus[MAX_CPUS];
  static pthread_t spinners[MAX_CPUS];
  char backend[64] = "none";
  if (!g_stock && !ReadForCase(name, SYSFS_DIR "/backend", backend, sizeof backend)) return;
  int routed = Routed("send_ipi");
  int n = AllowedCpus(cpus);
  if (n < 2) {
    Skip(name, "one CPU: no IPI to send");
    return;
  }
  if (!PinTo(cpus[0])) {
    Fail(name, "cannot pin the main thread to CPU %d", cpus[0]);
    return;
  }
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
    Fail(name, "membarrier register: %s", strerror(errno));
    return;
  }
  long barriers = CmdlineNumber("pvops_check.membarriers", 500);
  atomic_store(&g_spin_stop, 0);
  atomic_store(&g_spinners_ready, 0);
  for (int i = 1; i < n; ++i)
    pthread_create(&spinners[i], NULL, Spinner, (void *)(intptr_t)cpus[i]);
  while (atomic_load(&g_spinners_ready) != n - 1) sched_yield();
  int64_t sent_before = CounterValue("ipis_sent");
  int64_t hc_before = CounterValue("ipi_hypercalls");
  int64_t cal_before = InterruptCount("CAL:");
  enum { kMembarrierBatches = 5 };
  long errors = 0;
  int batches = 0;
  unsigned long laps = 0;
  struct phase phase;
  PhaseBegin(&phase, "ipi");
  for (;;) {
    unsigned long laps_before = atomic_load(&g_spin_laps);
    for (long i = 0; i < barriers; ++i)
      if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) ++errors;
    laps = atomic_load(&g_spin_laps) - laps_before;
    ++batches;
    if (laps != 0 || InterruptCount("CAL:") != cal_before || batches == kMembarrierBatches) break;
    printf("# ipi: batch %d took no IPI and no spinner ran during it: again\n", batches);
  }
  PhaseEnd(&phase);
  int64_t sent = CounterValue("ipis_sent") - sent_before;
  int64_t hypercalls = CounterValue("ipi_hypercalls") - hc_before;
  int64_t cal = InterruptCount("CAL:") - cal_before;
  atomic_store(&g_spin_stop, 1);
  int pinned = 1;
  for (int i = 1; i < n; ++i) {
    void *ret;
    pthread_join(spinners[i], &ret);
    pinned &= (int)(intptr_t)ret;
  }
  printf("# ipi: backend=%s routed=%d membarriers=%ld cpus=%d function_call_irqs=+%" PRId64
         " library ipis_sent=+%" PRId64 " ipi_hypercalls=+%" PRId64
         " batches=%d last_batch_laps=%lu\n",
         backend, routed, barriers, n, cal, sent, hypercalls, batches, laps);
  printf("stat: linux_membarriers=%ld linux_function_call_irqs=%" PRId64 " linux_ipis_sent=%" PRId64
         " linux_ipi_hypercalls=%" PRId64 "\n", barriers, cal, sent, hypercalls);
  if (routed < 0 || sent_before < 0 || cal_before < 0) {
    Fail(name, "cannot read " SYSFS_DIR "/routed, ipis_sent or /proc/interrupts");
  } else if (!pinned) {
    Fail(name, "could not pin a spinning thread on each of the %d other CPUs", n - 1);
  } else if (errors != 0) {
    Fail(name, "%ld of %ld membarriers failed", errors, barriers);
  } else if (cal <= 0 && laps == 0) {
    Fail(name, "no spinner ran during any of %d batches of %ld membarriers", batches, barriers);
  } else if (cal <= 0) {
    Fail(name, "%ld membarriers while a spinner ran, but the other CPUs took no function-call IPI",
         barriers);
  } else if (routed && sent < cal) {
    Fail(name, "IPIs are routed to the library, but it sent %" PRId64 " while the other CPUs "
         "took %" PRId64 " function-call IPIs", sent, cal);
  } else if (!routed && sent != 0) {
    Fail(name, "IPIs are not routed to the library, but it counted %" PRId64, sent);
  } else {
    Pass(name);
  }
}

struct pingpong {
  pthread_mutex_t lock;
  pthread_cond_t turn_changed;
  int turn;         /* 0: the main thread's turn, 1: the partner's */
  long rounds;
  long counter;     /* incremented under the lock by both threads */
  int partner_cpu;
  int pinned;
};

static void *PingPongPartner(void *arg) {
  struct pingpong *pp = arg;
  pp->pinned = PinTo(pp->partner_cpu);
  for (long r = 0; r < pp->rounds; ++r) {
    pthread_mutex_lock(&pp->lock);
    while (pp->turn != 1) pthread_cond_wait(&pp->turn_changed, &pp->lock);
    ++pp->counter;
    pp->turn = 0;
    pthread_cond_signal(&pp->turn_changed);
    pthread_mutex_unlock(&pp->lock);
  }
  return NULL;
}

/* Futex wakeups across CPUs: two threads pinned on different CPUs hand a turn back and forth
 * through a mutex and a condition variable, so each round puts one of them to sleep in a futex
 * and has the other wake it from its CPU. The count they keep under the lock must come out
 * exact; the wakeups reach the sleeping CPU as IPIs (the kernel's own count: "RES" and "CAL"),
 * through the library where routed has send_ipi. */
static void CaseFutexWakeups(void) {
  const char *name = "futex.wakeups";
  static int cpus[MAX_CPUS];
  int routed = Routed("send_ipi");
  int n = AllowedCpus(cpus);
  if (n < 2) {
    Skip(name, "one CPU: no cross-CPU wakeup");
    return;
  }
  struct pingpong pp = {.turn = 0, .rounds = CmdlineNumber("pvops_check.pingpongs", 2000),
                        .partner_cpu = cpus[1]};
  pthread_mutex_init(&pp.lock, NULL);
  pthread_cond_init(&pp.turn_changed, NULL);
  if (!PinTo(cpus[0])) {
    Fail(name, "cannot pin the main thread to CPU %d", cpus[0]);
    return;
  }
  int64_t sent_before = CounterValue("ipis_sent");
  int64_t irqs_before = InterruptCount("RES:") + InterruptCount("CAL:");
  pthread_t partner;
  struct phase phase;
  PhaseBegin(&phase, "futex");
  if (pthread_create(&partner, NULL, PingPongPartner, &pp) != 0) {
    Fail(name, "pthread_create failed");
    return;
  }
  int64_t t0 = MonotonicNs();
  for (long r = 0; r < pp.rounds; ++r) {
    pthread_mutex_lock(&pp.lock);
    while (pp.turn != 0) pthread_cond_wait(&pp.turn_changed, &pp.lock);
    ++pp.counter;
    pp.turn = 1;
    pthread_cond_signal(&pp.turn_changed);
    pthread_mutex_unlock(&pp.lock);
  }
  pthread_join(partner, NULL);
  int64_t elapsed_ms = (MonotonicNs() - t0) / 1000000;
  PhaseEnd(&phase);
  int64_t sent = CounterValue("ipis_sent") - sent_before;
  int64_t irqs = InterruptCount("RES:") + InterruptCount("CAL:") - irqs_before;
  printf("# futex: routed=%d rounds=%ld counter=%ld elapsed_ms=%" PRId64
         " wakeup_irqs=+%" PRId64 " library ipis_sent=+%" PRId64 "\n",
         routed, pp.rounds, pp.counter, elapsed_ms, irqs, sent);
  printf("stat: linux_futex_rounds=%ld linux_futex_wakeup_irqs=%" PRId64 "\n", pp.rounds, irqs);
  if (!pp.pinned) {
    Fail(name, "could not pin the partner thread to CPU %d", pp.partner_cpu);
  } else if (pp.counter != 2 * pp.rounds) {
    Fail(name, "the count kept under the lock is %ld, not %ld", pp.counter, 2 * pp.rounds);
  } else if (irqs <= 0) {
    Fail(name, "%ld handovers woke no CPU by IPI", pp.rounds);
  } else if (routed && sent <= 0) {
    Fail(name, "IPIs are routed to the library, but it sent none for %" PRId64 " wakeups", irqs);
  } else {
    Pass(name);
  }
}

/* ---- The clock from user space, yields, idle ---------------------------------------------- */

/* clock_gettime through the vDSO against the same call forced into the kernel. Where the
 * clocksource has a vDSO mode the vDSO reads it without entering the kernel and costs a fraction
 * of the system call; where it has none the vDSO makes that system call itself and the two cost
 * the same (in_user_space: the vDSO read at least twice as cheap). Checked: every vDSO reading
 * lies between the system-call readings taken just before and after it. */
static void CaseClockUserspace(void) {
  const char *name = "clock.userspace";
  long reads = CmdlineNumber("pvops_check.vdso_reads", 100000);
  char clocksource[64] = "?";
  ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource", clocksource,
           sizeof clocksource);
  struct timespec ts;
  struct phase phase;
  PhaseBegin(&phase, "vdso_clock");
  int64_t t0 = MonotonicNs();
  for (long i = 0; i < reads; ++i) clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t vdso_ns = MonotonicNs() - t0;
  PhaseEnd(&phase);
  PhaseBegin(&phase, "syscall_clock");
  t0 = MonotonicNs();
  for (long i = 0; i < reads; ++i) syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  int64_t syscall_ns = MonotonicNs() - t0;
  PhaseEnd(&phase);
  long outside = 0;
  for (int i = 0; i < 1000; ++i) {
    struct timespec before, vdso, after;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &before);
    clock_gettime(CLOCK_MONOTONIC, &vdso);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &after);
    int64_t b = TimespecNs(&before), v = TimespecNs(&vdso), a = TimespecNs(&after);
    outside += v < b || v > a;
  }
  int in_user_space = 2 * vdso_ns <= syscall_ns;
  printf("# vdso: clocksource=%s reads=%ld vdso_ns_per_read=%" PRId64 " syscall_ns_per_read=%"
         PRId64 " in_user_space=%d\n", clocksource, reads, vdso_ns / reads, syscall_ns / reads,
         in_user_space);
  printf("stat: linux_vdso_ns_per_read=%" PRId64 " linux_syscall_clock_ns_per_read=%" PRId64
         " linux_clock_in_user_space=%d\n", vdso_ns / reads, syscall_ns / reads, in_user_space);
  if (outside != 0)
    Fail(name, "%ld of 1000 vDSO readings fell outside the system-call readings around them",
         outside);
  else
    Pass(name);
}

struct yielder {
  pthread_t thread;
  int cpu, pinned;
  long calls, errors;
};

static void *Yielder(void *arg) {
  struct yielder *y = arg;
  y->pinned = PinTo(y->cpu);
  for (long i = 0; i < y->calls; ++i) y->errors += sched_yield() != 0;
  return NULL;
}

/* A sched_yield storm: one thread pinned on each CPU yields N times; every call returns 0. */
static void CaseSchedYield(void) {
  const char *name = "sched.yield";
  static int cpus[MAX_CPUS];
  static struct yielder yielders[MAX_CPUS];
  int n = AllowedCpus(cpus);
  long calls = CmdlineNumber("pvops_check.yields", 20000);
  struct phase phase;
  PhaseBegin(&phase, "yield");
  int started = 0;
  for (; started < n; ++started) {
    yielders[started] = (struct yielder){.cpu = cpus[started], .calls = calls};
    if (pthread_create(&yielders[started].thread, NULL, Yielder, &yielders[started]) != 0) break;
  }
  long errors = 0, unpinned = 0;
  for (int i = 0; i < started; ++i) {
    pthread_join(yielders[i].thread, NULL);
    errors += yielders[i].errors;
    unpinned += !yielders[i].pinned;
  }
  PhaseEnd(&phase);
  printf("# yield: threads=%d calls_per_thread=%ld errors=%ld\n", started, calls, errors);
  if (started != n)
    Fail(name, "started %d of %d threads", started, n);
  else if (unpinned != 0)
    Fail(name, "%ld threads could not be pinned", unpinned);
  else if (errors != 0)
    Fail(name, "%ld of %ld sched_yield calls failed", errors, calls * n);
  else
    Pass(name);
}

/* Idle: every CPU sleeps for pvops_check.idle_ms (halts and timer interrupts are the cost);
 * the sleep lasts at least that long and at most a second more. */
static void CaseIdleHalt(void) {
  const char *name = "idle.halt";
  long idle_ms = CmdlineNumber("pvops_check.idle_ms", 300);
  struct timespec nap = {.tv_sec = idle_ms / 1000, .tv_nsec = (idle_ms % 1000) * 1000000};
  struct phase phase;
  PhaseBegin(&phase, "idle");
  int64_t t0 = MonotonicNs();
  while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
  }
  int64_t slept_ms = (MonotonicNs() - t0) / 1000000;
  PhaseEnd(&phase);
  printf("# idle: asked_ms=%ld slept_ms=%" PRId64 "\n", idle_ms, slept_ms);
  if (slept_ms < idle_ms || slept_ms > idle_ms + 1000)
    Fail(name, "asked to sleep %ld ms, slept %" PRId64 " ms", idle_ms, slept_ms);
  else
    Pass(name);
}

/* ---- Steal time --------------------------------------------------------------------------- */

/* The steal column of /proc/stat's "cpu" line (in USER_HZ ticks), or -1. */
static int64_t StealTicks(void) {
  char buf[4096];
  unsigned long long v[8];
  if (ReadFile("/proc/stat", buf, sizeof buf) < 0 ||
      sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
             &v[4], &v[5], &v[6], &v[7]) != 8)
    return -1;
  return (int64_t)v[7];
}

/* Steal time in /proc/stat comes from the library exactly where the kernel takes it from there
 * (routed has steal): there it is reported (it may be 0 on an idle host); elsewhere it must
 * stay 0. */
static void CaseStealTime(void) {
  const char *name = "steal.time";
  int routed = Routed("steal");
  int64_t steal = StealTicks();
  printf("# steal: routed=%d /proc/stat steal=%" PRId64 " ticks\n", routed, steal);
  printf("stat: linux_steal_ticks=%" PRId64 "\n", steal);
  if (steal < 0 || routed < 0) {
    Fail(name, "cannot read the cpu line of /proc/stat or " SYSFS_DIR "/routed");
  } else if (g_stock) {
    Pass(name); /* Linux's own steal time, where its guest code takes it: reported above */
  } else if (!routed && steal != 0) {
    Fail(name, "steal time is not taken from the library, but /proc/stat shows %" PRId64 " ticks",
         steal);
  } else {
    Pass(name);
  }
}

static void EndMachine(int code) {
  fflush(stdout);
  tcdrain(STDOUT_FILENO); /* the closing line must leave the UART before QEMU does */
  if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0) {
    outl((unsigned)code, DEBUG_EXIT_PORT);
  } else {
    printf("# ioperm(0x%x): %s\n", DEBUG_EXIT_PORT, strerror(errno));
  }
  printf("# isa-debug-exit did not end the machine; powering off\n");
  fflush(stdout);
  tcdrain(STDOUT_FILENO);
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (ReadFile("/proc/cmdline", g_cmdline, sizeof g_cmdline) < 0) g_cmdline[0] = '\0';
  struct utsname u;
  if (uname(&u) == 0) printf("# pvops-check: Linux %s %s\n", u.release, u.machine);
  printf("# cmdline: %s\n", g_cmdline);
  g_stock = access(SYSFS_DIR, F_OK) != 0;
  printf("# kernel: %s\n", g_stock ? "stock (no " SYSFS_DIR ")" : "pvops");
  /* The VMM's counter ports answer "STAT"; elsewhere a read gives all ones (or nothing). */
  g_kvm_counters =
      ioperm(KVM_STATS_PORT_MAGIC, KVM_STATS_PORTS_END - KVM_STATS_PORT_MAGIC, 1) == 0 &&
      inl(KVM_STATS_PORT_MAGIC) == KVM_STATS_MAGIC;
  printf("# kvm counters: %s\n", g_kvm_counters ? "yes (pvops-vmm)" : "no");

  static void (*const kCases[])(void) = {
      CaseSysfsBackend, CaseSysfsCounters, CaseCpuCount,    CaseClockMonotonic,
      CaseClockSource,  CaseClockRealtime, CaseSysfsRouted, CaseTlbStorm,
      CaseIpiMembarrier, CaseFutexWakeups, CaseClockUserspace, CaseSchedYield,
      CaseIdleHalt,     CaseStealTime,
  };
  BringUpPresentCpus();
  CPU_ZERO(&g_start_affinity);
  sched_getaffinity(0, sizeof g_start_affinity, &g_start_affinity);
  for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; ++i) {
    kCases[i]();
    sched_setaffinity(0, sizeof g_start_affinity, &g_start_affinity);
  }
  PrintCounters();

  printf("%u passed, %u failed, %u skipped\n", g_passed, g_failed, g_skipped);
  int code = g_failed != 0 ? EXIT_FAIL : EXIT_PASS;
  if (getpid() == 1) EndMachine(code);
  return g_failed != 0 ? 1 : 0;
}
