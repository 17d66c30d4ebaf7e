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
  // A sample is a clock read bracketed by two rdtsc: the tightest of a few tries, so a vCPU
  // preempted mid-sample cannot skew the ratio. The bracket bounds how far the clock read may be
  // from the TSC value it is paired with; the window is made long enough that both brackets
  // together stay within a fifth of the tolerance. Where rdtsc itself exits (a PVH dom0 on
  // TCG's emulated SVM: ~50 us each) that takes a longer window, never a looser bound.
  constexpr uint64_t kTolerancePpm = 1000;  // 0.1%
  constexpr uint64_t kBracketBudgetPpm = kTolerancePpm / 5;
  struct Sample {
    uint64_t clock, tsc, bracket;
  };
  auto sample = []() {
    Sample best{0, 0, ~uint64_t{0}};
    for (int attempt = 0; attempt < 16; ++attempt) {
      const uint64_t before = Rdtsc();
      const uint64_t now = pvops::ClockNs();
      const uint64_t after = Rdtsc();
      if (after - before < best.bracket) best = {now, before + (after - before) / 2, after - before};
    }
    return best;
  };
  constexpr uint64_t kMaxWindowNs = 4 * kNsPerSec;
  pvops::IrqDisable();
  const Sample s0 = sample();
  // Take the end sample after 80 ms, then keep stretching the window (the same s0) until both
  // brackets fit the budget: one lucky tight first bracket must not decide the window alone.
  SpinFor(80 * kNsPerMs);
  Sample s1 = sample();
  uint64_t clock_ns = 0, brackets_ns = 0, bracket_ppm = 0;
  for (;;) {
    clock_ns = s1.clock - s0.clock;
    brackets_ns = (s0.bracket + s1.bracket) * 1'000'000 / tsc_khz;
    bracket_ppm = brackets_ns * 1'000'000 / (clock_ns != 0 ? clock_ns : 1);
    if (bracket_ppm <= kBracketBudgetPpm || clock_ns >= kMaxWindowNs) break;
    // Long enough for these brackets, with room for a wider next one.
    SpinFor(2 * brackets_ns * 1'000'000 / kBracketBudgetPpm - clock_ns);
    s1 = sample();
  }
  pvops::IrqEnable();
  const uint64_t tsc_ns = (s1.tsc - s0.tsc) * 1'000'000 / tsc_khz;
  const uint64_t diff = clock_ns > tsc_ns ? clock_ns - tsc_ns : tsc_ns - clock_ns;
  // Parts per million of the window.
  const uint64_t ppm = diff * 1'000'000 / (clock_ns != 0 ? clock_ns : 1);
  Note("tsc_rate: tsc_khz %lu, window %lu us by clock, %lu us by TSC, off by %lu ppm "
       "(brackets %lu ns = %lu ppm)",
       tsc_khz, clock_ns / kNsPerUs, tsc_ns / kNsPerUs, ppm, brackets_ns, bracket_ppm);
  if (bracket_ppm > kBracketBudgetPpm)
    return Result::Fail("samples too loose to judge: brackets %lu ns are %lu ppm of the window",
                        brackets_ns, bracket_ppm);
  if (ppm > kTolerancePpm)
    return Result::Fail("clock and TSC disagree by %lu ppm (> %lu)", ppm, kTolerancePpm);
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
