// files.txt / labels.txt / params.json as the reference takes them: keys, defaults, the value
// forms its examples use, and the errors for bad input.
#include "data/inputs.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/data_test_util.h"

namespace m4h::data {
namespace {

using test::Scratch;

ErrorCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

TEST(Params, ReferenceDefaults) {
  Params p = parse_params("{}");
  // generator.py RootDataGenerator / models.py train_model defaults.
  EXPECT_EQ(p.nevts, -1);
  EXPECT_EQ(p.chunk_size, 1000);
  EXPECT_EQ(p.epochs, 10);
  EXPECT_EQ(p.batch_size, 50);
  EXPECT_EQ(p.branch, "Events");
  EXPECT_TRUE(p.selected_branches.empty());
  EXPECT_TRUE(p.exclude_branches.empty());
  EXPECT_EQ(p.identifier, (std::vector<std::string>{"run", "event", "luminosityBlock"}));
  EXPECT_FALSE(p.redirector.has_value());
  EXPECT_EQ(p.verbose, 0);
  // Ours.
  EXPECT_EQ(p.mask, MaskConvention::kValid);
  EXPECT_EQ(p.padding_value, 0.0f);
  EXPECT_EQ(p.jdim_max, -1);
  EXPECT_EQ(p.chunks_in_flight, 2);
  EXPECT_DOUBLE_EQ(p.test_fraction, 0.2);
  EXPECT_DOUBLE_EQ(p.validation_fraction, 0.16);
}

// The params.json of the reference's doc/workflow_recipe.md, verbatim.
TEST(Params, ReferenceWorkflowRecipeExample) {
  Params p = parse_params(R"({
    "nevts": 50000,
    "shuffle": true,
    "chunk_size": 10000,
    "epochs": 5,
    "batch_size": 100,
    "identifier": "",
    "branch": "Events",
    "selected_branches": "",
    "exclude_branches": ["run", "event", "luminosityBlock"],
    "hist": "pdfs",
    "redirector": "",
    "verbose": 1
  })");
  EXPECT_EQ(p.nevts, 50000);
  EXPECT_EQ(p.chunk_size, 10000);
  EXPECT_EQ(p.epochs, 5);
  EXPECT_EQ(p.batch_size, 100);
  EXPECT_TRUE(p.shuffle);
  // "" identifier falls back to the reference's default list.
  EXPECT_EQ(p.identifier, (std::vector<std::string>{"run", "event", "luminosityBlock"}));
  EXPECT_TRUE(p.selected_branches.empty());
  EXPECT_EQ(p.exclude_branches, (std::vector<std::string>{"run", "event", "luminosityBlock"}));
  ASSERT_TRUE(p.redirector.has_value());
  EXPECT_EQ(*p.redirector, "");
  EXPECT_EQ(p.verbose, 1);
  EXPECT_EQ(p.ignored_keys, (std::vector<std::string>{"hist"}));
}

TEST(Params, ListsAsCommaStringsAndFiles) {
  Scratch s;
  std::string list = s.write("exclude.txt", "Jet_eta\n# a comment\n\n  Jet_phi  \n");
  Params p = parse_params(R"({"selected_branches": "nJet, Jet_pt,Jet_eta", "exclude_branches": ")" +
                          list + R"(", "identifier": "run,event"})");
  EXPECT_EQ(p.selected_branches, (std::vector<std::string>{"nJet", "Jet_pt", "Jet_eta"}));
  EXPECT_EQ(p.exclude_branches, (std::vector<std::string>{"Jet_eta", "Jet_phi"}));
  EXPECT_EQ(p.identifier, (std::vector<std::string>{"run", "event"}));
  EXPECT_EQ(parse_params(R"({"exclude_branches": "a,b"})").exclude_branches,
            (std::vector<std::string>{"a", "b"}));
}

TEST(Params, OurKeys) {
  Params p = parse_params(R"({"seed": 7, "validation_fraction": 0.1, "test_fraction": 0.3,
    "threads": 3, "jdim_max": 4, "mask": "padded", "padding_value": -1, "chunks_in_flight": 5,
    "chunk_size": -1})");
  EXPECT_EQ(p.seed, 7u);
  EXPECT_DOUBLE_EQ(p.validation_fraction, 0.1);
  EXPECT_DOUBLE_EQ(p.test_fraction, 0.3);
  EXPECT_EQ(p.threads, 3);
  EXPECT_EQ(p.jdim_max, 4);
  EXPECT_EQ(p.mask, MaskConvention::kPadded);
  EXPECT_EQ(p.padding_value, -1.0f);
  EXPECT_EQ(p.chunks_in_flight, 5);
  EXPECT_EQ(p.chunk_size, -1);
  // The reference's "nan" sets the padding value when it is a number.
  EXPECT_EQ(parse_params(R"({"nan": 0.5})").padding_value, 0.5f);
}

TEST(Params, BadInputIsInvalidArgumentNamingTheKey) {
  for (const char* bad : {R"({"nevts": "many"})", R"({"chunk_size": 0})", R"({"nevts": -5})",
                          R"({"mask": "sometimes"})", R"({"selected_branches": 3})",
                          R"({"test_fraction": 0.7, "validation_fraction": 0.5})",
                          R"({"threads": -1})", R"({"epochs": 0})", R"({"branch": ""})"}) {
    try {
      parse_params(bad, "p.json");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("p.json"), std::string::npos) << e.what();
    }
  }
}

// Keys no layer reads are ignored, as the reference does, but one that looks like a known key
// misspelt gets a line; the reference's own unused keys (hist, split) and training keys do not.
TEST(Params, MisspeltKeysAreNamedWithTheKeyMeant) {
  Params p = parse_params(R"({"chunk_szie": 10, "epoch": 2, "learning_rat": 0.1, "hist": "h", "split": 0.3,
    "learning_rate": 0.01, "optimizer": "sgd", "batch_size": 5})", "p.json");
  EXPECT_EQ(p.ignored_keys.size(), 7u);  // all but batch_size: the training keys are not the data layer's
  EXPECT_EQ(misspelt_param_keys(p, "p.json"),
            (std::vector<std::string>{"p.json: key 'chunk_szie' is not used; did you mean 'chunk_size'?",
                                      "p.json: key 'epoch' is not used; did you mean 'epochs'?",
                                      "p.json: key 'learning_rat' is not used; did you mean 'learning_rate'?"}));
  EXPECT_TRUE(misspelt_param_keys(parse_params(R"({"chunk_size": 10, "hist": "h"})")).empty());
}

TEST(Params, MalformedJson) {
  EXPECT_EQ(code_of([] { parse_params("{\"nevts\": 10,", "p.json"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { parse_params("[1, 2]"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { load_params("/nonexistent/params.json"); }), ErrorCode::kNotFound);
}

TEST(ListArgs, FileWithCommentsOrCommaList) {
  Scratch s;
  std::string files = s.write("files.txt", "#dasgoclient -query=...\n/a/one.root\n\n  two.root \n# x.root\n");
  EXPECT_EQ(read_list_arg(files), (std::vector<std::string>{"/a/one.root", "two.root"}));
  EXPECT_EQ(read_list_arg("a.root,b.root"), (std::vector<std::string>{"a.root", "b.root"}));
  std::string labels = s.write("labels.txt", "1\n0\n# c\n1\n");
  EXPECT_EQ(read_labels_arg(labels), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(read_labels_arg("1,0"), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(code_of([] { read_labels_arg("1,signal"); }), ErrorCode::kInvalidArgument);
}

TEST(Dataset, LabelCountAndEmptyList) {
  EXPECT_EQ(code_of([] { make_dataset({}, {}, Params{}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { make_dataset({"a.root", "b.root"}, {1}, Params{}); }),
            ErrorCode::kInvalidArgument);
  EXPECT_NO_THROW(make_dataset({"a.root"}, {1}, Params{}));
}

TEST(Redirector, ReferenceDefaultOnlyForLogicalFileNames) {
  Params none;
  EXPECT_EQ(source_options_for("/store/mc/f.root", none).redirector, kReferenceRedirector);
  EXPECT_EQ(source_options_for("missing.root", none).redirector, "");
  Params set = parse_params(R"({"redirector": "root://eos.example:1094"})");
  EXPECT_EQ(source_options_for("missing.root", set).redirector, "root://eos.example:1094");
  Params empty = parse_params(R"({"redirector": ""})");
  EXPECT_EQ(source_options_for("/store/mc/f.root", empty).redirector, "");
  io::SourceOptions cli;
  cli.redirector = "root://cli";
  EXPECT_EQ(source_options_for("/store/x.root", set, cli).redirector, "root://cli");
}

TEST(OpenInputs, MissingTreeListsTheTrees) {
  Scratch s;
  std::string f = test::generate(s, "sig.root", true, 50, 1);
  Dataset d = make_dataset({f}, {1}, parse_params(R"({"branch": "Nope"})"));
  try {
    open_inputs(d);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no tree 'Nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Events"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
  Dataset ok = make_dataset({f}, {1}, Params{});
  auto in = open_inputs(ok);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].tree->entries(), 50);
  EXPECT_GT(in[0].size, 0u);
  EXPECT_GT(in[0].mtime_ns, 0);
  EXPECT_EQ(code_of([&] { open_inputs(make_dataset({s.path("none.root")}, {1}, Params{})); }),
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace m4h::data
