// statsd_load: a StatsD load generator. Sends lines "NAME:VALUE|TYPE" to HOST:PORT over UDP in
// sendmmsg batches, at a target rate (paced in 1 ms slices) or flat out, for a duration, and
// reports what it sent, the achieved rate and its own CPU time (getrusage).
//
//   statsd_load --target=127.0.0.1:8125 --names=1000 --lines_per_datagram=20 --type=ms
//               --rate=500000 --duration=3 [--json]
//
// --rate is in lines/s (--datagram_rate in datagrams/s); 0 or absent means flat out.
// --target=self sends to a UDP socket of its own that nobody reads (the generator's ceiling:
// the kernel still delivers every datagram up to that socket's full queue, and drops it there).
// Datagrams are built once before the clock starts: a pool of --pool datagrams whose lines
// cycle through the names; values are deterministic pseudo-random (splitmix64 of --seed and
// the line's index), printed with 3 decimals. Used by bench/statsd; see bench/README.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  std::string target = "127.0.0.1:8125";
  uint64_t names = 1;
  uint64_t lines_per_datagram = 1;
  std::string type = "ms";
  std::string prefix = "bench.statsd";
  double rate = 0;           // lines/s; 0: flat out
  double datagram_rate = 0;  // datagrams/s; 0: flat out
  double duration = 3;       // seconds
  uint64_t batch = 64;       // datagrams per sendmmsg
  uint64_t pool = 4096;      // distinct datagrams, cycled
  uint64_t seed = 1;
  bool json = false;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "statsd_load: %s\n"
               "usage: statsd_load [--target=HOST:PORT|self] [--names=N] [--lines_per_datagram=N]\n"
               "         [--type=ms|g|c|h|d] [--prefix=NAME] [--rate=LINES_PER_S |\n"
               "         --datagram_rate=DATAGRAMS_PER_S] [--duration=SECONDS] [--batch=N]\n"
               "         [--pool=N] [--seed=N] [--json]\n",
               message);
  std::exit(2);
}

uint64_t ParseUint(std::string_view text, const char* flag) {
  char* end = nullptr;
  const std::string copy(text);
  errno = 0;
  const unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || errno != 0) Usage(flag);
  return value;
}

double ParseDouble(std::string_view text, const char* flag) {
  char* end = nullptr;
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !(value >= 0)) Usage(flag);
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      options.json = true;
      continue;
    }
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) Usage("flags are --name=value");
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string_view value = arg.substr(eq + 1);
    if (name == "target") {
      options.target = value;
    } else if (name == "names") {
      options.names = ParseUint(value, "bad --names");
    } else if (name == "lines_per_datagram") {
      options.lines_per_datagram = ParseUint(value, "bad --lines_per_datagram");
    } else if (name == "type") {
      options.type = value;
    } else if (name == "prefix") {
      options.prefix = value;
    } else if (name == "rate") {
      options.rate = ParseDouble(value, "bad --rate");
    } else if (name == "datagram_rate") {
      options.datagram_rate = ParseDouble(value, "bad --datagram_rate");
    } else if (name == "duration") {
      options.duration = ParseDouble(value, "bad --duration");
    } else if (name == "batch") {
      options.batch = ParseUint(value, "bad --batch");
    } else if (name == "pool") {
      options.pool = ParseUint(value, "bad --pool");
    } else if (name == "seed") {
      options.seed = ParseUint(value, "bad --seed");
    } else {
      Usage("unknown flag");
    }
  }
  if (options.names == 0 || options.lines_per_datagram == 0 || options.batch == 0 ||
      options.pool == 0) {
    Usage("--names, --lines_per_datagram, --batch and --pool must be positive");
  }
  if (options.batch > 1024) Usage("--batch is at most 1024 (UIO_MAXIOV)");
  if (options.type != "ms" && options.type != "g" && options.type != "c" &&
      options.type != "h" && options.type != "d") {
    Usage("--type is ms, g, c, h or d");
  }
  if (options.rate > 0 && options.datagram_rate > 0) Usage("give --rate or --datagram_rate");
  if (options.rate > 0) {
    options.datagram_rate = options.rate / static_cast<double>(options.lines_per_datagram);
  }
  return options;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The pool of datagrams: line k (over the whole pool) names stream k % names, with a value
// derived from (seed, k). Timers, histograms and distributions get 0..1000 ms; gauges 0..100;
// counters small integers 1..10.
std::vector<std::string> BuildPool(const Options& options) {
  std::vector<std::string> pool;
  pool.reserve(options.pool);
  uint64_t line = 0;
  char buffer[64];
  for (uint64_t d = 0; d < options.pool; ++d) {
    std::string datagram;
    for (uint64_t l = 0; l < options.lines_per_datagram; ++l, ++line) {
      if (l > 0) datagram += '\n';
      const uint64_t r = SplitMix64(options.seed * 0x100000001b3ULL + line);
      const double u = static_cast<double>(r >> 11) * 0x1.0p-53;
      double value = 1000.0 * u;
      if (options.type == "g") value = 100.0 * u;
      if (options.type == "c") value = static_cast<double>(1 + r % 10);
      std::snprintf(buffer, sizeof buffer, "%" PRIu64, line % options.names);
      datagram += options.prefix;
      datagram += '.';
      datagram += buffer;
      std::snprintf(buffer, sizeof buffer, options.type == "c" ? ":%.0f|" : ":%.3f|", value);
      datagram += buffer;
      datagram += options.type;
    }
    pool.push_back(std::move(datagram));
  }
  return pool;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double CpuSeconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

sockaddr_in ParseTarget(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) Usage("--target is HOST:PORT (IPv4) or self");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const uint64_t port = ParseUint(std::string_view(target).substr(colon + 1), "bad port");
  if (port == 0 || port > 65535) Usage("bad port");
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string host = target.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) Usage("--target host: an IPv4 address");
  return addr;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  const std::vector<std::string> pool = BuildPool(options);

  // With --target=self: a socket bound to an ephemeral loopback port that is never read.
  int sink = -1;
  sockaddr_in addr{};
  if (options.target == "self") {
    sink = socket(AF_INET, SOCK_DGRAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (sink < 0 || bind(sink, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(sink, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("statsd_load: sink socket");
      return 1;
    }
  } else {
    addr = ParseTarget(options.target);
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("statsd_load: socket");
    return 1;
  }

  // One mmsghdr per pool entry, sent in windows of `batch` consecutive entries (wrapping).
  std::vector<iovec> iov(pool.size());
  std::vector<mmsghdr> messages(pool.size() + options.batch);
  for (size_t i = 0; i < messages.size(); ++i) {
    const size_t p = i % pool.size();
    iov[p].iov_base = const_cast<char*>(pool[p].data());
    iov[p].iov_len = pool[p].size();
    messages[i] = mmsghdr{};
    messages[i].msg_hdr.msg_iov = &iov[p];
    messages[i].msg_hdr.msg_iovlen = 1;
  }

  const bool paced = options.datagram_rate > 0;
  uint64_t datagrams = 0;
  uint64_t bytes = 0;
  uint64_t send_errors = 0;
  uint64_t calls = 0;
  size_t next = 0;  // pool index of the next datagram
  rusage usage_start;
  getrusage(RUSAGE_SELF, &usage_start);
  const double start = Now();
  const double end = start + options.duration;
  const double slice = 0.001;
  double now = start;
  while (now < end) {
    // Datagrams due by now (paced) or one more batch (flat out).
    uint64_t due = options.batch;
    if (paced) {
      const double target = options.datagram_rate * (now - start);
      due = target > static_cast<double>(datagrams)
                ? static_cast<uint64_t>(target) - datagrams
                : 0;
      if (due == 0) {
        // Ahead of schedule: sleep to the next slice.
        const double wake = std::min(end, now + slice);
        const double wait = wake - Now();
        if (wait > 0) {
          timespec ts{0, static_cast<long>(wait * 1e9)};
          nanosleep(&ts, nullptr);
        }
        now = Now();
        continue;
      }
    }
    while (due > 0) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(due, options.batch));
      const int sent = sendmmsg(fd, &messages[next], n, 0);
      ++calls;
      if (sent < 0) {
        // ECONNREFUSED (nobody listens yet) and ENOBUFS: count and go on.
        ++send_errors;
        break;
      }
      for (int i = 0; i < sent; ++i) bytes += pool[(next + static_cast<size_t>(i)) % pool.size()].size();
      datagrams += static_cast<uint64_t>(sent);
      due -= static_cast<uint64_t>(sent);
      next = (next + static_cast<size_t>(sent)) % pool.size();
      if (sent == 0) break;
    }
    now = Now();
  }
  const double elapsed = Now() - start;
  rusage usage_end;
  getrusage(RUSAGE_SELF, &usage_end);
  const double cpu = CpuSeconds(usage_end) - CpuSeconds(usage_start);
  const uint64_t lines = datagrams * options.lines_per_datagram;
  char address[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, address, sizeof address);

  if (options.json) {
    std::printf(
        "{\"target\":\"%s:%u\",\"names\":%" PRIu64 ",\"lines_per_datagram\":%" PRIu64
        ",\"type\":\"%s\",\"target_lines_per_second\":%.0f,\"seconds\":%.3f,\"datagrams\":%" PRIu64
        ",\"lines\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"datagrams_per_second\":%.0f"
        ",\"lines_per_second\":%.0f,\"cpu_seconds\":%.3f,\"sendmmsg_calls\":%" PRIu64
        ",\"send_errors\":%" PRIu64 "}\n",
        address, ntohs(addr.sin_port), options.names, options.lines_per_datagram,
        options.type.c_str(),
        options.datagram_rate * static_cast<double>(options.lines_per_datagram), elapsed,
        datagrams, lines, bytes, static_cast<double>(datagrams) / elapsed,
        static_cast<double>(lines) / elapsed, cpu, calls, send_errors);
  } else {
    std::printf("sent %" PRIu64 " datagrams, %" PRIu64 " lines, %" PRIu64
                " bytes to %s:%u in %.3f s: %.0f datagrams/s, %.0f lines/s; cpu %.3f s"
                " (%" PRIu64 " sendmmsg calls, %" PRIu64 " errors)\n",
                datagrams, lines, bytes, address, ntohs(addr.sin_port), elapsed,
                static_cast<double>(datagrams) / elapsed, static_cast<double>(lines) / elapsed,
                cpu, calls, send_errors);
  }
  close(fd);
  if (sink >= 0) close(sink);
  return 0;
}
