// time.*: the paravirtual clock is monotonic on and across CPUs, runs at the TSC's rate, and the
// wall clock and steal time are sane.
#include <pvops/pvops.hpp>

#include "kernel/deadline.h"
#include "kernel/smp.h"
#include "suite/cases.h"

namespace guest::suite {
namespace {

inline uint64_t Rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

// Two CPUs take turns: each reads the clock on its turn and checks it against the other's
// last reading, so every cross-CPU pair is ordered by the turn handover (acquire/release).
struct PingPong {
  uint64_t stamp;
  uint32_t turn;
  uint32_t rounds;
  uint32_t backwards;
  uint64_t worst_backwards_ns;
  uint32_t timed_out;
};
PingPong g_ping_pong;

void PlayPingPong(uint32_t role) {
  PingPong& p = g_ping_pong;
  for (uint32_t i = 0; i < p.rounds; ++i) {
    const bool my_turn = WaitUntil(kNsPerSec, [role] {
      return __atomic_load_n(&g_ping_pong.turn, __ATOMIC_ACQUIRE) % 2 == role;
    });
    if (!my_turn) {
      __atomic_store_n(&p.timed_out, 1u, __ATOMIC_RELAXED);
      return;
    }
    const uint64_t now = pvops::ClockNs();
    if (now < p.stamp) {
      ++p.backwards;
      if (p.stamp - now > p.worst_backwards_ns) p.worst_backwards_ns = p.stamp - now;
    }
    p.stamp = now;
    __atomic_add_fetch(&p.turn, 1u, __ATOMIC_RELEASE);
  }
}

void PlayPingPongAsCpu1(void*) { PlayPingPong(1); }

// Days since 1970-01-01 to a civil year (Howard Hinnant's algorithm, year only).
uint64_t YearOfDays(uint64_t days) {
  const uint64_t z = days + 719468;
  const uint64_t era = z / 146097;
  const uint64_t doe = z - era * 146097;
  const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint64_t mp = (5 * doy + 2) / 153;
  const uint64_t month = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace

Result TimeMonotonic() {
  constexpr uint32_t kReads = 200'000;
  uint64_t previous = pvops::ClockNs();
  const uint64_t first = previous;
  for (uint32_t i = 0; i < kReads; ++i) {
    const uint64_t now = pvops::ClockNs();
    if (now < previous) return Result::Fail("read %u went back %lu ns on cpu 0", i, previous - now);
    previous = now;
  }
  if (previous == first) return Result::Fail("the clock did not advance over %u reads", kReads);
  Note("monotonic: %u reads on cpu 0 over %lu us", kReads, (previous - first) / kNsPerUs);

  if (!CpuOnline(1)) return Result::Skip("cross-CPU part needs 2 vCPUs, have %u", OnlineCpus());
  g_ping_pong = PingPong{};
  g_ping_pong.rounds = 2000;
  if (!PostWork(1, PlayPingPongAsCpu1, nullptr)) return Result::Fail("cpu 1 is busy");
  PlayPingPong(0);
  if (!WaitForWork(1, 2 * kNsPerSec)) return Result::Fail("cpu 1 did not finish the handovers");
  if (g_ping_pong.timed_out)
    return Result::Fail("a handover timed out after %u turns", g_ping_pong.turn);
  if (g_ping_pong.backwards != 0)
    return Result::Fail("%u of %u cross-CPU handovers saw the clock go back (worst %lu ns)",
                        g_ping_pong.backwards, 2 * g_ping_pong.rounds,
                        g_ping_pong.worst_backwards_ns);
  return Result::Pass();
}

Result TimeTscRate() {
  const uint64_t tsc_khz = pvops::TscKhz();
  if (tsc_khz == 0) return Result::Fail("tsc_khz is 0");
  // A sample is (clock, tsc) read close together: a clock read bracketed by two rdtsc, kept only
  // when the bracket is tight, so a vCPU preempted mid-sample cannot skew the ratio.
  const uint64_t tight_cycles = tsc_khz * 20 / 1000;  // 20 us
  auto sample = [tight_cycles](uint64_t* clock, uint64_t* tsc) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const uint64_t before = Rdtsc();
      const uint64_t now = pvops::ClockNs();
      const uint64_t after = Rdtsc();
      if (after - before <= tight_cycles) {
        *clock = now;
        *tsc = before + (after - before) / 2;
        return true;
      }
    }
    return false;
  };
  pvops::IrqDisable();
  uint64_t clock0, tsc0, clock1, tsc1;
  const bool ok0 = sample(&clock0, &tsc0);
  SpinFor(80 * kNsPerMs);
  const bool ok1 = sample(&clock1, &tsc1);
  pvops::IrqEnable();
  if (!ok0 || !ok1) return Result::Fail("no clock read within 20 us of rdtsc in 1000 tries");
  const uint64_t clock_ns = clock1 - clock0;
  const uint64_t tsc_ns = (tsc1 - tsc0) * 1'000'000 / tsc_khz;
  const uint64_t diff = clock_ns > tsc_ns ? clock_ns - tsc_ns : tsc_ns - clock_ns;
  // Parts per million of the window; 0.1% = 1000 ppm.
  const uint64_t ppm = diff * 1'000'000 / (clock_ns != 0 ? clock_ns : 1);
  Note("tsc_rate: tsc_khz %lu, window %lu us by clock, %lu us by TSC, off by %lu ppm", tsc_khz,
       clock_ns / kNsPerUs, tsc_ns / kNsPerUs, ppm);
  if (ppm > 1000) return Result::Fail("clock and TSC disagree by %lu ppm (> 1000)", ppm);
  return Result::Pass();
}

Result TimeWallClock() {
  pvops_wall_clock first{}, second{};
  const pvops::Status st = pvops::WallClock(&first);
  if (!st.ok()) return Result::Fail("wall_clock returned %s", st.name());
  const uint64_t year = YearOfDays(first.sec / 86400);
  Note("wall clock: %lu.%09u s since the epoch, year %lu", first.sec, first.nsec, year);
  if (first.nsec >= 1'000'000'000) return Result::Fail("nsec %u is not below 1e9", first.nsec);
  if (year < 2020 || year > 2100) return Result::Fail("year %lu outside 2020..2100", year);
  SpinFor(50 * kNsPerMs);
  const pvops::Status st2 = pvops::WallClock(&second);
  if (!st2.ok()) return Result::Fail("second wall_clock returned %s", st2.name());
  const uint64_t ns1 = first.sec * kNsPerSec + first.nsec;
  const uint64_t ns2 = second.sec * kNsPerSec + second.nsec;
  if (ns2 < ns1) return Result::Fail("wall clock went back %lu ns over 50 ms", ns1 - ns2);
  if (ns2 - ns1 > 2 * kNsPerSec)
    return Result::Fail("wall clock advanced %lu ms over a 50 ms wait", (ns2 - ns1) / kNsPerMs);
  return Result::Pass();
}

Result TimeSteal() {
  const uint64_t start = pvops::ClockNs();
  const uint64_t steal0 = pvops::StealNs(0);
  SpinFor(20 * kNsPerMs);
  const uint64_t steal1 = pvops::StealNs(0);
  const uint64_t elapsed = pvops::ClockNs() - start;
  Note("steal: cpu 0 %lu ns then %lu ns over %lu us", steal0, steal1, elapsed / kNsPerUs);
  if (steal1 < steal0) return Result::Fail("steal time went back %lu ns", steal0 - steal1);
  // Time stolen in a window cannot exceed the window (1 ms slack for the reads themselves).
  if (steal1 - steal0 > elapsed + kNsPerMs)
    return Result::Fail("%lu ns stolen within a %lu ns window", steal1 - steal0, elapsed);
  return Result::Pass();
}

}  // namespace guest::suite
