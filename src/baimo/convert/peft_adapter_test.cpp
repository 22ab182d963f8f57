// PEFT adapter directories: what baimo writes reads back bit for bit, what PEFT writes (config
// fields, ".default" names, F16 tensors) loads, and every bad input is refused with a message that
// names the file and the field or tensor.
#include "baimo/convert/peft_adapter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "baimo/convert/lora_test_util.h"
#include "baimo/io/safetensors.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/temp_dir.h"

using namespace baimo;
namespace fs = std::filesystem;

namespace peft_adapter_test {
using json = nlohmann::json;

std::vector<float> values(const ag::Var& v) {
  const float* p = v.value().data<float>();
  return {p, p + v.numel()};
}

// The message of the baimo::Error that f throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct Fixture {
  TempDir t{"baimo_peft_"};
  ModelConfig cfg = lora_test::tiny_config();
  LoraAdapter ad = lora_test::random_adapter(cfg);
  std::string dir = (t.dir / "adapter").string();
  Fixture() { save_peft_adapter(dir, ad, "base-model"); }
  std::string config_path() const { return (fs::path(dir) / kPeftConfigFile).string(); }
  std::string weights_path() const { return (fs::path(dir) / kPeftWeightsFile).string(); }
  json config() const { return json::parse(read_file(config_path())); }
  void set_config(const json& j) const { write_file_atomic(config_path(), j.dump()); }
  // Rewrites the weights: every tensor of the saved adapter passed through edit(name, shape, data)
  // (return false to drop it), plus `extra`.
  void rewrite(const std::function<bool(std::string&, std::vector<int64_t>&, std::vector<float>&)>& edit,
               std::vector<SafetensorWrite> extra = {}, DType dtype = DType::F32) const {
    SafetensorsFile f(weights_path());
    std::vector<std::string> names;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<std::vector<float>> datas;
    for (const SafetensorInfo& ti : f->tensors()) {
      std::string n = ti.name;
      std::vector<int64_t> s = ti.shape;
      std::vector<float> d = f->read_f32(ti.name);
      if (!edit(n, s, d)) continue;
      names.push_back(n);
      shapes.push_back(s);
      datas.push_back(std::move(d));
    }
    std::vector<SafetensorWrite> w;
    for (size_t i = 0; i < names.size(); ++i) w.push_back({names[i], shapes[i], datas[i]});
    for (auto& e : extra) w.push_back(e);
    save_safetensors(weights_path(), w, dtype, {{"format", "pt"}});
  }
  std::string load_error() const {
    return error_of([&] { load_peft_adapter(dir, cfg); });
  }
};

TEST(PeftAdapter, SaveLoadRoundTripIsExact) {
  Fixture f;
  const LoraAdapter back = load_peft_adapter(f.dir, f.cfg);
  EXPECT_EQ(back.config.r, 4);
  EXPECT_EQ(back.config.alpha, 8.0f);
  EXPECT_EQ(back.config.targets, f.ad.config.targets);
  ASSERT_EQ(back.pairs.size(), f.ad.pairs.size());
  for (size_t i = 0; i < back.pairs.size(); ++i) {
    EXPECT_EQ(back.pairs[i].spec.a_name, f.ad.pairs[i].spec.a_name);
    EXPECT_EQ(values(back.pairs[i].a), values(f.ad.pairs[i].a));
    EXPECT_EQ(values(back.pairs[i].b), values(f.ad.pairs[i].b));
  }
}

TEST(PeftAdapter, WritesThePeftConfigFieldsAndNames) {
  Fixture f;
  const json j = f.config();
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 4);
  EXPECT_EQ(j["lora_alpha"], 8);
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["inference_mode"], true);
  EXPECT_EQ(j["use_rslora"], false);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_EQ(j["base_model_name_or_path"], "base-model");
  EXPECT_EQ(j["target_modules"],
            json({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}));
  SafetensorsFile w(f.weights_path());
  EXPECT_TRUE(w->contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
  EXPECT_EQ(w->get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape,
            (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(w->metadata().at("format"), "pt");
}

TEST(PeftAdapter, AcceptsDefaultAdapterNamesF16AndPeftTargetForms) {
  Fixture f;
  f.rewrite(
      [](std::string& n, std::vector<int64_t>&, std::vector<float>&) {
        n = n.substr(0, n.rfind(".weight")) + ".default.weight";
        return true;
      },
      {}, DType::F16);
  json j = f.config();
  j["target_modules"] = {"self_attn.q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  j["lora_alpha"] = 8.0;
  j["modules_to_save"] = json::array();  // empty: fine
  f.set_config(j);
  const LoraAdapter back = load_peft_adapter(f.dir, f.cfg);
  const std::vector<float> b = values(back.pairs[3].b), want = values(f.ad.pairs[3].b);
  ASSERT_EQ(b.size(), want.size());
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(b[i], want[i], 1e-3f);
}

TEST(PeftAdapter, SubsetOfTargetsAndAllLinear) {
  TempDir t("baimo_peft_sub_");
  const ModelConfig cfg = lora_test::tiny_config();
  LoraConfig lc;
  lc.targets = parse_lora_targets("q,v");
  const std::string dir = (t.dir / "a").string();
  save_peft_adapter(dir, LoraAdapter::create(cfg, lc, 1), "");
  EXPECT_EQ(load_peft_adapter(dir, cfg).pairs.size(), 4u);
  json j = json::parse(read_file(dir + "/adapter_config.json"));
  j["target_modules"] = "all-linear";
  write_file_atomic(dir + "/adapter_config.json", j.dump());
  // all-linear expects all seven modules: the q/v-only weights miss k_proj.
  const std::string e = error_of([&] { load_peft_adapter(dir, cfg); });
  EXPECT_NE(e.find("adapter_model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("layers.0.self_attn.k_proj.lora_A.weight"), std::string::npos) << e;
}

TEST(PeftAdapter, MissingFilesNameThem) {
  Fixture f;
  EXPECT_NE(error_of([&] { load_peft_adapter((f.t.dir / "nope").string(), f.cfg); }).find("nope"), std::string::npos);
  fs::remove(f.weights_path());
  write_file_atomic(f.dir + "/adapter_model.bin", "x");
  std::string e = f.load_error();
  EXPECT_NE(e.find("adapter_model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("safe_serialization"), std::string::npos) << e;
  fs::remove(f.config_path());
  e = f.load_error();
  EXPECT_NE(e.find("adapter_config.json"), std::string::npos) << e;
}

TEST(PeftAdapter, BadConfigFieldsAreNamed) {
  struct Case {
    const char* key;
    json value;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"peft_type", "PREFIX_TUNING", "PREFIX_TUNING"},
      {"fan_in_fan_out", true, "fan_in_fan_out"},
      {"use_dora", true, "use_dora"},
      {"modules_to_save", {"lm_head"}, "modules_to_save"},
      {"layers_to_transform", {0}, "layers_to_transform"},
      {"rank_pattern", {{"q_proj", 2}}, "rank_pattern"},
      {"bias", "all", "bias"},
      {"r", "four", "\"r\""},
      {"r", 0, "rank r"},
      {"r", 100000, "limit"},
      {"r", 60000, "expected [60000, 32]"},  // checked against the header before anything is allocated
      {"lora_alpha", nullptr, "lora_alpha"},
      {"target_modules", ".*proj", "regular expression"},
      {"target_modules", {"q_proj", "lm_head"}, "lm_head"},
      {"task_type", "SEQ_CLS", "SEQ_CLS"},
  };
  for (const Case& c : cases) {
    Fixture f;
    json j = f.config();
    j[c.key] = c.value;
    f.set_config(j);
    const std::string e = f.load_error();
    EXPECT_NE(e.find("adapter_config.json"), std::string::npos) << c.key << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.key << ": " << e;
  }
  Fixture f;
  write_file_atomic(f.config_path(), "{\"peft_type\": ");
  EXPECT_NE(f.load_error().find("not valid JSON"), std::string::npos);
}

TEST(PeftAdapter, TensorMismatchesAreNamed) {
  const std::string q_a = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
  {  // wrong rank in one tensor
    Fixture f;
    f.rewrite([&](std::string& n, std::vector<int64_t>& s, std::vector<float>& d) {
      if (n == q_a) {
        s = {2, 32};
        d.resize(64);
      }
      return true;
    });
    const std::string e = f.load_error();
    EXPECT_NE(e.find(q_a), std::string::npos) << e;
    EXPECT_NE(e.find("[2, 32]"), std::string::npos) << e;
    EXPECT_NE(e.find("adapter_model.safetensors"), std::string::npos) << e;
  }
  {  // missing tensor
    Fixture f;
    f.rewrite([&](std::string& n, std::vector<int64_t>&, std::vector<float>&) { return n != q_a; });
    const std::string e = f.load_error();
    EXPECT_NE(e.find(q_a), std::string::npos) << e;
    EXPECT_NE(e.find("missing"), std::string::npos) << e;
  }
  {  // extra tensor: a layer the base does not have
    Fixture f;
    std::vector<float> extra(4 * 32, 0.0f);
    const std::string name = "base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight";
    f.rewrite([](std::string&, std::vector<int64_t>&, std::vector<float>&) { return true; },
              {{name, {4, 32}, extra}});
    const std::string e = f.load_error();
    EXPECT_NE(e.find(name), std::string::npos) << e;
    EXPECT_NE(e.find("unexpected"), std::string::npos) << e;
  }
  {  // another base: wider hidden size
    Fixture f;
    ModelConfig other = f.cfg;
    other.hidden_size = 48;
    other.head_dim = 12;
    const std::string e = error_of([&] { load_peft_adapter(f.dir, other); });
    EXPECT_NE(e.find("expected [4, 48]"), std::string::npos) << e;
  }
}

TEST(PeftAdapter, SaveReplacesTheDirectoryWhole) {
  Fixture f;
  write_file_atomic(f.dir + "/stale.txt", "old");
  save_peft_adapter(f.dir, f.ad, "b");
  EXPECT_FALSE(fs::exists(f.dir + "/stale.txt"));
  EXPECT_TRUE(fs::exists(f.weights_path()));
}

}  // namespace peft_adapter_test
