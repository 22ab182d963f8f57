#include "baimo/data/preference_examples.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "baimo/data/sft_examples.h"
#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"

namespace baimo {
namespace preference_examples_test {

std::string prefs_file(const std::string& name) { return test_data::shared_dir() + "/data/prefs/" + name; }
std::string base_small_path() { return test_data::shared_dir() + "/models/base-small-zh-en/tokenizer.json"; }

#define NEED_PREFS_SHARED()                                                                             \
  if (!std::filesystem::exists(base_small_path()) || !std::filesystem::exists(prefs_file("dpo_en_demo.json"))) \
  GTEST_SKIP() << "no " << test_data::shared_dir() << " (set BAIMO_SHARED)"

const Tokenizer& qwen() { return test_data::qwen25_tokenizer(); }
const Tokenizer& llama3() { return test_data::llama3_tokenizer(); }
const Tokenizer& base_small() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json_file(base_small_path());
  return t;
}

const std::vector<PreferenceRecord>& demo() {
  static const std::vector<PreferenceRecord> r = [] {
    std::vector<PreferenceRecord> all = read_preference_records(prefs_file("dpo_en_demo.json"));
    for (PreferenceRecord& x : read_preference_records(prefs_file("dpo_zh_demo.json"))) all.push_back(std::move(x));
    return all;
  }();
  return r;
}

std::string decode(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<uint32_t> u(ids.begin(), ids.end());
  return tok.decode(u);
}

ChatRecord chat_of(const PreferenceRecord& r, const std::string& answer) {
  ChatRecord c;
  c.messages = r.prompt;
  c.messages.push_back({"assistant", answer});
  c.exchanges = r.exchanges;
  c.tools = r.tools;
  c.where = r.where;
  return c;
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// prompt + answer is the start of the whole conversation's ids, and the answer is what SFT trains on
// (its masked tokens), but for Plain's " " after "Assistant:" when that is a token of its own.
void expect_sft_rendering(const Tokenizer& tok, ChatTemplateKind kind, const PreferenceRecord& r, const PreferenceExample& e) {
  for (const auto& [answer, ids] : {std::pair{r.chosen, e.chosen}, std::pair{r.rejected, e.rejected}}) {
    const ChatRecord c = chat_of(r, answer);
    const std::vector<int32_t> full = chat_ids_with_bos(tok, render_chat_ids(tok, kind, template_messages(c)).ids);
    const std::vector<int32_t> both = cat(e.prompt, ids);
    ASSERT_LE(both.size(), full.size()) << r.where;
    ASSERT_TRUE(std::equal(both.begin(), both.end(), full.begin())) << r.where;
    ASSERT_LE(full.size() - both.size(), 1u) << r.where;  // at most ChatML's "\n" after <|im_end|>
    SftStats st;
    const std::optional<SftExample> s = encode_sft_example(tok, c, {.kind = kind}, st, 0);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->ids, full);
    std::vector<int32_t> masked;
    for (size_t i = 0; i < s->ids.size(); ++i)
      if (s->mask[i] && i >= e.prompt.size()) masked.push_back(s->ids[i]);
    ASSERT_LE(masked.size(), ids.size());
    ASSERT_TRUE(std::equal(masked.begin(), masked.end(), ids.end() - static_cast<std::ptrdiff_t>(masked.size()))) << r.where;
    if (masked.size() < ids.size()) {
      ASSERT_EQ(kind, ChatTemplateKind::Plain);
      ASSERT_EQ(decode(tok, std::vector<int32_t>(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(masked.size()))), " ");
    }
  }
}

TEST(PreferenceExamples, RenderingIsSftsForChatMlLlama3AndPlain) {
  NEED_PREFS_SHARED();
  struct Case {
    const Tokenizer* tok;
    ChatTemplateKind kind;
    const char* name;
  } cases[] = {{&qwen(), ChatTemplateKind::ChatML, "qwen chatml"},
               {&base_small(), ChatTemplateKind::ChatML, "base-small chatml"},
               {&llama3(), ChatTemplateKind::Llama3, "llama3"},
               {&qwen(), ChatTemplateKind::Plain, "qwen plain"},
               {&base_small(), ChatTemplateKind::Plain, "base-small plain"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const PreferenceDataset d = encode_preference_examples(*c.tok, demo(), {.kind = c.kind});
    ASSERT_EQ(d.examples.size(), demo().size());
    EXPECT_EQ(d.stats.records, 600u);
    EXPECT_EQ(d.stats.examples, 600u);
    EXPECT_EQ(d.stats.truncated + d.stats.skipped, 0u);
    size_t tokens = 0;
    for (size_t k = 0; k < demo().size(); ++k) {
      const PreferenceExample& e = d.examples[k];
      ASSERT_EQ(e.record, k);
      tokens += e.prompt.size() + e.chosen.size() + e.rejected.size();
      if (k % 7 == 0) expect_sft_rendering(*c.tok, c.kind, demo()[k], e);
    }
    EXPECT_EQ(tokens, d.stats.tokens);
  }
  // The answers decode to their text and the end of turn; the prompt ends with the generation prompt.
  const PreferenceRecord& r = demo()[0];
  PreferenceStats st;
  const PreferenceExample e = *encode_preference_example(qwen(), r, {}, st, 0);
  EXPECT_EQ(decode(qwen(), e.chosen), r.chosen + "<|im_end|>");
  EXPECT_EQ(decode(qwen(), e.rejected), r.rejected + "<|im_end|>");
  EXPECT_EQ(decode(qwen(), e.prompt), render_chat(ChatTemplateKind::ChatML, r.prompt, true));
  const PreferenceExample l = *encode_preference_example(llama3(), r, {.kind = ChatTemplateKind::Llama3}, st, 0);
  EXPECT_EQ(l.prompt.front(), static_cast<int32_t>(*llama3().token_to_id("<|begin_of_text|>")));
  EXPECT_NE(l.prompt[1], l.prompt[0]);  // one BOS
  EXPECT_EQ(decode(llama3(), l.chosen), r.chosen + "<|eot_id|>");
}

TEST(PreferenceExamples, ParallelEqualsOneAtATime) {
  NEED_PREFS_SHARED();
  const PreferenceEncodeOptions o{.kind = ChatTemplateKind::ChatML, .max_len = 256};
  const PreferenceDataset d = encode_preference_examples(base_small(), demo(), o);
  PreferenceStats seq;
  std::vector<PreferenceExample> one;
  for (size_t k = 0; k < demo().size(); ++k)
    if (auto e = encode_preference_example(base_small(), demo()[k], o, seq, k)) one.push_back(std::move(*e));
  ASSERT_EQ(one.size(), d.examples.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].record, d.examples[i].record);
    ASSERT_EQ(one[i].prompt, d.examples[i].prompt);
    ASSERT_EQ(one[i].chosen, d.examples[i].chosen);
    ASSERT_EQ(one[i].rejected, d.examples[i].rejected);
  }
  EXPECT_EQ(seq.tokens, d.stats.tokens);
  EXPECT_EQ(seq.truncated, d.stats.truncated);
  EXPECT_EQ(seq.skipped, d.stats.skipped);
  const PreferenceStats& s = d.stats;
  EXPECT_EQ(s.records, s.examples + s.skipped);
  EXPECT_LE(s.longest, 256u);
  EXPECT_GT(s.truncated, 100u);
  for (const PreferenceExample& e : d.examples) {
    ASSERT_LE(e.prompt.size() + e.chosen.size(), 256u);
    ASSERT_LE(e.prompt.size() + e.rejected.size(), 256u);
    ASSERT_FALSE(e.chosen.empty() || e.rejected.empty());
  }
  std::printf("dpo demo at max_len 256: records %zu examples %zu truncated %zu skipped %zu tokens %zu longest %zu\n",
              s.records, s.examples, s.truncated, s.skipped, s.tokens, s.longest);
}

PreferenceRecord pair(std::vector<ChatMessage> prompt, std::string chosen, std::string rejected) {
  PreferenceRecord r;
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i].role == "user") r.exchanges.push_back(i);
  r.prompt = std::move(prompt);
  r.chosen = std::move(chosen);
  r.rejected = std::move(rejected);
  r.where = "t: record 1";
  return r;
}

TEST(PreferenceExamples, TruncationDropsExchangesThenCutsThePromptsStartThenTheAnswersEnd) {
  NEED_PREFS_SHARED();
  const Tokenizer& tok = base_small();
  const std::string x(300, 'x');
  const PreferenceRecord r = pair({{"system", "Sys"}, {"user", "first " + x}, {"assistant", "one " + x}, {"user", "second"}},
                                  "good answer", "bad");
  PreferenceStats st;
  const PreferenceExample full = *encode_preference_example(tok, r, {}, st, 0);
  const PreferenceRecord last = pair({{"system", "Sys"}, {"user", "second"}}, "good answer", "bad");
  const PreferenceExample want = *encode_preference_example(tok, last, {}, st, 0);
  ASSERT_LT(want.prompt.size(), full.prompt.size());

  // 1. Only the last exchange fits: the earlier one is dropped, the system prompt stays.
  PreferenceEncodeOptions o;
  o.max_len = want.prompt.size() + want.chosen.size();
  o.max_prompt_len = o.max_len - 1;
  PreferenceStats s1;
  PreferenceExample e = *encode_preference_example(tok, r, o, s1, 3);
  EXPECT_EQ(e.prompt, want.prompt);
  EXPECT_EQ(e.chosen, want.chosen);
  EXPECT_EQ(e.rejected, want.rejected);
  EXPECT_EQ(e.record, 3u);
  EXPECT_EQ(s1.truncated, 1u);
  EXPECT_EQ(s1.examples, 1u);

  // 2. + 3. One long exchange: the prompt keeps its last max_prompt_len tokens, the answers their heads.
  const PreferenceRecord one = pair({{"user", "question " + x}}, "yes " + x, "no " + x);
  const PreferenceExample whole = *encode_preference_example(tok, one, {}, st, 0);
  o.max_len = 40;
  o.max_prompt_len = 0;  // 20
  PreferenceStats s2;
  e = *encode_preference_example(tok, one, o, s2, 0);
  EXPECT_EQ(s2.truncated, 1u);
  ASSERT_EQ(e.prompt.size(), 20u);
  EXPECT_TRUE(std::equal(e.prompt.begin(), e.prompt.end(), whole.prompt.end() - 20));  // its end, the generation prompt
  ASSERT_EQ(e.chosen.size(), 20u);
  EXPECT_TRUE(std::equal(e.chosen.begin(), e.chosen.end(), whole.chosen.begin()));
  EXPECT_TRUE(std::equal(e.rejected.begin(), e.rejected.end(), whole.rejected.begin()));
  EXPECT_EQ(s2.longest, 40u);
  // A short answer keeps its end of turn; a short prompt is not cut.
  const PreferenceRecord short_answers = pair({{"user", "q " + x}}, "yes", "no " + x);
  o.max_prompt_len = 30;
  e = *encode_preference_example(tok, short_answers, o, s2, 0);
  EXPECT_EQ(e.prompt.size(), 30u);
  EXPECT_EQ(decode(tok, e.chosen), "yes<|im_end|>");
  EXPECT_EQ(e.rejected.size(), 10u);

  // BOS stays in front of a left-cut prompt.
  Tokenizer with_bos = Tokenizer::from_tokenizer_json_file(base_small_path());
  with_bos.set_bos_id(*tok.token_to_id("<|im_start|>"));
  with_bos.set_add_bos(true);
  o.max_prompt_len = 0;
  e = *encode_preference_example(with_bos, one, o, s2, 0);
  ASSERT_EQ(e.prompt.size(), 20u);
  EXPECT_EQ(e.prompt[0], static_cast<int32_t>(*tok.token_to_id("<|im_start|>")));
  EXPECT_TRUE(std::equal(e.prompt.begin() + 1, e.prompt.end(), whole.prompt.end() - 19));

  // Answers that become the same after the cut: skipped, counted.
  const PreferenceRecord same_head = pair({{"user", "q"}}, x + " a", x + " b");
  PreferenceStats s3;
  EXPECT_FALSE(encode_preference_example(tok, same_head, o, s3, 0));
  EXPECT_EQ(s3.skipped, 1u);
  EXPECT_EQ(s3.truncated, 1u);
  EXPECT_EQ(s3.examples, 0u);
  EXPECT_EQ(s3.records, 1u);

  // No room for an answer: an error.
  o.max_prompt_len = 40;
  EXPECT_THROW(encode_preference_example(tok, one, o, s3, 0), Error);
}

TEST(PreferenceExamples, NotPrefixConsistentIsAClearError) {
  NEED_PREFS_SHARED();
  // "assistant\n" + "\n..." encodes "\n\n" as one token: the prompt's ids are not a prefix.
  const std::vector<PreferenceRecord> recs = {pair({{"user", "q"}}, "a", "b"), pair({{"user", "q"}}, "\nlead", "b")};
  try {
    encode_preference_examples(qwen(), recs, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("t: record 1: the chatml template's tokens of the prompt are not the start of its tokens with the chosen answer"),
              std::string::npos)
        << m;
  }
  // Llama-3 trims contents, so the same answer is fine there.
  EXPECT_EQ(encode_preference_examples(llama3(), recs, {.kind = ChatTemplateKind::Llama3}).examples.size(), 2u);
}

TEST(PreferenceExamples, ToolsGoInTheSystemPrompt) {
  NEED_PREFS_SHARED();
  PreferenceRecord r = pair({{"user", "weather?"}}, "<tool_call>\n{\"name\": \"w\", \"arguments\": {}}\n</tool_call>", "no");
  r.tools = R"([{"name": "w"}])";
  PreferenceStats st;
  const PreferenceExample e = *encode_preference_example(qwen(), r, {}, st, 0);
  ChatRecord c = chat_of(r, r.chosen);
  c.messages.pop_back();
  EXPECT_EQ(decode(qwen(), e.prompt), render_chat(ChatTemplateKind::ChatML, template_messages(c), true));
  EXPECT_NE(decode(qwen(), e.prompt).find("# Tools"), std::string::npos);
  EXPECT_EQ(decode(qwen(), e.chosen), r.chosen + "<|im_end|>");
  expect_sft_rendering(qwen(), ChatTemplateKind::ChatML, r, e);
}

TEST(PreferenceExamples, SplitIsByRecordAsSfts) {
  std::vector<PreferenceExample> ex(6);
  for (size_t i = 0; i < ex.size(); ++i) ex[i].record = i + 2;
  const std::vector<uint8_t> held = held_out_records(8, 0.25, 9);
  const PreferenceSplit s = split_preference_examples(ex, 8, 0.25, 9);
  EXPECT_EQ(s.train.size() + s.held_out.size(), 6u);
  for (const PreferenceExample& e : s.held_out) EXPECT_EQ(held[e.record], 1);
  for (const PreferenceExample& e : s.train) EXPECT_EQ(held[e.record], 0);
  EXPECT_THROW(split_preference_examples(ex, 5, 0.25, 9), Error);
}

}  // namespace preference_examples_test

}  // namespace baimo
