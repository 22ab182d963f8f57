#include "baimo/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"

using namespace baimo;

namespace {
Tokenizer tokenizer_with(std::vector<AddedToken> added) {
  std::vector<std::string> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = std::string(1, static_cast<char>(b));
  return Tokenizer::from_bpe(PreTokenizerKind::Gpt2, bytes, {}, std::move(added));
}
const std::vector<ChatMessage> kChat = {{"system", "You are kind."}, {"user", "你好!"}, {"assistant", " Hi. \n"},
                                        {"user", "Bye"}};
}  // namespace

TEST(ChatTemplate, ChatMLExact) {
  EXPECT_EQ(render_chat(ChatTemplateKind::ChatML, kChat, true),
            "<|im_start|>system\nYou are kind.<|im_end|>\n<|im_start|>user\n你好!<|im_end|>\n"
            "<|im_start|>assistant\n Hi. \n<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatTemplateKind::ChatML, std::span(kChat.data(), 1), false),
            "<|im_start|>system\nYou are kind.<|im_end|>\n");
}

TEST(ChatTemplate, Llama3Exact) {
  EXPECT_EQ(render_chat(ChatTemplateKind::Llama3, std::span(kChat.data(), 3), true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are kind.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n你好!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, PlainExact) {
  EXPECT_EQ(render_chat(ChatTemplateKind::Plain, std::span(kChat.data(), 2), true),
            "System: You are kind.\n\nUser: 你好!\n\nAssistant:");
  EXPECT_EQ(chat_end_of_turn(ChatTemplateKind::Plain), "\n\nUser:");
}

TEST(ChatTemplate, Names) {
  EXPECT_EQ(chat_template_from_name("ChatML"), ChatTemplateKind::ChatML);
  EXPECT_EQ(chat_template_from_name("llama-3"), ChatTemplateKind::Llama3);
  EXPECT_EQ(chat_template_from_name("plain"), ChatTemplateKind::Plain);
  EXPECT_THROW(chat_template_from_name("jinja"), Error);
  for (auto k : {ChatTemplateKind::ChatML, ChatTemplateKind::Llama3, ChatTemplateKind::Plain})
    EXPECT_EQ(chat_template_from_name(chat_template_name(k)), k);
}

TEST(ChatTemplate, DetectFromJinjaThenTokensThenDefault) {
  Tokenizer plain = tokenizer_with({});
  Tokenizer llama = tokenizer_with({{256, "<|start_header_id|>"}, {257, "<|end_header_id|>"}, {258, "<|eot_id|>"}});
  Tokenizer qwen = tokenizer_with({{256, "<|im_start|>"}, {257, "<|im_end|>"}});
  EXPECT_EQ(detect_chat_template("{% for m in messages %}<|start_header_id|>{{ m.role }}", plain),
            ChatTemplateKind::Llama3);
  EXPECT_EQ(detect_chat_template("{{'<|im_start|>' + message['role']}}", llama), ChatTemplateKind::ChatML);
  EXPECT_EQ(detect_chat_template("", llama), ChatTemplateKind::Llama3);
  EXPECT_EQ(detect_chat_template("", qwen), ChatTemplateKind::ChatML);
  EXPECT_EQ(detect_chat_template("", plain), ChatTemplateKind::ChatML);
}
