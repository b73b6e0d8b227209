// The local executor. The server is multithreaded, so between fork() and execve() the children
// call async-signal-safe functions only: everything they need (argument and environment arrays,
// paths, limits) is prepared before the fork. They are forked with _Fork(), which runs no
// pthread_atfork handlers: libXrdCl's child handler frees memory, and in a child forked while
// another thread held the allocator's lock (ASan's, at least) it spun forever, so the job stayed
// "queued" (the dashboard's browser test hung about one run in six under ASan).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "service/executor.h"

extern char** environ;

namespace m4h::service {
namespace {

// Start time of a live process in clock ticks since boot (/proc/PID/stat field 22); -1 when it
// is gone or a zombie (it has ended; its parent has not collected it yet).
int64_t start_time_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 >= stat.size()) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3 && (field == "Z" || field == "X")) return -1;
    if (i == 22) return std::stoll(field);
  }
  return -1;
}

// Whether process `pid` has `path` open: the PID in a lock file is its holder's, not a stranger's
// that took the number of a holder long gone.
bool holds_open(pid_t pid, const std::string& path) {
  std::error_code ec;
  const auto target = std::filesystem::canonical(path, ec);
  if (ec) return false;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(fd.path(), link_ec) == target) return true;
  }
  return false;
}

struct Handle {
  pid_t pid = -1;
  int64_t start = -1;
};

Handle parse_handle(const std::string& h) {
  Handle r;
  const size_t colon = h.find(':');
  if (colon == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "local executor: bad handle '" + h + "'");
  int pid = -1;
  std::from_chars(h.data(), h.data() + colon, pid);
  std::from_chars(h.data() + colon + 1, h.data() + h.size(), r.start);
  r.pid = pid;
  if (r.pid <= 1) throw Error(ErrorCode::kInvalidArgument, "local executor: bad handle '" + h + "'");
  return r;
}

// Writes a decimal number into buf (async-signal-safe); returns the end.
char* put_number(char* p, long v) {
  char tmp[24];
  int n = 0;
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

// Closes every descriptor from 3 up but a and b (close_range: however many connections the
// server holds). Async-signal-safe.
void close_all_but(int a, int b) {
  const unsigned lo = static_cast<unsigned>(std::min(a, b)), hi = static_cast<unsigned>(std::max(a, b));
  if (lo > 3) ::close_range(3, lo - 1, 0);
  if (hi > lo + 1) ::close_range(lo + 1, hi - 1, 0);
  ::close_range(hi + 1, ~0U, 0);
}

constexpr const char* kLockName = "supervisor.lock";

void put(int fd, const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    const ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

class LocalExecutor final : public Executor {
 public:
  std::string name() const override { return "local"; }

  std::string start(const Launch& l) override {
    if (l.argv.empty()) throw Error(ErrorCode::kInvalidArgument, "local executor: empty argument vector");
    // Everything the children touch, prepared here.
    std::vector<std::string> env_s;
    std::map<std::string, std::string> overrides;
    for (const auto& e : l.env) overrides[e.substr(0, e.find('='))] = e;
    for (char** e = environ; *e; ++e) {
      const std::string s(*e);
      if (!overrides.count(s.substr(0, s.find('=')))) env_s.push_back(s);
    }
    for (const auto& [k, v] : overrides) env_s.push_back(v);
    std::vector<char*> argv, envp;
    std::vector<std::string> argv_s = l.argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string status_tmp = l.status_file + ".tmp";
    const rlim_t data_limit = l.memory_mb > 0 ? static_cast<rlim_t>(l.memory_mb) << 20 : RLIM_INFINITY;
    const char* exe = argv_s[0].c_str();
    const char* workdir = l.workdir.c_str();
    const char* log = l.log.c_str();
    const char* status_final = l.status_file.c_str();
    const char* status_part = status_tmp.c_str();
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (int c : l.cpu_set)
      if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &cpus);
    const bool pin = CPU_COUNT(&cpus) > 0;

    // The folder's lock, taken before the fork: held by the supervisor and the job from their
    // first instruction, so a restarted server can tell whether a process of this folder exists.
    const std::string lock_path = l.workdir + "/" + kLockName;
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) throw Error(ErrorCode::kIo, "local executor: " + lock_path + ": " + std::strerror(errno));
    if (::flock(lock, LOCK_EX | LOCK_NB) != 0 || ::ftruncate(lock, 0) != 0) {
      const int err = errno;
      ::close(lock);
      if (err == EWOULDBLOCK)
        throw Error(ErrorCode::kConflict, "local executor: a process of the job in " + l.workdir +
                                              " is still running (" + lock_path + " is locked)");
      throw Error(ErrorCode::kIo, "local executor: " + lock_path + ": " + std::strerror(err));
    }
    int ready[2];  // the supervisor reports a failed start through this pipe
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      ::close(lock);
      throw Error(ErrorCode::kIo, "local executor: pipe: " + std::string(std::strerror(errno)));
    }
    const pid_t supervisor = ::_Fork();
    if (supervisor < 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      ::close(lock);
      throw Error(ErrorCode::kIo, "local executor: fork: " + std::string(std::strerror(errno)));
    }
    if (supervisor == 0) {
      // The supervisor: its own session (the server's signals and terminal are not its own), no
      // descriptor of the server's (listening sockets, the job database) but the pipe and the lock.
      ::setsid();
      close_all_but(ready[1], lock);
      {
        char pid[32];
        char* end = put_number(pid, ::getpid());
        *end++ = '\n';
        if (::pwrite(lock, pid, static_cast<size_t>(end - pid), 0) != end - pid) {
          put(ready[1], "cannot write its PID into the job's lock file");
          ::_exit(1);
        }
      }
      // Nor the server's stdin/stdout/stderr: a pipe the server's parent reads must close when the
      // server exits, not when its longest job ends.
      if (const int devnull = ::open("/dev/null", O_RDWR); devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        if (devnull > 2) ::close(devnull);
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int s : {SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::sigaction(s, &dfl, nullptr);
      // A cancel signals the whole group: the job stops, the supervisor stays to write its status.
      struct sigaction ign {};
      ign.sa_handler = SIG_IGN;
      ::sigaction(SIGTERM, &ign, nullptr);
      const int logfd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      // The job's CPUs, kept by the job and every thread or process it starts (the kernel enforces
      // them; the thread count the job is told only asks).
      if (pin && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
        put(ready[1], "sched_setaffinity failed");
        ::_exit(1);
      }
      const pid_t job = ::_Fork();
      if (job == 0) {
        ::sigaction(SIGTERM, &dfl, nullptr);
        ::fcntl(lock, F_SETFD, 0);  // the job keeps the lock past execve: held while it lives
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        if (logfd >= 0) {
          ::dup2(logfd, 1);
          ::dup2(logfd, 2);
        }
        if (::chdir(workdir) != 0) {
          put(2, "mlaas4hep: cannot enter the job's folder\n");
          ::_exit(126);
        }
        if (data_limit != RLIM_INFINITY) {
          struct rlimit rl {data_limit, data_limit};
          ::setrlimit(RLIMIT_DATA, &rl);
        }
        ::execve(exe, argv.data(), envp.data());
        char code[24];
        *put_number(code, errno) = '\0';
        put(2, "mlaas4hep: cannot start ");
        put(2, exe);
        put(2, ": errno ");
        put(2, code);
        put(2, "\n");
        ::_exit(127);
      }
      if (job < 0) {
        put(ready[1], "fork failed");
        ::_exit(1);
      }
      ::close(ready[1]);  // started: the server stops waiting
      int ws = 0;
      while (::waitpid(job, &ws, 0) < 0 && errno == EINTR) {
      }
      char line[64];
      char* p = line;
      if (WIFSIGNALED(ws)) {
        std::memcpy(p, "signal ", 7);
        p = put_number(p + 7, WTERMSIG(ws));
      } else {
        std::memcpy(p, "exit ", 5);
        p = put_number(p + 5, WEXITSTATUS(ws));
      }
      *p++ = '\n';
      const int sfd = ::open(status_part, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (sfd >= 0) {
        ssize_t unused = ::write(sfd, line, static_cast<size_t>(p - line));
        (void)unused;
        ::fsync(sfd);
        ::close(sfd);
        ::rename(status_part, status_final);
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(lock);  // the supervisor's copy keeps it locked
    char buf[64];
    const ssize_t n = ::read(ready[0], buf, sizeof buf);
    ::close(ready[0]);
    if (n > 0) {
      ::waitpid(supervisor, nullptr, 0);
      throw Error(ErrorCode::kIo, "local executor: cannot start " + l.argv[0] + ": " + std::string(buf, static_cast<size_t>(n)));
    }
    const int64_t start = start_time_of(supervisor);
    {
      std::lock_guard lock(mutex_);
      children_.insert(supervisor);
    }
    return std::to_string(supervisor) + ":" + std::to_string(start);
  }

  Poll poll(const std::string& handle, const std::string& status_file) override {
    const Handle h = parse_handle(handle);
    bool ended = false;
    {
      std::lock_guard lock(mutex_);
      if (children_.count(h.pid)) {
        int ws = 0;
        const pid_t w = ::waitpid(h.pid, &ws, WNOHANG);
        if (w == h.pid || (w < 0 && errno == ECHILD)) {
          children_.erase(h.pid);
          ended = true;
        }
      } else {
        // Started by an earlier run of the server: alive while the PID holds the same process.
        ended = h.start < 0 || start_time_of(h.pid) != h.start;
      }
    }
    if (!ended) return Poll{};
    if (auto done = read_status_file(status_file)) return *done;
    Poll p;
    p.state = RunState::kGone;
    p.detail = "the job's process ended without writing its status (killed with its supervisor?)";
    return p;
  }

  Recovery recover(const std::string& workdir, const std::string& status_file) override {
    (void)status_file;  // the lock alone decides
    const std::string lock_path = workdir + "/" + kLockName;
    const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // Made before every fork: without it, nothing was started for this folder.
      if (errno == ENOENT) return {.kind = Recovery::Kind::kNone};
      return {.detail = lock_path + ": " + std::strerror(errno)};
    }
    Recovery r{.detail = lock_path + " is locked, but holds no live supervisor's PID"};
    // A supervisor writes its PID first thing; give a fresh one a moment (5 s at most).
    for (int attempt = 0; attempt < 250; ++attempt) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        r = {.kind = Recovery::Kind::kNone};  // nobody holds it: released as the descriptor closes
        break;
      }
      if (errno != EWOULDBLOCK && errno != EINTR) {
        r.detail = lock_path + ": flock: " + std::strerror(errno);
        break;
      }
      char buf[32];
      const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
      if (n > 1 && buf[n - 1] == '\n') {
        int pid = -1;
        const auto parsed = std::from_chars(buf, buf + n - 1, pid);
        const bool valid = parsed.ec == std::errc() && parsed.ptr == buf + n - 1 && pid > 1;
        const int64_t start = valid ? start_time_of(pid) : -1;
        // The supervisor must be alive and hold the lock file open (a stranger may have taken a
        // dead one's number); if not, the job outlived its supervisor and cannot be followed.
        if (start >= 0 && holds_open(pid, lock_path))
          r = {.kind = Recovery::Kind::kRunning, .handle = std::to_string(pid) + ":" + std::to_string(start)};
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::close(fd);
    return r;
  }

  void cancel(const std::string& handle, int grace_ms) override {
    const Handle h = parse_handle(handle);
    if (h.start < 0 || start_time_of(h.pid) != h.start) return;  // already gone
    ::kill(-h.pid, SIGTERM);                      // the job (the supervisor ignores it)
    std::thread([h, grace_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(grace_ms));
      if (start_time_of(h.pid) == h.start) ::kill(-h.pid, SIGKILL);
    }).detach();
  }

 private:
  std::mutex mutex_;
  std::set<pid_t> children_;
};

}  // namespace

std::optional<Poll> read_status_file(const std::string& status_file) {
  std::ifstream in(status_file);
  std::string kind;
  int value = -1;
  if (!(in >> kind >> value) || (kind != "exit" && kind != "signal")) return std::nullopt;
  Poll p;
  p.state = RunState::kExited;
  p.exit_code = kind == "exit" ? value : 128 + value;
  p.detail = kind + " " + std::to_string(value);
  return p;
}

std::unique_ptr<Executor> make_local_executor() { return std::make_unique<LocalExecutor>(); }

}  // namespace m4h::service
