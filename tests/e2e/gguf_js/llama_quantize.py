"""Quantizes a GGUF with llama.cpp's own llama_model_quantize (the C API of node-llama-cpp's prebuilt
linux-x64 libllama, called through ctypes). Usage: llama_quantize.py IN.gguf OUT.gguf FTYPE [pure]
FTYPE is llama_ftype (2 = MOSTLY_Q4_0, 7 = MOSTLY_Q8_0, 1 = MOSTLY_F16); "pure" quantizes every
matrix to that type (otherwise llama.cpp picks e.g. Q6_K for output.weight where it fits).
The struct layout is llama.h's llama_model_quantize_params of the llama.cpp release those
binaries were built from (node-llama-cpp 3.22.1 -> llama.cpp tag in llama/llama.cpp.info.json)."""
import ctypes
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
bins = glob.glob(os.path.join(here, "node_modules/@node-llama-cpp/linux-x64/bins/*/"))
if not bins:
    sys.exit("llama_quantize.py: node_modules/@node-llama-cpp/linux-x64 is not installed")
d = bins[0]
for name in sorted(os.listdir(d)):
    if name.startswith("libggml-base") or name.startswith("libggml.v"):
        ctypes.CDLL(os.path.join(d, name), mode=ctypes.RTLD_GLOBAL)
lib = ctypes.CDLL(glob.glob(os.path.join(d, "libllama.v*.so"))[0])


class Params(ctypes.Structure):
    _fields_ = [("nthread", ctypes.c_int32), ("ftype", ctypes.c_int), ("output_tensor_type", ctypes.c_int),
                ("token_embedding_type", ctypes.c_int), ("allow_requantize", ctypes.c_bool),
                ("quantize_output_tensor", ctypes.c_bool), ("only_copy", ctypes.c_bool), ("pure", ctypes.c_bool),
                ("keep_split", ctypes.c_bool), ("dry_run", ctypes.c_bool), ("imatrix", ctypes.c_void_p),
                ("kv_overrides", ctypes.c_void_p), ("tt_overrides", ctypes.c_void_p),
                ("prune_layers", ctypes.c_void_p), ("max_buf_size", ctypes.c_size_t)]


lib.llama_model_quantize_default_params.restype = Params
lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Params)]
lib.llama_model_quantize.restype = ctypes.c_uint32
lib.llama_backend_init()
p = lib.llama_model_quantize_default_params()
p.nthread = 2
p.ftype = int(sys.argv[3])
p.pure = len(sys.argv) > 4 and sys.argv[4] == "pure"
rc = lib.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(p))
sys.exit(0 if rc == 0 else f"llama_model_quantize failed ({rc})")
