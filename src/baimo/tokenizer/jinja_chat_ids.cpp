#include "baimo/tokenizer/jinja_chat_ids.h"

#include <string_view>

#include "baimo/tokenizer/jinja/jinja.h"

namespace baimo {
namespace {

constexpr std::string_view kMarkerOpen = "\xEF\xB7\x90";   // U+FDD0
constexpr std::string_view kMarkerClose = "\xEF\xB7\x91";  // U+FDD1

// Swaps special-token text (and the marker characters themselves) in every string of `v` for markers;
// `texts` collects what each marker stands for.
class Protector {
 public:
  explicit Protector(const Tokenizer& tok) {
    for (const AddedToken& t : tok.added_tokens())
      if (t.special && !t.content.empty()) specials_.push_back(t.content);
    specials_.emplace_back(kMarkerOpen);
    specials_.emplace_back(kMarkerClose);
  }

  void protect(nlohmann::ordered_json& v) {
    if (v.is_string()) {
      std::string& s = v.get_ref<std::string&>();
      if (has_any(s)) s = swap(s);
    } else if (v.is_array() || v.is_object()) {
      for (auto& child : v) protect(child);
    }
  }
  const std::vector<std::string>& texts() const { return texts_; }

 private:
  bool has_any(const std::string& s) const {
    for (const auto& t : specials_)
      if (s.find(t) != std::string::npos) return true;
    return false;
  }
  std::string swap(const std::string& s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      size_t best = std::string::npos, len = 0;
      for (const auto& t : specials_) {  // the earliest match, the longest at a tie
        size_t at = s.find(t, i);
        if (at != std::string::npos && (at < best || (at == best && t.size() > len))) best = at, len = t.size();
      }
      if (best == std::string::npos) break;
      out.append(s, i, best - i);
      out += kMarkerOpen;
      out += std::to_string(texts_.size());
      out += kMarkerClose;
      texts_.push_back(s.substr(best, len));
      i = best + len;
    }
    out.append(s, i, std::string::npos);
    return out;
  }

  std::vector<std::string> specials_;
  std::vector<std::string> texts_;
};

std::string token_text(const Tokenizer& tok, std::optional<uint32_t> id) {
  return id ? std::string(tok.token_bytes(*id)) : std::string();
}

}  // namespace

std::vector<uint32_t> render_jinja_chat_ids(const Tokenizer& tok, const std::string& template_text,
                                            const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                            bool add_generation_prompt) {
  Protector p(tok);
  nlohmann::ordered_json msgs = messages, tls = tools;
  p.protect(msgs);
  p.protect(tls);
  const std::string text = render_chat_jinja(template_text, msgs, tls, add_generation_prompt,
                                             token_text(tok, tok.bos_id()), token_text(tok, tok.eos_id()));
  std::vector<uint32_t> ids;
  std::string_view rest(text);
  std::string template_run;  // template text up to the next marker
  while (!rest.empty()) {
    const size_t open = rest.find(kMarkerOpen);
    const size_t close = open == std::string_view::npos ? open : rest.find(kMarkerClose, open + kMarkerOpen.size());
    if (close == std::string_view::npos) {
      template_run += rest;
      break;
    }
    const std::string_view digits = rest.substr(open + kMarkerOpen.size(), close - open - kMarkerOpen.size());
    size_t n = p.texts().size();
    if (!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string_view::npos)
      n = std::stoul(std::string(digits));
    if (n >= p.texts().size()) {  // not one of ours: template text
      template_run += rest.substr(0, open + kMarkerOpen.size());
      rest.remove_prefix(open + kMarkerOpen.size());
      continue;
    }
    template_run += rest.substr(0, open);
    tok.encode_into(template_run, Specials::Allow, ids);
    template_run.clear();
    tok.encode_into(p.texts()[n], Specials::AsText, ids);
    rest.remove_prefix(close + kMarkerClose.size());
  }
  tok.encode_into(template_run, Specials::Allow, ids);
  return ids;
}

}  // namespace baimo
