#include "baimo/data/sft_examples.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "baimo/tokenizer/test_shared.h"
#include "baimo/util/error.h"

namespace baimo {
namespace sft_examples_test {

std::string base_small() { return test_data::shared_dir() + "/models/base-small-zh-en/tokenizer.json"; }
std::string sft_file(const std::string& name) { return test_data::shared_dir() + "/data/sft/" + name; }

#define NEED_SFT_SHARED()                                                                  \
  if (!std::filesystem::exists(base_small()) || !std::filesystem::exists(sft_file("identity.json"))) \
  GTEST_SKIP() << "no " << test_data::shared_dir() << " (set BAIMO_SHARED)"

const Tokenizer& tok() {
  static const Tokenizer t = Tokenizer::from_tokenizer_json_file(base_small());
  return t;
}

std::string decode(const std::vector<int32_t>& ids) {
  std::vector<uint32_t> u(ids.begin(), ids.end());
  return tok().decode(u);
}

// The masked tokens, decoded run by run.
std::vector<std::string> answer_runs(const SftExample& e) {
  std::vector<std::string> runs;
  std::vector<int32_t> cur;
  for (size_t i = 0; i <= e.ids.size(); ++i) {
    if (i < e.ids.size() && e.mask[i]) {
      cur.push_back(e.ids[i]);
    } else if (!cur.empty()) {
      runs.push_back(decode(cur));
      cur.clear();
    }
  }
  return runs;
}

ChatRecord record(std::vector<ChatMessage> msgs) {
  ChatRecord r;
  for (size_t i = 0; i < msgs.size(); ++i)
    if (msgs[i].role == "user") r.exchanges.push_back(i);
  r.messages = std::move(msgs);
  r.where = "test";
  return r;
}

TEST(SftExamples, MaskCoversAnswersAndTheirEndOfTurn) {
  NEED_SFT_SHARED();
  ASSERT_EQ(tok().token_to_id("<|im_end|>"), 16383u);
  const ChatRecord r = record({{"system", "S"}, {"user", "你好"}, {"assistant", "Hi there!"}, {"user", "2+2?"}, {"assistant", "4"}});
  SftStats st;
  std::optional<SftExample> e = encode_sft_example(tok(), r, {}, st, 7);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->record, 7u);
  ASSERT_EQ(e->ids.size(), e->mask.size());
  EXPECT_EQ(answer_runs(*e), (std::vector<std::string>{"Hi there!<|im_end|>", "4<|im_end|>"}));
  EXPECT_EQ(decode(e->ids), render_chat(ChatTemplateKind::ChatML, r.messages, false));
  EXPECT_EQ(decode({e->ids.back()}), "\n");  // the "\n" after <|im_end|> is not trained on
  EXPECT_EQ(e->ids[e->ids.size() - 2], 16383);
  EXPECT_EQ(e->mask.back(), 0);
  EXPECT_EQ(st.records, 1u);
  EXPECT_EQ(st.examples, 1u);
  size_t ones = 0;
  for (uint8_t m : e->mask) ones += m;
  EXPECT_EQ(st.answer_tokens, ones);
  EXPECT_EQ(st.tokens, e->ids.size());
}

TEST(SftExamples, ToolConversationSpansDecodeToTheAnswers) {
  NEED_SFT_SHARED();
  const std::vector<ChatRecord> recs = read_chat_records(sft_file("glaive_toolcall_zh_demo.json"));
  const SftDataset d = encode_sft_examples(tok(), recs, {});
  ASSERT_EQ(d.examples.size(), recs.size());
  SftStats seq;
  for (size_t k = 0; k < recs.size(); ++k) {  // the parallel encoding equals one record at a time
    const std::optional<SftExample> e = encode_sft_example(tok(), recs[k], {}, seq, k);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->ids, d.examples[k].ids);
    ASSERT_EQ(e->mask, d.examples[k].mask);
  }
  EXPECT_EQ(seq.tokens, d.stats.tokens);
  EXPECT_EQ(seq.answer_tokens, d.stats.answer_tokens);
  for (size_t k = 0; k < 20; ++k) {
    const ChatRecord& r = recs[k];
    std::vector<std::string> want;
    for (const ChatMessage& m : r.messages)
      if (m.role == "assistant") want.push_back(m.content + "<|im_end|>");
    EXPECT_EQ(answer_runs(d.examples[k]), want) << r.where;
    EXPECT_EQ(decode(d.examples[k].ids), render_chat(ChatTemplateKind::ChatML, template_messages(r), false));
  }
}

TEST(SftExamples, TruncationDropsEarliestExchangesThenCutsTheEnd) {
  NEED_SFT_SHARED();
  const std::string long_text(400, 'x');  // many tokens
  const ChatRecord r = record({{"system", "Sys"},
                               {"user", "first " + long_text},
                               {"assistant", "one " + long_text},
                               {"user", "second"},
                               {"assistant", "two"}});
  SftStats full;
  const size_t n_full = encode_sft_example(tok(), r, {}, full, 0)->ids.size();
  const ChatRecord last = record({{"system", "Sys"}, {"user", "second"}, {"assistant", "two"}});
  SftStats tmp;
  const SftExample want = *encode_sft_example(tok(), last, {}, tmp, 0);
  ASSERT_LT(want.ids.size(), n_full);

  SftEncodeOptions o;
  o.max_len = want.ids.size();  // only the last exchange fits
  SftStats st;
  std::optional<SftExample> e = encode_sft_example(tok(), r, o, st, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ids, want.ids);
  EXPECT_EQ(e->mask, want.mask);
  EXPECT_EQ(st.truncated, 1u);

  // Skip: left out and counted.
  o.overflow = SftOverflow::Skip;
  SftStats sk;
  EXPECT_FALSE(encode_sft_example(tok(), r, o, sk, 0));
  EXPECT_EQ(sk.skipped, 1u);
  EXPECT_EQ(sk.examples, 0u);

  // A last exchange longer than max_len is cut at the end: the answer keeps its head.
  o.overflow = SftOverflow::Truncate;
  const ChatRecord one = record({{"user", "q"}, {"assistant", "answer " + long_text}});
  const std::vector<ChatMessage> prompt = {{"user", "q"}};
  const size_t prompt_len = render_chat_ids(tok(), ChatTemplateKind::ChatML, prompt, {.add_generation_prompt = true}).ids.size();
  o.max_len = prompt_len + 3;
  SftStats cut;
  e = encode_sft_example(tok(), one, o, cut, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ids.size(), prompt_len + 3);
  EXPECT_EQ(cut.truncated, 1u);
  EXPECT_EQ(e->mask.back(), 1);
  const std::vector<std::string> runs = answer_runs(*e);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].empty());
  EXPECT_TRUE(("answer " + long_text).starts_with(runs[0])) << runs[0];  // the head, without <|im_end|>

  // The prompt alone fills max_len: no answer token left, counted.
  const ChatRecord long_prompt = record({{"user", long_text}, {"assistant", "a"}});
  SftStats none;
  EXPECT_FALSE(encode_sft_example(tok(), long_prompt, o, none, 0));
  EXPECT_EQ(none.no_answer, 1u);
  EXPECT_EQ(none.truncated, 1u);
}

TEST(SftExamples, RealFilesAtMaxLen1024AccountForEveryRecord) {
  NEED_SFT_SHARED();
  for (const char* f : {"alpaca_en_demo.json", "alpaca_zh_demo.json", "glaive_toolcall_en_demo.json",
                        "glaive_toolcall_zh_demo.json", "identity.json", "user_oriented_instructions.jsonl"}) {
    const std::vector<ChatRecord> recs = read_chat_records(sft_file(f), ChatFormat::Auto, {{"name", "Baimo"}, {"author", "Baimo"}});
    SftEncodeOptions o;
    o.max_len = 1024;
    const SftDataset d = encode_sft_examples(tok(), recs, o);
    const SftStats& s = d.stats;
    EXPECT_EQ(s.records, recs.size());
    EXPECT_EQ(s.records, s.examples + s.skipped + s.no_answer) << f;
    EXPECT_EQ(d.examples.size(), s.examples);
    EXPECT_LE(s.longest, 1024u);
    o.overflow = SftOverflow::Skip;
    const SftStats k = encode_sft_examples(tok(), recs, o).stats;
    EXPECT_EQ(k.skipped, s.truncated) << f;  // the records over max_len, either way
    std::printf("%s: records %zu examples %zu tokens %zu answer tokens %zu truncated %zu no-answer %zu longest %zu\n",
                f, s.records, s.examples, s.tokens, s.answer_tokens, s.truncated, s.no_answer, s.longest);
  }
}

TEST(SftExamples, HeldOutSplitIsDeterministicPerRecord) {
  const std::vector<uint8_t> a = held_out_records(1000, 0.05, 42);
  EXPECT_EQ(a, held_out_records(1000, 0.05, 42));
  EXPECT_NE(a, held_out_records(1000, 0.05, 43));
  size_t n = 0;
  for (uint8_t h : a) n += h;
  EXPECT_EQ(n, 50u);
  EXPECT_EQ(held_out_records(10, 0.01, 1), held_out_records(10, 0.01, 1));
  size_t m = 0;
  for (uint8_t h : held_out_records(10, 0.01, 1)) m += h;
  EXPECT_EQ(m, 1u);  // at least one when fraction > 0
  for (uint8_t h : held_out_records(10, 0.0, 1)) EXPECT_EQ(h, 0);
  EXPECT_THROW(held_out_records(10, 1.0, 1), Error);
  EXPECT_THROW(held_out_records(10, -0.1, 1), Error);

  std::vector<SftExample> ex(6);
  for (size_t i = 0; i < ex.size(); ++i) ex[i].record = i + 2;  // records 0 and 1 were left out
  const std::vector<uint8_t> held = held_out_records(8, 0.25, 9);
  const SftSplit s = split_sft_examples(ex, 8, 0.25, 9);
  EXPECT_EQ(s.train.size() + s.held_out.size(), 6u);
  for (const SftExample& e : s.held_out) EXPECT_EQ(held[e.record], 1);
  for (const SftExample& e : s.train) EXPECT_EQ(held[e.record], 0);
}

}  // namespace sft_examples_test

}  // namespace baimo
