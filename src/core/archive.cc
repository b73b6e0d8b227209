#include "core/archive.h"

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/subprocess.h"

namespace m4h {

namespace {

namespace fs = std::filesystem;

Error bad(const std::string& archive, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, archive + ": " + what);
}

}  // namespace

void extract_tar_gz(const std::string& archive, const std::string& dest) {
  // Names first: an absolute name or a `..` component could write outside dest.
  const ProgramOutput names = run_program({"tar", "-tzf", archive});
  if (names.status != 0) throw bad(archive, "not a readable .tar.gz: " + names.text.substr(0, 200));
  for (const std::string& name : lines_of(names.text)) {
    if (name.front() == '/') throw bad(archive, "entry '" + name + "' is an absolute path");
    std::istringstream parts(name);
    for (std::string part; std::getline(parts, part, '/');)
      if (part == "..") throw bad(archive, "entry '" + name + "' climbs out with '..'");
  }
  // Then kinds: a link could point anywhere, and a bundle has no use for devices or fifos.
  const ProgramOutput kinds = run_program({"tar", "-tvzf", archive});
  if (kinds.status != 0) throw bad(archive, "not a readable .tar.gz: " + kinds.text.substr(0, 200));
  for (const std::string& line : lines_of(kinds.text))
    if (line[0] != '-' && line[0] != 'd') throw bad(archive, "entry '" + line + "' is not a file or folder");
  fs::create_directories(dest);
  const ProgramOutput x = run_program({"tar", "-xzf", archive, "-C", dest, "--no-same-owner", "--no-same-permissions"});
  if (x.status != 0) throw bad(archive, "tar could not extract it: " + x.text.substr(0, 200));
  // What the listing promised, checked on what was written.
  for (const auto& e : fs::recursive_directory_iterator(dest))
    if (e.is_symlink() || !(e.is_directory() || e.is_regular_file()))
      throw bad(archive, "entry '" + fs::relative(e.path(), dest).string() + "' is not a file or folder");
}

void make_tar_gz(const std::string& folder, const std::string& archive) {
  if (!fs::is_directory(folder)) throw Error(ErrorCode::kNotFound, folder + ": no such folder");
  // -C keeps the folder's own path out of the names: bundle.json lands at the archive's top.
  const ProgramOutput out = run_program({"tar", "-czf", archive, "-C", folder, "."});
  if (out.status != 0) throw Error(ErrorCode::kIo, archive + ": tar failed: " + out.text.substr(0, 200));
}

}  // namespace m4h
