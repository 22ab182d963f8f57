#include "baimo/tokenizer/chat_template.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "baimo/util/error.h"
#include "baimo/util/trim.h"

namespace baimo {
namespace {

std::string capitalized(const std::string& role) {
  std::string r = role;
  if (!r.empty()) r[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(r[0])));
  return r;
}

// A rendered conversation before encoding: template markers (special tokens when the tokenizer has
// them), template text, and message text. opens/closes: an assistant span starts at this segment's
// first byte / ends with its last byte.
enum class Part { Marker, Text, Content };
struct Segment {
  Part part;
  std::string text;
  bool opens = false, closes = false;
};

std::vector<Segment> segments(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::vector<Segment> out;
  auto add = [&](Part p, std::string text, bool opens = false, bool closes = false) {
    out.push_back(Segment{p, std::move(text), opens, closes});
  };
  switch (kind) {
    case ChatTemplateKind::ChatML:
      for (const auto& m : messages) {
        const bool a = m.role == "assistant";
        add(Part::Marker, "<|im_start|>");
        add(Part::Text, m.role + "\n");
        add(Part::Content, m.content, a);
        add(Part::Marker, "<|im_end|>", false, a);
        add(Part::Text, "\n");
      }
      if (add_generation_prompt) {
        add(Part::Marker, "<|im_start|>");
        add(Part::Text, "assistant\n");
      }
      break;
    case ChatTemplateKind::Llama3:
      add(Part::Marker, "<|begin_of_text|>");
      for (const auto& m : messages) {
        const bool a = m.role == "assistant";
        add(Part::Marker, "<|start_header_id|>");
        add(Part::Text, m.role);
        add(Part::Marker, "<|end_header_id|>");
        add(Part::Text, "\n\n");
        add(Part::Content, std::string(trim_space(m.content)), a);
        add(Part::Marker, "<|eot_id|>", false, a);
      }
      if (add_generation_prompt) {
        add(Part::Marker, "<|start_header_id|>");
        add(Part::Text, "assistant");
        add(Part::Marker, "<|end_header_id|>");
        add(Part::Text, "\n\n");
      }
      break;
    case ChatTemplateKind::Plain:
      for (const auto& m : messages) {
        const bool a = m.role == "assistant";
        add(Part::Text, capitalized(m.role) + ": ");
        add(Part::Content, m.content, a);
        add(Part::Text, "\n\n", false, a);
      }
      if (add_generation_prompt) add(Part::Text, "Assistant:");
      break;
  }
  return out;
}

// Encodes text runs between marker ids and turns the byte offsets of span marks into token indices.
class IdsBuilder {
 public:
  IdsBuilder(const Tokenizer& tok, Specials specials) : tok_(tok), specials_(specials) {}

  void marker(const std::string& text, bool closes) {
    std::optional<uint32_t> id = tok_.token_to_id(text);
    if (!id || !tok_.is_added(*id)) return this->text(text, false, closes);  // no such token: text
    flush();
    out_.ids.push_back(*id);
    if (closes) close_at_ids_end();
  }
  void text(const std::string& text, bool opens, bool closes) {
    if (opens) marks_.push_back({run_.size(), true});
    run_ += text;
    if (closes) marks_.push_back({run_.size(), false});
  }
  RenderedChat finish() {
    flush();
    return std::move(out_);
  }

 private:
  struct Mark {
    size_t offset;
    bool open;
  };

  void close_at_ids_end() {
    if (!out_.assistant_spans.empty()) out_.assistant_spans.back().end = out_.ids.size();
  }

  // Byte offset of `offset` in the run as the tokens spell it (a normalizer may change the bytes).
  size_t token_offset(size_t offset) const {
    if (tok_.normalizer() == Normalizer::None) return offset;
    return tok_.decode(tok_.encode(std::string_view(run_).substr(0, offset), specials_)).size();
  }

  void flush() {
    if (run_.empty() && marks_.empty()) return;
    const size_t base = out_.ids.size();
    tok_.encode_into(run_, specials_, out_.ids);
    std::vector<size_t> ends;  // cumulative byte end of each new token
    size_t at = 0;
    for (size_t i = base; i < out_.ids.size(); ++i) ends.push_back(at += tok_.token_bytes(out_.ids[i]).size());
    for (const Mark& m : marks_) {
      const size_t o = token_offset(m.offset);
      if (m.open) {  // the token holding byte o
        size_t i = 0;
        while (i < ends.size() && ends[i] <= o) ++i;
        out_.assistant_spans.push_back({base + i, base + i});
      } else {  // through the token holding byte o-1
        size_t i = 0;
        while (i < ends.size() && ends[i] < o) ++i;
        if (!out_.assistant_spans.empty()) out_.assistant_spans.back().end = base + std::min(i + 1, ends.size());
      }
    }
    run_.clear();
    marks_.clear();
  }

  const Tokenizer& tok_;
  Specials specials_;
  std::string run_;
  std::vector<Mark> marks_;
  RenderedChat out_;
};

}  // namespace

RenderedChat render_chat_ids(const Tokenizer& tok, ChatTemplateKind kind, std::span<const ChatMessage> messages,
                             const ChatRenderOptions& options) {
  IdsBuilder b(tok, options.trusted_specials ? Specials::Allow : Specials::AsText);
  for (const Segment& s : segments(kind, messages, options.add_generation_prompt)) {
    if (s.part == Part::Marker) b.marker(s.text, s.closes);
    else b.text(s.text, s.opens, s.closes);
  }
  return b.finish();
}

std::string render_chat(ChatTemplateKind kind, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const Segment& s : segments(kind, messages, add_generation_prompt)) out += s.text;
  return out;
}

ChatTemplateKind chat_template_from_name(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "chatml") return ChatTemplateKind::ChatML;
  if (n == "llama3" || n == "llama-3") return ChatTemplateKind::Llama3;
  if (n == "plain") return ChatTemplateKind::Plain;
  fail("unknown chat template '{}' (expected chatml, llama3 or plain)", name);
}

ChatTemplateKind detect_chat_template(std::string_view jinja, const Tokenizer& tokenizer) {
  if (jinja.find("<|im_start|>") != std::string_view::npos) return ChatTemplateKind::ChatML;
  if (jinja.find("<|start_header_id|>") != std::string_view::npos) return ChatTemplateKind::Llama3;
  if (tokenizer.token_to_id("<|im_start|>")) return ChatTemplateKind::ChatML;
  if (tokenizer.token_to_id("<|start_header_id|>") && tokenizer.token_to_id("<|eot_id|>"))
    return ChatTemplateKind::Llama3;
  return ChatTemplateKind::ChatML;
}

const char* chat_template_name(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML: return "chatml";
    case ChatTemplateKind::Llama3: return "llama3";
    case ChatTemplateKind::Plain: return "plain";
  }
  return "?";
}

std::string chat_end_of_turn(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML: return "<|im_end|>";
    case ChatTemplateKind::Llama3: return "<|eot_id|>";
    case ChatTemplateKind::Plain: return "\n\nUser:";
  }
  return "";
}

}  // namespace baimo
