#include "baimo/convert/gguf_lora.h"

#include <cmath>
#include <fmt/ranges.h>
#include <cstring>
#include <deque>
#include <vector>

#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/io/gguf_writer.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/quant/row_convert.h"
#include "baimo/util/error.h"

namespace baimo {

void export_gguf_lora(const std::string& base, const std::string& adapter_dir, const std::string& out, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16)
    fail("GGUF LoRA export: type {} is not supported (f32, f16)", dtype_info(dtype).name);
  const ModelPath mp = open_model(base);
  if (!mp.is_dir() && !mp.is_gguf()) fail("{}: not a model directory (config.json + model.safetensors) or a GGUF file", base);
  const ModelConfig cfg = mp.is_dir() ? load_model_dir_config(base) : gguf_read_config(GgufReader(base));
  const LoraAdapter adapter = load_peft_adapter(adapter_dir, cfg);
  const LoraConfig& lc = adapter.config;
  // llama.cpp's LoRA adapters add B A products to matrices; a replaced row of token_embd (and of the
  // tied output, which has no tensor of its own in a tied GGUF) has no place there.
  if (adapter.token_rows.defined())
    fail("{}: the adapter trains token rows (trainable_token_indices {}), which a llama.cpp GGUF LoRA adapter "
         "cannot hold; merge it instead (baimo lora merge --model {} --adapter {} --out DIR) and convert the merged "
         "model to GGUF",
         adapter_dir, fmt::format("[{}]", fmt::join(lc.trainable_tokens, ", ")), base, adapter_dir);

  GgufWriter w;
  w.set_string("general.architecture", gguf_arch(cfg));
  w.set_string("general.type", "adapter");
  w.set_string("adapter.type", "lora");
  const float alpha = lc.rslora ? lc.alpha * std::sqrt(static_cast<float>(lc.r)) : lc.alpha;
  w.set_f32("adapter.lora.alpha", alpha);

  std::deque<std::vector<uint8_t>> buffers;  // stable addresses until write()
  auto add = [&](const std::string& name, int64_t rows, int64_t cols, const float* src,
                 const std::vector<int64_t>* row_map) {
    const size_t row_bytes = dtype_bytes(dtype, static_cast<size_t>(cols));
    std::vector<uint8_t>& buf = buffers.emplace_back(row_bytes * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t from = row_map ? (*row_map)[static_cast<size_t>(r)] : r;
      quant::quantize_row(dtype, src + from * cols, buf.data() + static_cast<size_t>(r) * row_bytes,
                          static_cast<size_t>(cols));
    }
    w.add_tensor(name, dtype, {rows, cols}, std::span<const uint8_t>(buf.data(), buf.size()));
  };
  for (const LoraAdapter::Pair& p : adapter.pairs) {
    const std::string name = gguf_tensor_name(p.spec.base_name);
    add(name + ".lora_a", lc.r, p.spec.in, p.a.value().data<float>(), nullptr);
    int64_t heads = 0;
    std::vector<int64_t> row_map;
    if (gguf_rows_permuted(cfg, p.spec.base_name, &heads)) {
      row_map.resize(static_cast<size_t>(p.spec.out));
      for (int64_t g = 0; g < p.spec.out; ++g) row_map[static_cast<size_t>(g)] = hf_row_from_gguf(g, cfg.head_dim);
    }
    add(name + ".lora_b", p.spec.out, lc.r, p.b.value().data<float>(), row_map.empty() ? nullptr : &row_map);
  }
  w.write(out);
}

}  // namespace baimo
