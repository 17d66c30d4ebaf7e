// SPDX-License-Identifier: MIT
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pvops_run {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupt_requested = 0;

constexpr std::size_t kMaxLineBytes = 64 * 1024;
constexpr int kPollTickMs = 50;         // how often exit, deadline and interrupt are checked
constexpr int kReadChunksPerTick = 16;  // bounds one tick's reading so a flood meets the clock
constexpr double kGiveUpAfterKillSeconds = 10;  // a child stuck in the kernel is left behind

Clock::time_point After(Clock::time_point from, double seconds) {
  return from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

class LineSplitter {
 public:
  LineSplitter(OutputStream stream, const LineSink& sink) : stream_(stream), sink_(sink) {}

  void Append(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        Emit();
        continue;
      }
      pending_.push_back(data[i]);
      if (pending_.size() >= kMaxLineBytes) Emit();
    }
  }

  void Finish() {
    if (!pending_.empty()) Emit();
  }

 private:
  void Emit() {
    sink_(stream_, pending_);
    pending_.clear();
  }

  OutputStream stream_;
  const LineSink& sink_;
  std::string pending_;
};

struct OutputPipe {
  int fd = -1;
  LineSplitter splitter;
};

// Reads what is there without blocking; closes the pipe at end of file.
void DrainPipe(OutputPipe& pipe) {
  std::array<char, 64 * 1024> buffer;
  for (int chunk = 0; chunk < kReadChunksPerTick && pipe.fd >= 0; ++chunk) {
    ssize_t got = read(pipe.fd, buffer.data(), buffer.size());
    if (got > 0) {
      pipe.splitter.Append(buffer.data(), static_cast<std::size_t>(got));
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close(pipe.fd);  // EOF or a read error: nothing more will come
    pipe.fd = -1;
    pipe.splitter.Finish();
  }
}

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void ExecChild(char* const argv[], const char* working_directory, int stdout_fd,
                            int stderr_fd, int error_fd, pid_t parent) {
  setsid();  // own session and process group: the runner can end the group, the tty stays ours
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // if the runner dies hard, its direct child goes too
  if (getppid() != parent) _exit(127);

  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);  // QEMU must not read (or raw-mode) our tty
  dup2(stdout_fd, STDOUT_FILENO);
  dup2(stderr_fd, STDERR_FILENO);

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) signal(sig, SIG_DFL);

  int error = 0;
  if (working_directory != nullptr && chdir(working_directory) != 0) {
    error = errno;
  } else {
    execvp(argv[0], argv);
    error = errno;
  }
  ssize_t ignored = write(error_fd, &error, sizeof error);
  (void)ignored;
  _exit(127);
}

std::optional<int> ExitedStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return std::nullopt;
}

std::optional<int> SignalOf(int status) {
  if (WIFSIGNALED(status)) return WTERMSIG(status);
  return std::nullopt;
}

// True once `pid` has exited; leaves it a zombie so its process group id cannot be reused yet.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;  // already reaped by someone else: gone all the same
  }
  return info.si_pid == pid;
}

}  // namespace

void RequestInterrupt() { g_interrupt_requested = 1; }
bool InterruptRequested() { return g_interrupt_requested != 0; }

ChildOutcome RunChild(const ChildSpec& spec, const LineSink& sink) {
  ChildOutcome outcome;
  if (spec.argv.empty()) {
    outcome.start_error = "nothing to run";
    return outcome;
  }
  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const char* working_directory =
      spec.working_directory.empty() ? nullptr : spec.working_directory.c_str();

  int stdout_pipe[2], stderr_pipe[2], error_pipe[2];
  if (pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    outcome.start_error = absl::StrCat("pipe: ", std::strerror(errno));
    return outcome;
  }
  if (pipe2(stderr_pipe, O_CLOEXEC) != 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    outcome.start_error = absl::StrCat("pipe: ", std::strerror(errno));
    for (int fd : {stdout_pipe[0], stdout_pipe[1], stderr_pipe[0], stderr_pipe[1]}) close(fd);
    return outcome;
  }

  // With SIGCHLD ignored (inheritable from whoever started us) the kernel would reap the child
  // itself and its exit status would be lost.
  signal(SIGCHLD, SIG_DFL);

  const Clock::time_point start = Clock::now();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ExecChild(argv.data(), working_directory, stdout_pipe[1], stderr_pipe[1], error_pipe[1],
              parent);
  }
  for (int fd : {stdout_pipe[1], stderr_pipe[1], error_pipe[1]}) close(fd);
  if (pid < 0) {
    outcome.start_error = absl::StrCat("fork: ", std::strerror(errno));
    for (int fd : {stdout_pipe[0], stderr_pipe[0], error_pipe[0]}) close(fd);
    return outcome;
  }

  // The error pipe closes on a successful exec; otherwise it carries exec's errno.
  int exec_error = 0;
  ssize_t got;
  do {
    got = read(error_pipe[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (got == sizeof exec_error) {
    int status = 0;
    waitpid(pid, &status, 0);
    outcome.start_error =
        absl::StrCat("cannot run ", spec.argv[0], ": ", std::strerror(exec_error));
    close(stdout_pipe[0]);
    close(stderr_pipe[0]);
    return outcome;
  }

  std::array<OutputPipe, 2> pipes = {OutputPipe{stdout_pipe[0], {OutputStream::kStdout, sink}},
                                     OutputPipe{stderr_pipe[0], {OutputStream::kStderr, sink}}};
  for (OutputPipe& pipe : pipes) fcntl(pipe.fd, F_SETFL, fcntl(pipe.fd, F_GETFL) | O_NONBLOCK);

  const Clock::time_point deadline = After(start, spec.timeout_seconds);
  bool exited = false;
  Clock::time_point exit_time;
  std::optional<Clock::time_point> term_sent_at;
  std::optional<Clock::time_point> kill_sent_at;

  while (true) {
    std::array<pollfd, 2> poll_fds;
    std::array<OutputPipe*, 2> polled;
    nfds_t count = 0;
    for (OutputPipe& pipe : pipes) {
      if (pipe.fd < 0) continue;
      poll_fds[count] = pollfd{pipe.fd, POLLIN, 0};
      polled[count++] = &pipe;
    }
    // With no pipe left open this is a plain sleep of one tick.
    if (poll(poll_fds.data(), count, kPollTickMs) > 0) {
      for (nfds_t i = 0; i < count; ++i) {
        if (poll_fds[i].revents != 0) DrainPipe(*polled[i]);
      }
    }

    Clock::time_point now = Clock::now();
    if (!exited && HasExited(pid)) {
      exited = true;
      exit_time = now;
    }
    if (exited) {
      bool all_closed = pipes[0].fd < 0 && pipes[1].fd < 0;
      // A grandchild may hold the pipes open: wait for it only a moment.
      if (all_closed || SecondsBetween(exit_time, now) >= spec.drain_after_exit_seconds) break;
      continue;
    }
    if (!term_sent_at && (InterruptRequested() || now >= deadline)) {
      outcome.interrupted = InterruptRequested();
      outcome.timed_out = !outcome.interrupted;
      kill(-pid, SIGTERM);
      term_sent_at = now;
    }
    if (term_sent_at && !kill_sent_at &&
        SecondsBetween(*term_sent_at, now) >= spec.kill_grace_seconds) {
      kill(-pid, SIGKILL);
      kill_sent_at = now;
    }
    if (kill_sent_at && SecondsBetween(*kill_sent_at, now) >= kGiveUpAfterKillSeconds) break;
  }

  // Whatever is left of its group (the leader is still an unreaped zombie, so the id is ours).
  kill(-pid, SIGKILL);
  int status = 0;
  if (waitpid(pid, &status, exited ? 0 : WNOHANG) == pid) {
    outcome.exit_status = ExitedStatus(status);
    outcome.term_signal = SignalOf(status);
  }
  outcome.wall_seconds = SecondsBetween(start, exited ? exit_time : Clock::now());
  for (OutputPipe& pipe : pipes) {
    if (pipe.fd < 0) continue;
    close(pipe.fd);
    pipe.splitter.Finish();
  }
  return outcome;
}

}  // namespace pvops_run
