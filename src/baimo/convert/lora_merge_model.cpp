#include "baimo/convert/lora_merge_model.h"

#include "baimo/convert/gguf_model_io.h"
#include "baimo/convert/gguf_model_meta.h"
#include "baimo/convert/peft_adapter.h"
#include "baimo/io/gguf_reader.h"
#include "baimo/model/lora_merge.h"
#include "baimo/model/model_dir.h"
#include "baimo/model/open_model.h"
#include "baimo/model/transformer.h"
#include "baimo/util/error.h"
#include "baimo/util/staged_dir.h"

namespace baimo {

void merge_lora_model(const std::string& base, const std::string& adapter_dir, const std::string& out_dir) {
  const ModelPath mp = open_model(base);
  if (!mp.is_dir() && !mp.is_gguf()) fail("{}: not a model directory (config.json + model.safetensors) or a GGUF file", base);
  const ModelConfig cfg = mp.is_dir() ? load_model_dir_config(base) : gguf_read_config(GgufReader(base));
  const LoraAdapter adapter = load_peft_adapter(adapter_dir, cfg);
  StagedDir staged(out_dir);
  if (mp.is_dir()) {
    Transformer model = Transformer::load(base);
    merge_lora(model, adapter);
    ModelDirSave opts;
    opts.tokenizer_json = model_dir_tokenizer(base);
    opts.generation_config_json = model_dir_generation_config(base);
    model.save(staged.path(), opts);
  } else {
    import_gguf(base, staged.path());  // f32 model directory with the GGUF's tokenizer
    Transformer model = Transformer::load(staged.path());
    merge_lora(model, adapter);
    model.save(staged.path());  // keeps the imported tokenizer files
  }
  staged.commit();
}

}  // namespace baimo
