// The mlaas4hep subcommands: each registers its options on the CLI11 app and runs one library
// call. Errors escape as m4h::Error; main() maps them to a message and an exit status.
#pragma once

namespace CLI {
class App;
}

namespace m4h::cli {

void add_ls(CLI::App& app);
void add_show(CLI::App& app);
void add_dump(CLI::App& app);
void add_gen(CLI::App& app);
void add_specs(CLI::App& app);
void add_export(CLI::App& app);
void add_train(CLI::App& app);
void add_plot(CLI::App& app);
void add_serve(CLI::App& app);
void add_client(CLI::App& app);
void add_predict(CLI::App& app);
void add_server(CLI::App& app);

}  // namespace m4h::cli
