#include "core/archive.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <sstream>
#include <vector>

#include "core/error.h"

extern char** environ;

namespace m4h {

namespace {

namespace fs = std::filesystem;

struct Output {
  int status = -1;
  std::string text;  // stdout and stderr together
};

// Runs argv (looked up on PATH, no shell) and collects what it prints.
Output run(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(ErrorCode::kIo, "pipe: cannot create");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw Error(ErrorCode::kUnsupported, args[0] + ": cannot run it (" + std::to_string(rc) + "): is it installed?");
  }
  Output out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) out.text.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

Error bad(const std::string& archive, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, archive + ": " + what);
}

}  // namespace

void extract_tar_gz(const std::string& archive, const std::string& dest) {
  // Names first: an absolute name or a `..` component could write outside dest.
  const Output names = run({"tar", "-tzf", archive});
  if (names.status != 0) throw bad(archive, "not a readable .tar.gz: " + names.text.substr(0, 200));
  for (const std::string& name : lines_of(names.text)) {
    if (name.front() == '/') throw bad(archive, "entry '" + name + "' is an absolute path");
    std::istringstream parts(name);
    for (std::string part; std::getline(parts, part, '/');)
      if (part == "..") throw bad(archive, "entry '" + name + "' climbs out with '..'");
  }
  // Then kinds: a link could point anywhere, and a bundle has no use for devices or fifos.
  const Output kinds = run({"tar", "-tvzf", archive});
  if (kinds.status != 0) throw bad(archive, "not a readable .tar.gz: " + kinds.text.substr(0, 200));
  for (const std::string& line : lines_of(kinds.text))
    if (line[0] != '-' && line[0] != 'd') throw bad(archive, "entry '" + line + "' is not a file or folder");
  fs::create_directories(dest);
  const Output x = run({"tar", "-xzf", archive, "-C", dest, "--no-same-owner", "--no-same-permissions"});
  if (x.status != 0) throw bad(archive, "tar could not extract it: " + x.text.substr(0, 200));
  // What the listing promised, checked on what was written.
  for (const auto& e : fs::recursive_directory_iterator(dest))
    if (e.is_symlink() || !(e.is_directory() || e.is_regular_file()))
      throw bad(archive, "entry '" + fs::relative(e.path(), dest).string() + "' is not a file or folder");
}

void make_tar_gz(const std::string& folder, const std::string& archive) {
  if (!fs::is_directory(folder)) throw Error(ErrorCode::kNotFound, folder + ": no such folder");
  // -C keeps the folder's own path out of the names: bundle.json lands at the archive's top.
  const Output out = run({"tar", "-czf", archive, "-C", folder, "."});
  if (out.status != 0) throw Error(ErrorCode::kIo, archive + ": tar failed: " + out.text.substr(0, 200));
}

}  // namespace m4h
