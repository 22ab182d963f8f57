#!/usr/bin/env python3
"""baimo's Jinja interpreter against jinja2 (Debian's python3-jinja2), character for character.

jinja2 runs with the settings of Hugging Face transformers' apply_chat_template: an
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension,
tojson = json.dumps(ensure_ascii=False, indent, separators, sort_keys), raise_exception and
strftime_now, and the context messages, tools, documents=None, add_generation_prompt, the special
tokens of the tokenizer_config.json, and extra variables. baimo runs `baimo template render`.

1. The published chat templates ($BAIMO_SHARED/vectors/templates/*.jinja, the chat_template of
   qwen2_5/ and llama3/ tokenizer_config.json) on conversations with a system prompt, several
   turns, Chinese text, tools (OpenAI function definitions), assistant tool calls (arguments as an
   object and as a JSON string), tool results, with and without a generation prompt, and without a
   system prompt. Where jinja2 raises (raise_exception, iterating None), baimo must fail too.
2. Small templates, one language feature each (tests/reference/jinja_cases.json), on one context.
No PyTorch. Usage: /usr/bin/python3 test_jinja_vs_jinja2.py path/to/baimo"""
import datetime
import json
import os
import subprocess
import sys
import tempfile

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("BAIMO_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")
VEC = os.path.join(SHARED, "vectors")


def hf_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def special_tokens(cfg):
    out = {}
    for name in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        v = cfg.get(name)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            out[name] = v
    if isinstance(cfg.get("additional_special_tokens"), list):
        out["additional_special_tokens"] = [t["content"] if isinstance(t, dict) else t for t in cfg["additional_special_tokens"]]
    return out


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. 北京 or Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
            "days": {"type": "integer", "description": "  Days of forecast  "}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the web.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"type": "number", "description": "Max results"},
            "safe": {"type": "boolean", "description": "Safe search"},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"},
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Extra"},
            "mode": {"type": ["string", "integer"], "description": "Mode"}}}}},
]

SYS = {"role": "system", "content": "You are a helpful assistant. 你是一个乐于助人的助手。"}
CALL_DICT = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "北京", "unit": "celsius"}}}]}
CALL_STR = {"role": "assistant", "content": "", "tool_calls": [
    {"id": "call_2", "type": "function", "function": {"name": "search", "arguments": "{\"query\": \"jinja \\\"templates\\\"\", \"limit\": 3}"}}]}
CALL_TWO = {"role": "assistant", "content": "Let me check both.", "tool_calls": [
    {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
    {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "上海", "days": 2}}}]}

CONVERSATIONS = {
    "turns": ([SYS, {"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"},
               {"role": "user", "content": "  Tell me a joke.\n"}], None),
    "chinese_no_system": ([{"role": "user", "content": "你好，请介绍一下北京。"}, {"role": "assistant", "content": "北京是中国的首都。"},
                           {"role": "user", "content": "天气怎么样？"}], None),
    "special_text": ([{"role": "system", "content": "Quote \"this\" and 'that', back\\slash, tab\tand emoji 😀"},
                      {"role": "user", "content": "line1\nline2\r\n<b>&amp;</b>"}], None),
    "tools_question": ([SYS, {"role": "user", "content": "What's the weather in 北京?"}], TOOLS),
    "tools_no_system": ([{"role": "user", "content": "Search for jinja templates"}], TOOLS),
    "tool_call_dict": ([SYS, {"role": "user", "content": "北京天气?"}, CALL_DICT,
                        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21, \"sky\": \"晴\"}"},
                        {"role": "assistant", "content": "北京现在21度，晴。"}], TOOLS),
    "tool_call_string": ([{"role": "user", "content": "find jinja"}, CALL_STR,
                          {"role": "tool", "tool_call_id": "call_2", "content": "3 results"}], TOOLS),
    "parallel_calls": ([SYS, {"role": "user", "content": "Weather in Paris and 上海?"}, CALL_TWO,
                        {"role": "tool", "tool_call_id": "a", "content": "18C"},
                        {"role": "tool", "tool_call_id": "b", "content": "25C"}], TOOLS),
    "only_system": ([SYS], None),
}

EXTRA_CASES = [  # (template name substring, conversation, extra variables)
    ("Llama-3.1", "tools_question", {"tools_in_user_message": False, "date_string": "07 Dec 2026"}),
    ("Llama-3.1", "turns", {"builtin_tools": ["brave_search", "code_interpreter"]}),
]


def templates():
    out = []
    tdir = os.path.join(VEC, "templates")
    for name in sorted(os.listdir(tdir)):
        if name.endswith(".jinja"):
            tokens = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"} if "Qwen" not in name else {}
            out.append((name, os.path.join(tdir, name), tokens))
    for sub in ("qwen2_5", "llama3"):
        cfg_path = os.path.join(VEC, sub, "tokenizer_config.json")
        if os.path.exists(cfg_path) and json.load(open(cfg_path, encoding="utf-8")).get("chat_template"):
            out.append((sub + "/tokenizer_config.json", os.path.join(VEC, sub), None))
    return out


def jinja2_render(env, text, ctx):
    try:
        return env.from_string(text).render(**ctx), None
    except Exception as e:  # the template refuses this conversation: baimo must refuse it too
        return None, f"{type(e).__name__}: {e}"


def main():
    baimo = sys.argv[1]
    env = hf_environment()
    failures, checked, refused = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, obj):
            p = os.path.join(tmp, name)
            with open(p, "w", encoding="utf-8") as f:
                json.dump(obj, f, ensure_ascii=False)
            return p

        def compare(label, template_arg, text, tokens, messages, tools, agp, extra):
            nonlocal checked, refused
            ctx = {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": agp}
            ctx.update(tokens)
            ctx.update(extra)
            want, err = jinja2_render(env, text, ctx)
            cmd = [baimo, "template", "render", "--template", template_arg, "--messages", write("m.json", messages)]
            if tools is not None:
                cmd += ["--tools", write("t.json", tools)]
            if agp:
                cmd.append("--add-generation-prompt")
            if extra:
                cmd += ["--extra", write("e.json", extra)]
            for k in ("bos_token", "eos_token"):
                if template_arg.endswith(".jinja") and k in tokens:
                    cmd += ["--" + k.replace("_", "-"), tokens[k]]
            r = subprocess.run(cmd, capture_output=True)
            got = r.stdout.decode("utf-8", "replace")
            checked += 1
            if err is not None:
                refused += 1
                if r.returncode == 0:
                    failures.append(f"{label}: jinja2 raised ({err}) but baimo rendered:\n{got!r}")
                return
            if r.returncode != 0:
                failures.append(f"{label}: baimo failed: {r.stderr.decode(errors='replace').strip()}")
            elif got != want:
                i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
                failures.append(f"{label}: differs at char {i}:\n  jinja2: {want[max(0, i - 60):i + 60]!r}\n"
                                f"  baimo:  {got[max(0, i - 60):i + 60]!r}")

        for name, path, tokens in templates():
            if tokens is None:
                cfg = json.load(open(os.path.join(path, "tokenizer_config.json"), encoding="utf-8"))
                text, tokens = cfg["chat_template"], special_tokens(cfg)
            else:
                text = open(path, encoding="utf-8").read()
            for conv, (messages, tools) in CONVERSATIONS.items():
                for agp in (False, True):
                    compare(f"{name} / {conv} / add_generation_prompt={agp}", path, text, tokens, messages, tools, agp, {})
            for needle, conv, extra in EXTRA_CASES:
                if needle in name:
                    messages, tools = CONVERSATIONS[conv]
                    compare(f"{name} / {conv} / extra={extra}", path, text, tokens, messages, tools, True, extra)

        cases = json.load(open(os.path.join(HERE, "jinja_cases.json"), encoding="utf-8"))
        for i, case in enumerate(cases["templates"]):
            tpath = os.path.join(tmp, "case.jinja")
            with open(tpath, "w", encoding="utf-8") as f:
                f.write(case)
            compare(f"case {i} {case!r}", tpath, case, {}, [], None, False, cases["context"])

    print(f"{checked} renders compared ({refused} refused by both), {len(failures)} failures")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
