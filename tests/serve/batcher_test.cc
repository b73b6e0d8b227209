// The dynamic batcher: concurrent submitters each get exactly their own scores, requests are
// put together (fewer executions than requests), a failing request does not fail the others,
// stop() runs what is queued and refuses the rest, and max_batch_rows 0 runs requests directly.
#include "serve/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "data/data_test_util.h"
#include "serve/serve_test_util.h"

namespace m4h::test {
namespace {

using serve::InputBatch;

// Scores = 2 * row sum + 1, in two outputs; a row holding NaN makes the whole call fail, as a
// model that throws would. Counts its calls.
class FakeModel final : public serve::Model {
 public:
  explicit FakeModel(int64_t width) {
    meta_.name = "fake";
    meta_.version = "1";
    meta_.inputs.push_back({"x", "FP32", {-1, width}});
    meta_.outputs.push_back({"scores", "FP32", {-1, 2}});
  }
  const serve::ModelMetadata& metadata() const override { return meta_; }
  std::vector<float> infer(const InputBatch& b) const override {
    calls++;
    std::vector<float> out;
    for (int64_t r = 0; r < b.rows; ++r) {
      float s = 0;
      for (int64_t c = 0; c < b.width; ++c) {
        const float v = b.x[static_cast<size_t>(r * b.width + c)];
        if (std::isnan(v)) throw Error(ErrorCode::kInvalidArgument, "NaN in row " + std::to_string(r));
        s += v * (b.mask.empty() ? 1.0f : b.mask[static_cast<size_t>(r * b.width + c)]);
      }
      out.push_back(2 * s + 1);
      out.push_back(-s);
    }
    return out;
  }
  serve::InputBatch normalise(const std::vector<serve::RawEvent>&, std::vector<int64_t>*) const override {
    return {};
  }
  mutable std::atomic<int> calls{0};

 private:
  serve::ModelMetadata meta_;
};

InputBatch rows_of(int64_t rows, int64_t width, float base) {
  InputBatch b;
  b.rows = rows;
  b.width = width;
  for (int64_t i = 0; i < rows * width; ++i) b.x.push_back(base + static_cast<float>(i));
  return b;
}

TEST(Batcher, ConcurrentSubmittersGetTheirOwnScores) {
  auto model = std::make_shared<FakeModel>(3);
  auto counters = std::make_shared<serve::CounterCells>();
  serve::Batcher batcher(model, {16, std::chrono::microseconds(2000)}, counters);
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t rows = 1 + (t + i) % 4;
        InputBatch b = rows_of(rows, 3, static_cast<float>(t * 1000 + i));
        const std::vector<float> expected = model->infer(b);
        if (batcher.submit(std::move(b)).get() != expected) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const auto c = counters->snapshot();
  EXPECT_EQ(c.request_success, kThreads * kEach);
  EXPECT_EQ(c.request_failure, 0);
  EXPECT_LT(c.execution_count, kThreads * kEach);  // requests were put together
  EXPECT_GT(c.execution_count, 0);
  int64_t rows = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) rows += 1 + (t + i) % 4;
  EXPECT_EQ(c.inference_count, rows);
  std::printf("%d requests in %lld executions (%.1f requests each)\n", kThreads * kEach,
              static_cast<long long>(c.execution_count), double(kThreads * kEach) / c.execution_count);
}

TEST(Batcher, ABadRequestFailsAloneAndMasksMix) {
  auto model = std::make_shared<FakeModel>(2);
  auto counters = std::make_shared<serve::CounterCells>();
  // A long delay and a large batch: everything submitted below runs as one batch first.
  serve::Batcher batcher(model, {1000, std::chrono::microseconds(200000)}, counters);
  InputBatch good = rows_of(2, 2, 1), bad = rows_of(1, 2, 0), masked = rows_of(1, 2, 5);
  bad.x[1] = NAN;
  masked.mask = {1, 0};
  auto f1 = batcher.submit(good);
  auto f2 = batcher.submit(bad);
  auto f3 = batcher.submit(masked);
  EXPECT_EQ(f1.get(), model->infer(good));
  EXPECT_THROW(f2.get(), Error);
  EXPECT_EQ(f3.get(), (std::vector<float>{11, -5}));  // 2 * 5 + 1: the masked value left out
  const auto c = counters->snapshot();
  EXPECT_EQ(c.request_success, 2);
  EXPECT_EQ(c.request_failure, 1);
  // The wrong shape is refused at once.
  InputBatch wrong = rows_of(1, 3, 0);
  EXPECT_THROW(batcher.submit(wrong).get(), Error);
}

TEST(Batcher, StopRunsWhatIsQueuedThenRefuses) {
  auto model = std::make_shared<FakeModel>(1);
  serve::Batcher batcher(model, {1000, std::chrono::microseconds(300000)}, nullptr);
  std::vector<std::future<std::vector<float>>> waiting;
  for (int i = 0; i < 20; ++i) waiting.push_back(batcher.submit(rows_of(1, 1, static_cast<float>(i))));
  batcher.stop();  // does not wait out the 300 ms delay, and loses nothing queued
  for (int i = 0; i < 20; ++i) EXPECT_EQ(waiting[i].get(), (std::vector<float>{2.0f * i + 1, -1.0f * i}));
  InputBatch late = rows_of(1, 1, 0);
  std::future<std::vector<float>> f;
  EXPECT_FALSE(batcher.try_submit(late, f));
  EXPECT_EQ(late.x.size(), 1u);  // left to the caller
  try {
    batcher.submit(late).get();
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled);
  }
}

TEST(Batcher, NoBatchingRunsEachRequestDirectly) {
  auto model = std::make_shared<FakeModel>(2);
  auto counters = std::make_shared<serve::CounterCells>();
  serve::Batcher batcher(model, {0, std::chrono::microseconds(0)}, counters);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(batcher.submit(rows_of(1, 2, 1)).get(), (std::vector<float>{7, -3}));
  EXPECT_EQ(counters->snapshot().execution_count, 10);
  EXPECT_EQ(model->calls.load(), 10);
}

// The real MLP behind the batcher: the scores of rows submitted from several threads equal
// infer() on each request alone (within float reassociation of a larger matmul).
TEST(Batcher, MlpScoresMatchDirectInference) {
  auto model = serve::load_bundle(serve_fixtures().mlp, "mlp", "1");
  auto counters = std::make_shared<serve::CounterCells>();
  serve::Batcher batcher(model, {64, std::chrono::microseconds(1000)}, counters);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        InputBatch b;
        b.rows = 1 + i % 3;
        b.width = model->width();
        for (int64_t k = 0; k < b.rows * b.width; ++k) b.x.push_back(static_cast<float>((t * 7 + i * 3 + k) % 11) / 10);
        const auto expected = model->infer(b);
        const auto got = batcher.submit(std::move(b)).get();
        if (got.size() != expected.size()) ++wrong;
        for (size_t j = 0; j < got.size() && j < expected.size(); ++j)
          if (std::abs(got[j] - expected[j]) > 1e-6) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LT(counters->snapshot().execution_count, 400);
}

}  // namespace
}  // namespace m4h::test
