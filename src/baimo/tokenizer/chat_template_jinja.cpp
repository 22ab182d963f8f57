#include "baimo/tokenizer/chat_template_jinja.h"

namespace baimo {

std::string chat_template_jinja(ChatTemplateKind kind) {
  switch (kind) {
    case ChatTemplateKind::ChatML:
      return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
             "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
             "{% endif %}";
    case ChatTemplateKind::Llama3:
      return "{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
             "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
             "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    case ChatTemplateKind::Plain: return "";
  }
  return "";
}

}  // namespace baimo
