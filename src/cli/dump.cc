#include <CLI/CLI.hpp>
#include "cli/commands.h"
namespace m4h::cli {
void add_dump(CLI::App& app) {}
}
