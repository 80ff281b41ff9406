#include "tests/integration/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mled::integration {

std::string MledBinary() { return MLED_BINARY; }
std::string MlectlBinary() { return MLECTL_BINARY; }
std::string SourceDir() { return MLED_SOURCE_DIR; }

namespace {

std::string ReadAll(int fd) {
  std::string text;
  if (fd < 0) return text;
  char buffer[64 * 1024];
  off_t offset = 0;
  while (true) {
    const ssize_t n = pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return text;
}

int MakeOutputFile(const char* name) {
  // An anonymous in-memory file: nothing to clean up, and the child can never block on it.
  return memfd_create(name, MFD_CLOEXEC);
}

// Polls `done` with short, growing sleeps until it holds or `timeout` passes.
template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration nap = absl::Milliseconds(1);
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
}

// Splits "HOST:PORT" / "[v6]:PORT" and returns the port, or 0.
int PortOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return 0;
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port)) return 0;
  return port;
}

bool HasFlag(const std::vector<std::string>& flags, absl::string_view name) {
  for (const std::string& flag : flags) {
    absl::string_view f = flag;
    if (absl::StartsWith(f, "--")) {
      f.remove_prefix(2);
    } else if (absl::StartsWith(f, "-")) {
      f.remove_prefix(1);
    } else {
      continue;
    }
    if (f == name || absl::StartsWith(f, absl::StrCat(name, "="))) return true;
  }
  return false;
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return absl::StrCat("exit ", code);
  if (signal != 0) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return "still running";
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& stdin_path) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->command_line_ = absl::StrCat(binary, args.empty() ? "" : " ", absl::StrJoin(args, " "));
  child->stdout_fd_ = MakeOutputFile("child-stdout");
  child->stderr_fd_ = MakeOutputFile("child-stderr");
  if (child->stdout_fd_ < 0 || child->stderr_fd_ < 0) {
    return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  }
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot execute ", binary, ": ", std::strerror(errno)));
  }

  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process may have other threads).
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string stdin_file = stdin_path.empty() ? "/dev/null" : stdin_path;
  const int out_fd = child->stdout_fd_;
  const int err_fd = child->stderr_fd_;
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    // Child. Die with the thread that started us, so a crashing test leaks no daemon.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int in_fd = open(stdin_file.c_str(), O_RDONLY);
    if (in_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    // No descriptor of the test process (client sockets, ...) may live on in the child.
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
      for (int fd = 3; fd < 65536; ++fd) close(fd);
    }
    // Start as a shell would: default dispositions, nothing blocked.
    struct sigaction default_action;
    std::memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &default_action, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_.has_value()) Kill();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

bool ChildProcess::TryReap() {
  if (exit_.has_value()) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  ExitStatus result;
  if (r < 0) {
    // Should not happen (someone else reaped it); report it as such rather than hang.
    result.exited = false;
    result.signal = 0;
    result.code = -1;
  } else if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  exit_ = result;
  return true;
}

bool ChildProcess::SendSignal(int signal) {
  if (pid_ <= 0 || exit_.has_value()) return false;
  return kill(pid_, signal) == 0;
}

std::optional<ExitStatus> ChildProcess::WaitForExit(absl::Duration timeout) {
  if (PollUntil([this] { return TryReap(); }, timeout)) return exit_;
  return std::nullopt;
}

bool ChildProcess::Running() { return !TryReap(); }

ExitStatus ChildProcess::Kill() {
  if (!exit_.has_value()) {
    kill(pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    ExitStatus result;
    if (r == pid_ && WIFEXITED(status)) {
      result.exited = true;
      result.code = WEXITSTATUS(status);
    } else if (r == pid_ && WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
    exit_ = result;
  }
  return *exit_;
}

std::string ChildProcess::StdoutText() const { return ReadAll(stdout_fd_); }
std::string ChildProcess::StderrText() const { return ReadAll(stderr_fd_); }

ProgramResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                         absl::Duration timeout, const std::string& stdin_path) {
  ProgramResult result;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(binary, args, stdin_path);
  if (!child.ok()) {
    result.err = std::string(child.status().message());
    return result;
  }
  std::optional<ExitStatus> status = (*child)->WaitForExit(timeout);
  if (!status.has_value()) {
    result.timed_out = true;
    status = (*child)->Kill();
  }
  result.status = *status;
  result.out = (*child)->StdoutText();
  result.err = (*child)->StderrText();
  return result;
}

ProgramResult RunMled(std::vector<std::string> args, bool ephemeral) {
  if (ephemeral) {
    args.insert(args.begin(),
                {"--listen=127.0.0.1:0", "--udp=127.0.0.1:0", "--http=", "--statsd="});
  }
  return RunProgram(MledBinary(), args, absl::Seconds(30));
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(
    const std::vector<std::string>& flags, absl::Duration startup_timeout) {
  std::vector<std::string> args;
  if (!HasFlag(flags, "listen")) args.push_back("--listen=127.0.0.1:0");
  if (!HasFlag(flags, "udp")) args.push_back("--udp=127.0.0.1:0");
  if (!HasFlag(flags, "http")) args.push_back("--http=");
  if (!HasFlag(flags, "statsd")) args.push_back("--statsd=");
  if (!HasFlag(flags, "io_threads")) args.push_back("--io_threads=2");
  if (!HasFlag(flags, "publish_interval")) args.push_back("--publish_interval=100ms");
  args.insert(args.end(), flags.begin(), flags.end());

  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(MledBinary(), args);
  if (!child.ok()) return child.status();
  daemon->process_ = *std::move(child);
  ChildProcess& process = *daemon->process_;

  constexpr absl::string_view kPrefix = "mled listening on tcp ";
  std::string line;
  const bool found = PollUntil(
      [&] {
        const std::string out = process.StdoutText();
        const size_t start = out.find(kPrefix.data(), 0, kPrefix.size());
        if (start != std::string::npos) {
          const size_t end = out.find('\n', start);
          if (end != std::string::npos) {
            line = out.substr(start, end - start);
            return true;
          }
        }
        return !process.Running();
      },
      startup_timeout);
  if (line.empty()) {
    const std::string why =
        found ? absl::StrCat("mled exited before its startup line (",
                             process.exit_status()->ToString(), ")")
              : absl::StrCat("no startup line from mled within ",
                             absl::FormatDuration(startup_timeout));
    const std::string message =
        absl::StrCat(why, "; command: ", process.command_line(), "\nstdout:\n",
                     Tail(process.StdoutText()), "\nstderr:\n", Tail(process.StderrText()));
    // The destructor must not report this failure again.
    process.Kill();
    return found ? absl::FailedPreconditionError(message) : absl::DeadlineExceededError(message);
  }
  daemon->startup_line_ = line;
  // "mled listening on tcp HOST:PORT, udp HOST:PORT, http HOST:PORT, statsd HOST:PORT (...)",
  // each but tcp possibly "off".
  absl::string_view rest = line;
  rest.remove_prefix(kPrefix.size() - 4);  // keep "tcp "
  const size_t paren = rest.find(" (");
  if (paren != absl::string_view::npos) rest = rest.substr(0, paren);
  absl::flat_hash_map<std::string, std::string> addresses;
  for (absl::string_view part : absl::StrSplit(rest, ", ")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits(' ', 1));
    addresses[kv.first] = kv.second == "off" ? "" : kv.second;
  }
  daemon->tcp_address_ = addresses["tcp"];
  daemon->udp_address_ = addresses["udp"];
  daemon->http_address_ = addresses["http"];
  daemon->statsd_address_ = addresses["statsd"];
  daemon->tcp_port_ = PortOf(daemon->tcp_address_);
  daemon->udp_port_ = daemon->udp_address_.empty() ? 0 : PortOf(daemon->udp_address_);
  for (const std::string* address :
       {&daemon->udp_address_, &daemon->http_address_, &daemon->statsd_address_}) {
    if (!address->empty() && PortOf(*address) <= 0) {
      process.Kill();
      return absl::InternalError(absl::StrCat("no valid ports in the startup line: ", line));
    }
  }
  if (daemon->tcp_port_ <= 0) {
    process.Kill();
    return absl::InternalError(absl::StrCat("no valid ports in the startup line: ", line));
  }
  return daemon;
}

DaemonProcess::~DaemonProcess() {
  if (!process_) return;
  ChildProcess& process = *process_;
  if (process.Running()) {
    process.SendSignal(SIGTERM);
    std::optional<ExitStatus> status = process.WaitForExit(absl::Seconds(20));
    if (!status.has_value()) {
      process.Kill();
      ADD_FAILURE() << "mled did not exit within 20 s of SIGTERM (killed it); stderr:\n"
                    << Tail(process.StderrText());
    } else if (!status->ExitedWith(0)) {
      ADD_FAILURE() << "mled ended with " << status->ToString()
                    << " after SIGTERM (expected exit 0); stderr:\n"
                    << Tail(process.StderrText());
    }
  }
  const std::string err = process.StderrText();
  if (HasSanitizerReport(err)) {
    // Reports are long; keep all of it in a file and show the first one.
    const std::string path = absl::StrCat(testing::TempDir(), "mled-", process.pid(), ".stderr");
    std::ofstream(path, std::ios::trunc) << err;
    ADD_FAILURE() << "sanitizer report in mled's stderr (all of it in " << path << "):\n"
                  << err.substr(0, 12000);
  }
}

bool HasSanitizerReport(const std::string& text) {
  return absl::StrContains(text, "ERROR: AddressSanitizer") ||
         absl::StrContains(text, "ERROR: LeakSanitizer") ||
         absl::StrContains(text, "WARNING: ThreadSanitizer") ||
         absl::StrContains(text, "ThreadSanitizer: reported") ||
         absl::StrContains(text, "runtime error:");
}

std::string Tail(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return absl::StrCat("...", text.substr(text.size() - max_bytes));
}

}  // namespace mled::integration
