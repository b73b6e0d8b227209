// Unpacking a bundle uploaded as a .tar.gz, with the system's tar run without a shell, after its
// listing is checked: only regular files and folders, relative names, no `..` component.
#pragma once

#include <string>

namespace m4h {

// Extracts `archive` into `dest` (created). Throws m4h::Error kInvalidArgument naming the entry
// that is absolute, climbs with `..`, or is a link, device or fifo (nothing is extracted then),
// or when tar cannot read the archive; kUnsupported when no tar is installed.
void extract_tar_gz(const std::string& archive, const std::string& dest);

// Packs the contents of `folder` (its files at the archive's top) into `archive` with the system's
// tar. Throws kNotFound (no such folder), kIo (tar failed), kUnsupported (no tar).
void make_tar_gz(const std::string& folder, const std::string& archive);

}  // namespace m4h
