#include "serve/client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/archive.h"

namespace m4h::serve {

namespace {

using nlohmann::json;

size_t on_body(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* out) {
  std::string_view line(p, size * n);
  constexpr std::string_view kName = "inference-header-content-length:";
  if (line.size() > kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    std::string v(line.substr(kName.size()));
    v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == ' ' || c == '\r' || c == '\n'; }), v.end());
    *static_cast<std::string*>(out) = v;
  }
  return size * n;
}

// The server's {"error": ...} text, or the start of whatever else it answered.
std::string error_text(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return body.substr(0, 300);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Appends the native bytes of doubles (OIP's binary tensors are little-endian, as we are).
void append_doubles(std::string& out, const std::vector<double>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

// Flat or nested JSON lists, in order; null (NaN has no JSON form) as NaN.
void append_numbers(const json& v, std::vector<float>& out) {
  if (v.is_array()) {
    for (const json& e : v) append_numbers(e, out);
  } else {
    out.push_back(v.is_number() ? v.get<float>() : std::numeric_limits<float>::quiet_NaN());
  }
}

}  // namespace

struct Client::Impl {
  std::string base;
  long timeout_ms = 60000;
  CURL* curl = nullptr;
};

Client::Client(std::string base, double timeout_s) : impl_(std::make_unique<Impl>()) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0)
    throw Error(ErrorCode::kInvalidArgument, "client: --url '" + base + "' is not http(s)://host:port");
  impl_->base = std::move(base);
  impl_->timeout_ms = static_cast<long>(timeout_s * 1000);
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw Error(ErrorCode::kInternal, "client: curl_easy_init failed");
}

Client::~Client() { curl_easy_cleanup(impl_->curl); }

// The server checks names; escaping only keeps odd ones from breaking the URL.
std::string Client::escape(const std::string& s) {
  char* e = curl_easy_escape(impl_->curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : s;
  curl_free(e);
  return out;
}

Client::Response Client::request(const std::string& method, const std::string& path, const std::string& body,
                                 const std::vector<std::string>& headers) {
  CURL* c = impl_->curl;
  const std::string url = impl_->base + path;
  Response r;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, impl_->timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for large bodies
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.header_length);
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    const std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) throw Error(ErrorCode::kTimeout, method + " " + url + ": " + why);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
      throw Error(ErrorCode::kInvalidArgument, method + " " + url + ": " + why);
    throw Error(ErrorCode::kIo, method + " " + url + ": " + why);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (r.status >= 200 && r.status < 300) return r;
  const std::string what = method + " " + url + ": HTTP " + std::to_string(r.status) + ": " + error_text(r.body);
  if (r.status == 404) throw Error(ErrorCode::kNotFound, what);
  if (r.status >= 400 && r.status < 500) throw Error(ErrorCode::kInvalidArgument, what);
  throw Error(ErrorCode::kIo, what);
}

std::string Client::models() { return request("GET", "/models").body; }
std::string Client::status() { return request("GET", "/status").body; }
std::string Client::remove(const std::string& name) { return request("DELETE", "/delete/" + escape(name)).body; }

bool Client::ready() {
  try {
    return request("GET", "/v2/health/ready").status == 200;
  } catch (const Error&) {
    return false;
  }
}

std::string Client::upload(const std::string& name, const std::string& bundle) {
  namespace fs = std::filesystem;
  std::string body;
  if (fs::is_directory(bundle)) {
    static int counter = 0;
    const fs::path tgz = fs::temp_directory_path() /
                         ("m4h-client-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tar.gz");
    struct Cleanup {
      fs::path f;
      ~Cleanup() {
        std::error_code ec;
        fs::remove(f, ec);
      }
    } cleanup{tgz};
    make_tar_gz(bundle, tgz.string());
    body = read_file(tgz.string());
  } else {
    body = read_file(bundle);
  }
  return request("POST", "/upload?name=" + escape(name), body, {"Content-Type: application/gzip"}).body;
}

RemoteModel Client::model(const std::string& model_path) {
  const Response r = request("GET", model_path);
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object()) throw Error(ErrorCode::kIo, "GET " + impl_->base + model_path + ": not a JSON object");
  RemoteModel m;
  m.name = j.value("name", "");
  if (j.contains("versions") && j["versions"].is_array() && !j["versions"].empty())
    m.version = j["versions"].back().get<std::string>();
  if (j.contains("parameters") && j["parameters"].is_object()) {
    const json& p = j["parameters"];
    if (p.contains("branches")) m.branches = p["branches"].get<std::vector<std::string>>();
    if (p.contains("feature_names")) m.feature_names = p["feature_names"].get<std::vector<std::string>>();
  }
  if (j.contains("outputs") && j["outputs"].is_array() && !j["outputs"].empty()) {
    const json& shape = j["outputs"][0]["shape"];
    if (shape.is_array() && !shape.empty()) m.outputs = std::max<int64_t>(1, shape.back().get<int64_t>());
  }
  return m;
}

Scores Client::infer(const std::string& model_path, const std::vector<std::string>& names,
                     const std::vector<data::Array>& arrays, bool features) {
  if (names.size() != arrays.size() || arrays.empty())
    throw Error(ErrorCode::kInvalidArgument, "client: one array per input name is needed");
  const int64_t rows = arrays[0].entries();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  json head{{"inputs", json::array()},
            {"parameters", {{"binary_data_output", true}, {"rejected_events", "nan"}}}};
  std::string binary;
  if (features) {
    // One row of feature columns per event.
    std::vector<double> x(static_cast<size_t>(rows) * arrays.size());
    for (size_t k = 0; k < arrays.size(); ++k) {
      if (arrays[k].jagged()) throw Error(ErrorCode::kInvalidArgument, "client: feature '" + names[k] + "' is not flat");
      for (int64_t r = 0; r < rows; ++r) x[static_cast<size_t>(r) * arrays.size() + k] = arrays[k].values[r];
    }
    head["inputs"].push_back({{"name", "x"}, {"datatype", "FP64"},
                              {"shape", {rows, static_cast<int64_t>(arrays.size())}},
                              {"parameters", {{"binary_data_size", x.size() * sizeof(double)}}}});
    append_doubles(binary, x);
  } else {
    for (size_t k = 0; k < arrays.size(); ++k) {
      const data::Array& a = arrays[k];
      std::vector<double> v;
      json shape;
      if (!a.jagged()) {
        v = a.values;
        shape = {rows};
      } else {
        // Padded on the right with NaN, which the server drops again; at least one column.
        int64_t n = 1;
        for (int64_t r = 0; r < rows; ++r) n = std::max(n, a.length(r));
        v.assign(static_cast<size_t>(rows * n), kNaN);
        for (int64_t r = 0; r < rows; ++r)
          std::copy(a.values.begin() + a.offsets[r], a.values.begin() + a.offsets[r + 1], v.begin() + r * n);
        shape = {rows, n};
      }
      head["inputs"].push_back({{"name", names[k]}, {"datatype", "FP64"}, {"shape", shape},
                                {"parameters", {{"binary_data_size", v.size() * sizeof(double)}}}});
      append_doubles(binary, v);
    }
  }
  const std::string head_text = head.dump();
  const Response r = request("POST", model_path + "/infer", head_text + binary,
                             {"Content-Type: application/octet-stream",
                              "Inference-Header-Content-Length: " + std::to_string(head_text.size())});
  const std::string where = "POST " + impl_->base + model_path + "/infer";
  size_t json_size = r.body.size();
  if (!r.header_length.empty()) json_size = std::stoul(r.header_length);
  if (json_size > r.body.size()) throw Error(ErrorCode::kIo, where + ": answer shorter than its JSON header");
  json j = json::parse(r.body.substr(0, json_size), nullptr, false);
  if (!j.is_object() || !j.contains("outputs") || !j["outputs"].is_array() || j["outputs"].empty())
    throw Error(ErrorCode::kIo, where + ": no outputs in the answer");
  const json& out = j["outputs"][0];
  Scores s;
  const json& shape = out["shape"];
  if (!shape.is_array() || shape.empty()) throw Error(ErrorCode::kIo, where + ": output without a shape");
  s.rows = shape[0].get<int64_t>();
  s.outputs = shape.size() > 1 ? shape[1].get<int64_t>() : 1;
  if (s.rows != rows) throw Error(ErrorCode::kIo, where + ": " + std::to_string(s.rows) + " rows answered for " + std::to_string(rows));
  const size_t count = static_cast<size_t>(s.rows * s.outputs);
  if (out.contains("data")) {
    append_numbers(out["data"], s.values);
  } else {
    if (r.body.size() - json_size != count * sizeof(float))
      throw Error(ErrorCode::kIo, where + ": binary output of " + std::to_string(r.body.size() - json_size) + " bytes");
    s.values.resize(count);
    std::memcpy(s.values.data(), r.body.data() + json_size, count * sizeof(float));
  }
  if (s.values.size() != count) throw Error(ErrorCode::kIo, where + ": output data does not fit its shape");
  return s;
}

std::pair<std::string, std::string> split_model_url(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = scheme == std::string::npos ? std::string::npos : url.find("/v2/models/", scheme + 3);
  if ((url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) || at == std::string::npos ||
      at + 11 >= url.size())
    throw Error(ErrorCode::kInvalidArgument,
                "model URL '" + url + "' is not http(s)://host:port/v2/models/NAME[/versions/V]");
  std::string path = url.substr(at);
  while (path.back() == '/') path.pop_back();
  return {url.substr(0, at), path};
}

}  // namespace m4h::serve
