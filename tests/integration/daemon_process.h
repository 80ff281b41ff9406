// Child processes for the integration tests: the real `mled` daemon, and one-shot programs
// (`mlectl`, or mled runs that are expected to fail at startup).
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<DaemonProcess> daemon,
//                        DaemonProcess::Start({"--max_streams=100"}));
//   ... connect to daemon->tcp_address(), send datagrams to daemon->udp_address() ...
//   // ~DaemonProcess: SIGTERM, wait (bounded), SIGKILL if needed; never leaks a daemon.
//
// Each daemon listens on ephemeral loopback ports (--listen=127.0.0.1:0 --udp=127.0.0.1:0, unless
// the test passes its own) and the real ports are parsed from its startup line. stdout and stderr
// go to anonymous temporary files (unlinked at once, so nothing is left behind and a chatty
// daemon can never block on a full pipe); StdoutText/StderrText read them back at any time.
//
// Children are started with fork+exec: the child closes every inherited descriptor but 0-2 and
// asks the kernel (PR_SET_PDEATHSIG) to SIGKILL it if the thread that started it dies, so even a
// test binary that crashes leaves no daemon behind. Start children from the test's main thread,
// before starting threads of your own where possible.
//
// Not thread-safe: use one ChildProcess/DaemonProcess from one thread (SendSignal and the
// *Text readers may be called from any thread).
#ifndef MLED_TESTS_INTEGRATION_DAEMON_PROCESS_H_
#define MLED_TESTS_INTEGRATION_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mled::integration {

// Paths given by CMake (compile definitions MLED_BINARY, MLECTL_BINARY, MLED_SOURCE_DIR).
std::string MledBinary();
std::string MlectlBinary();
std::string SourceDir();

// How a child ended.
struct ExitStatus {
  bool exited = false;  // by exit(); `code` holds its status
  int code = -1;
  int signal = 0;       // the signal that killed it, when !exited
  // "exit 0", "killed by signal 9 (Killed)".
  std::string ToString() const;
  bool ExitedWith(int expected) const { return exited && code == expected; }
};

class ChildProcess {
 public:
  // Starts `binary` with `args` (argv[1..]); stdin from /dev/null unless `stdin_path` is given.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& stdin_path = "");
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The command line, for messages.
  const std::string& command_line() const { return command_line_; }

  // Sends `signal` unless the child was already reaped. False if it could not be sent.
  bool SendSignal(int signal);
  // Waits up to `timeout` for the child to end; nullopt if it is still running then. Once the
  // child is reaped, returns its status at once on every call.
  std::optional<ExitStatus> WaitForExit(absl::Duration timeout);
  // True while the child has not ended (reaps it if it just did).
  bool Running();
  // SIGKILL and reap.
  ExitStatus Kill();
  // The status once reaped.
  const std::optional<ExitStatus>& exit_status() const { return exit_; }

  // Everything the child wrote so far.
  std::string StdoutText() const;
  std::string StderrText() const;

 private:
  ChildProcess() = default;
  bool TryReap();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string command_line_;
  std::optional<ExitStatus> exit_;
};

// The result of RunProgram.
struct ProgramResult {
  ExitStatus status;
  bool timed_out = false;  // killed after `timeout`
  std::string out;
  std::string err;
};

// Runs `binary args...` to completion, killing it after `timeout`.
ProgramResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                         absl::Duration timeout = absl::Seconds(30),
                         const std::string& stdin_path = "");

// Runs mled with `args` to completion (for runs expected to fail at startup), on ephemeral
// loopback ports unless `ephemeral` is false.
ProgramResult RunMled(std::vector<std::string> args, bool ephemeral = true);

class DaemonProcess {
 public:
  // How long Start waits for the startup line by default (generous for sanitizer builds on a
  // loaded machine; a healthy daemon prints it within milliseconds).
  static constexpr absl::Duration kStartupTimeout = absl::Seconds(20);

  // Starts mled with `flags` appended to the defaults --listen=127.0.0.1:0, --udp=127.0.0.1:0,
  // --http= and --statsd= (off), --io_threads=2 and --publish_interval=100ms (a default is left out when `flags` sets that
  // flag), and waits for the startup line. FAILED_PRECONDITION with the exit status and stderr
  // if mled exits first; DEADLINE_EXCEEDED if no line comes within `startup_timeout`.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(
      const std::vector<std::string>& flags = {}, absl::Duration startup_timeout = kStartupTimeout);

  // Stops the daemon if it runs: SIGTERM, then up to 20 s for it to exit, then SIGKILL. Records
  // a test failure (ADD_FAILURE) if it had to be killed, if it exited with a status other than 0
  // after that SIGTERM, or if its stderr holds a sanitizer report, so every test also checks
  // that the daemon stops cleanly and is free of sanitizer findings.
  ~DaemonProcess();

  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // "127.0.0.1:PORT" as printed in the startup line; udp_address(), http_address() and
  // statsd_address() are empty when that interface is off (HTTP and StatsD are off unless the
  // test passes e.g. --http=127.0.0.1:0 / --statsd=127.0.0.1:0).
  const std::string& tcp_address() const { return tcp_address_; }
  const std::string& udp_address() const { return udp_address_; }
  const std::string& http_address() const { return http_address_; }
  const std::string& statsd_address() const { return statsd_address_; }
  int tcp_port() const { return tcp_port_; }
  int udp_port() const { return udp_port_; }
  const std::string& startup_line() const { return startup_line_; }

  bool SendSignal(int signal) { return process_->SendSignal(signal); }
  std::optional<ExitStatus> WaitForExit(absl::Duration timeout) {
    return process_->WaitForExit(timeout);
  }
  bool Running() { return process_->Running(); }
  pid_t pid() const { return process_->pid(); }
  std::string StdoutText() const { return process_->StdoutText(); }
  std::string StderrText() const { return process_->StderrText(); }
  ChildProcess& process() { return *process_; }

 private:
  DaemonProcess() = default;

  std::unique_ptr<ChildProcess> process_;
  std::string startup_line_;
  std::string tcp_address_;
  std::string udp_address_;
  std::string http_address_;
  std::string statsd_address_;
  int tcp_port_ = 0;
  int udp_port_ = 0;
};

// True when `text` holds a report of ASan, UBSan, LSan or TSan.
bool HasSanitizerReport(const std::string& text);

// The last `max_bytes` of `text` (whole, if shorter), for failure messages.
std::string Tail(const std::string& text, size_t max_bytes = 4000);

}  // namespace mled::integration

#endif  // MLED_TESTS_INTEGRATION_DAEMON_PROCESS_H_
