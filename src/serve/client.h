// A blocking client of `mlaas4hep serve` (libcurl, seen by client.cc only): the TFaaS management
// calls (models, upload, delete, status) and OIP v2 inference with raw-branch tensors, for
// `mlaas4hep client` and `mlaas4hep predict --model URL`.
//
// Errors: m4h::Error kIo (connection refused or lost, a 5xx answer), kTimeout, and for a 4xx
// answer kNotFound (404) or kInvalidArgument (others); the message carries the URL and the
// server's {"error": ...} text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/table.h"

namespace m4h::serve {

// What OIP's model metadata says about the inputs a model takes.
struct RemoteModel {
  std::string name, version;
  std::vector<std::string> branches;       // raw branches (parameters.branches)
  std::vector<std::string> feature_names;  // the columns of "x"
  int64_t outputs = 1;                     // scores per event
};

struct Scores {
  int64_t rows = 0, outputs = 1;
  std::vector<float> values;  // rows x outputs; NaN where the model's cuts rejected the event
};

class Client {
 public:
  // `base`: the server's http(s)://host:port (a trailing '/' is dropped). timeout_s bounds each
  // request. Not thread-safe (one connection, kept alive between calls).
  explicit Client(std::string base, double timeout_s = 60);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The server's answers as JSON text.
  std::string models();                 // GET /models
  std::string status();                 // GET /status
  std::string remove(const std::string& name);  // DELETE /delete/NAME
  // Uploads a bundle folder (packed with tar first) or a .tar.gz as the next version of `name`.
  std::string upload(const std::string& name, const std::string& bundle);
  bool ready();                         // GET /v2/health/ready answered 200

  // `model_path`: "/v2/models/NAME" (or ".../versions/V").
  RemoteModel model(const std::string& model_path);
  // Sends events as OIP tensors (binary FP64, jagged arrays padded with NaN), one per name,
  // asking for NaN rows for events the pre-processing's cuts reject. `features`: one tensor "x"
  // of the arrays side by side (each flat: the model's feature columns) instead.
  Scores infer(const std::string& model_path, const std::vector<std::string>& names,
               const std::vector<data::Array>& arrays, bool features = false);

  struct Response {
    long status = 0;
    std::string body;
    std::string header_length;  // Inference-Header-Content-Length, when sent
  };
  // One request; throws for network failures and non-2xx answers (see above).
  Response request(const std::string& method, const std::string& path, const std::string& body = {},
                   const std::vector<std::string>& headers = {});

 private:
  std::string escape(const std::string& s);  // percent-encoded for a path or query

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "http(s)://host:port/v2/models/NAME[/versions/V]" into the server's base and the model
// path. Throws kInvalidArgument for any other form.
std::pair<std::string, std::string> split_model_url(const std::string& url);

}  // namespace m4h::serve
