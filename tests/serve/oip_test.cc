// The OIP v2 codec as pure functions: JSON and binary tensors, every datatype we take, the two
// input forms (features, raw branches) and the 400s that name the tensor and field.
#include "serve/oip.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "serve/fake_repository.h"

namespace m4h::serve::oip {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(OipCodec, JsonTensorsFlatAndNested) {
  auto r = parse_infer_request(R"({"id": "q1", "inputs": [
      {"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5.5, null]]},
      {"name": "i", "shape": [3], "datatype": "INT64", "data": [1, -2, 3]},
      {"name": "b", "shape": [2], "datatype": "BOOL", "data": [true, false]},
      {"name": "s", "shape": [1], "datatype": "BYTES", "data": ["[1, 2]"]}],
      "outputs": [{"name": "scores", "parameters": {"binary_data": true}}]})",
                               std::nullopt);
  EXPECT_EQ(r.id, "q1");
  ASSERT_EQ(r.inputs.size(), 4u);
  EXPECT_EQ(r.inputs[0].values.size(), 6u);
  EXPECT_EQ(r.inputs[0].values[4], 5.5);
  EXPECT_TRUE(std::isnan(r.inputs[0].values[5]));
  EXPECT_EQ(r.inputs[1].values[1], -2);
  EXPECT_EQ(r.inputs[2].values, (std::vector<double>{1, 0}));
  EXPECT_EQ(r.inputs[3].strings[0], "[1, 2]");
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_TRUE(*r.outputs[0].binary);
}

TEST(OipCodec, BinaryTensorExtension) {
  const std::string head =
      R"({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 16}},
                     {"name": "n", "shape": [2], "datatype": "INT32", "data": [7, 8]},
                     {"name": "d", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 8}},
                     {"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}}],
          "parameters": {"binary_data_output": true}})";
  std::string body = head + bytes_of(std::vector<float>{1, 2, 3, 4}) + bytes_of(std::vector<double>{0.25});
  uint32_t len = 3;
  body.append(reinterpret_cast<char*>(&len), 4);
  body += "abc";
  len = 0;
  body.append(reinterpret_cast<char*>(&len), 4);
  auto r = parse_infer_request(body, head.size());
  EXPECT_EQ(r.inputs[0].values, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(r.inputs[1].values, (std::vector<double>{7, 8}));
  EXPECT_EQ(r.inputs[2].values, (std::vector<double>{0.25}));
  EXPECT_EQ(r.inputs[3].strings, (std::vector<std::string>{"abc", ""}));
  EXPECT_TRUE(r.binary_output);

  EXPECT_NE(error_of([&] { parse_infer_request(body.substr(0, body.size() - 1), head.size()); }).find("input 's'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_infer_request(body + "zz", head.size()); }).find("2 binary bytes after"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_infer_request(body, body.size() + 1); }).find("Inference-Header-Content-Length"),
            std::string::npos);
}

TEST(OipCodec, ErrorsNameTheTensorAndField) {
  auto err = [](const std::string& body) { return error_of([&] { parse_infer_request(body, std::nullopt); }); };
  EXPECT_NE(err("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(err("[]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(err(R"({"inputs": []})").find("'inputs'"), std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]})")
                .find("input 'x': shape [2] needs 2 elements, data has 1"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})")
                .find("input 'x': data: INT32 elements must be integers"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]})")
                .find("must be numbers"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]})")
                .find("true or false"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP8", "data": [1]}]})").find("datatype 'FP8'"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": []}]})").find("input 'x': shape"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [4294967296, 4294967296], "datatype": "FP32", "data": []}]})")
                .find("too large"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})").find("inputs[0]: 'name'"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]},
                               {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]})")
                .find("given twice"),
            std::string::npos);
  EXPECT_NE(err(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})").find("'data' missing"),
            std::string::npos);
}

TEST(OipCodec, RejectedEventsParameter) {
  const std::string x = R"("inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}])";
  EXPECT_FALSE(parse_infer_request("{" + x + "}", std::nullopt).rejected_as_nan);
  EXPECT_TRUE(parse_infer_request(R"({"parameters": {"rejected_events": "nan"}, )" + x + "}", std::nullopt).rejected_as_nan);
  EXPECT_FALSE(parse_infer_request(R"({"parameters": {"rejected_events": "error"}, )" + x + "}", std::nullopt).rejected_as_nan);
  EXPECT_NE(error_of([&] { parse_infer_request(R"({"parameters": {"rejected_events": 1}, )" + x + "}", std::nullopt); })
                .find("rejected_events"),
            std::string::npos);
}

TEST(OipCodec, FeaturesAndMask) {
  test::FakeModel model("sum", "1");
  auto r = parse_infer_request(R"({"inputs": [
      {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]},
      {"name": "mask", "shape": [2, 3], "datatype": "BOOL", "data": [true, true, false, true, false, true]}]})",
                               std::nullopt);
  ModelInputs in = to_model_inputs(r, model.metadata());
  EXPECT_FALSE(in.raw);
  EXPECT_EQ(in.batch.rows, 2);
  EXPECT_EQ(in.batch.width, 3);
  EXPECT_EQ(in.batch.x, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(in.batch.mask, (std::vector<uint8_t>{1, 1, 0, 1, 0, 1}));

  auto bad = [&](const std::string& body) {
    return error_of([&] { to_model_inputs(parse_infer_request(body, std::nullopt), model.metadata()); });
  };
  EXPECT_NE(bad(R"({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]})")
                .find("input 'x': shape [1, 2] but the model takes 3 features per row"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]}]})")
                .find("expected [rows, width]"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]},
                               {"name": "y", "shape": [1], "datatype": "FP32", "data": [1]}]})")
                .find("input 'y': unexpected"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]},
                               {"name": "mask", "shape": [3, 1], "datatype": "BOOL", "data": [true, true, true]}]})")
                .find("input 'mask': shape [3, 1] differs"),
            std::string::npos);
}

TEST(OipCodec, RawBranchesPaddedAndBytes) {
  test::FakeModel model("sum", "1");
  auto r = parse_infer_request(R"({"inputs": [
      {"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
      {"name": "b", "shape": [3, 3], "datatype": "FP32", "data": [[1, 2, null], [null, null, null], [5, null, 6]]}]})",
                               std::nullopt);
  ModelInputs in = to_model_inputs(r, model.metadata());
  ASSERT_TRUE(in.raw);
  ASSERT_EQ(in.events.size(), 3u);
  EXPECT_EQ(in.events[0].at("b"), (std::vector<double>{1, 2}));
  EXPECT_TRUE(in.events[1].at("b").empty());
  ASSERT_EQ(in.events[2].at("b").size(), 3u);  // only trailing NaNs are padding
  EXPECT_TRUE(std::isnan(in.events[2].at("b")[1]));
  EXPECT_EQ(in.events[2].at("a"), (std::vector<double>{3}));

  auto bytes = parse_infer_request(R"({"inputs": [
      {"name": "a", "shape": [2, 1], "datatype": "INT32", "data": [1, 2]},
      {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["[1.5, 2]", "[]"]}]})",
                                   std::nullopt);
  in = to_model_inputs(bytes, model.metadata());
  EXPECT_EQ(in.events[0].at("b"), (std::vector<double>{1.5, 2}));
  EXPECT_TRUE(in.events[1].at("b").empty());

  auto bad = [&](const std::string& body) {
    return error_of([&] { to_model_inputs(parse_infer_request(body, std::nullopt), model.metadata()); });
  };
  EXPECT_NE(bad(R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}]})")
                .find("no input for branch 'b'"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},
                               {"name": "b", "shape": [2], "datatype": "FP32", "data": [1, 2]}]})")
                .find("input 'b': shape [2] but 'a' has 1 rows"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},
                               {"name": "zz", "shape": [1], "datatype": "FP32", "data": [1]}]})")
                .find("input 'zz': neither 'x' nor a branch the model reads (a, b)"),
            std::string::npos);
  EXPECT_NE(bad(R"({"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},
                               {"name": "b", "shape": [1], "datatype": "BYTES", "data": ["[1, \"x\"]"]}]})")
                .find("input 'b': element 0 holds a non-number"),
            std::string::npos);
}

TEST(OipCodec, ResponsesJsonAndBinary) {
  InferResponse resp;
  resp.model_name = "sum";
  resp.model_version = "1";
  resp.id = "q";
  resp.shape = {2, 1};
  resp.scores = {0.5f, 0.25f};
  InferRequest req;
  auto enc = encode_infer_response(resp, req);
  EXPECT_EQ(enc.body, R"({"id":"q","model_name":"sum","model_version":"1","outputs":[{"data":[0.5,0.25],"datatype":"FP32","name":"scores","shape":[2,1]}]})");
  EXPECT_FALSE(enc.header_length);

  req.binary_output = true;
  enc = encode_infer_response(resp, req);
  ASSERT_TRUE(enc.header_length);
  EXPECT_EQ(enc.body.size(), *enc.header_length + 8);
  float back[2];
  std::memcpy(back, enc.body.data() + *enc.header_length, 8);
  EXPECT_EQ(back[1], 0.25f);
  EXPECT_NE(enc.body.find("\"binary_data_size\":8"), std::string::npos);

  req.outputs = {{"scores", false}};  // per output beats the default
  EXPECT_FALSE(encode_infer_response(resp, req).header_length);
  req.outputs = {{"probabilities", std::nullopt}};
  EXPECT_NE(error_of([&] { encode_infer_response(resp, req); }).find("output 'probabilities'"), std::string::npos);
}

}  // namespace
}  // namespace m4h::serve::oip
