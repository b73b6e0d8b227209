#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "train/backends.h"

namespace m4h::train {

namespace {

// The model file's text when it is a JSON object, else empty.
std::string json_text_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  if (c != '{') return {};
  in.seekg(0);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_xgboost_json(const std::string& text) {
  if (text.empty()) return false;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("type") && j["type"] == "xgboost";
}

}  // namespace

bool describes_xgboost(const std::string& model_path) { return is_xgboost_json(json_text_of(model_path)); }

std::unique_ptr<Trainer> make_trainer(const TrainerOptions& options) {
  if (!std::ifstream(options.model_path, std::ios::binary))
    throw Error(ErrorCode::kNotFound, options.model_path + ": no such model file");
  const std::string text = json_text_of(options.model_path);
  if (is_xgboost_json(text)) return make_xgboost_trainer(options, text);
  return make_torch_trainer(options);
}

}  // namespace m4h::train
