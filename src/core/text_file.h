// Whole small files as text (JSON descriptions, specs, bundles' manifests).
#pragma once

#include <string>

namespace m4h {

// The file's bytes; throws m4h::Error kNotFound ("PATH: no such file") or kIo.
std::string read_text_file(const std::string& path);

// Writes through PATH.tmp renamed into place, so a crash never leaves half a file. kIo.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace m4h
