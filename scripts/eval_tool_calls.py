#!/usr/bin/env python3
"""Function-calling accuracy of a model behind `baimo serve` (or any OpenAI-compatible server).

Reads held-out ShareGPT tool-call data (glaive_toolcall style: human / gpt / function_call /
observation turns and a `tools` list) and replays each conversation: at every assistant turn it sends
the conversation so far with the record's tools (tool_choice auto, greedy; at most --max-tokens, or
what room the context has left) and compares the answer with
the reference turn. Reference calls become assistant `tool_calls`, observations `role: tool` messages,
exactly as a client would send them.

Prints, over the assistant turns whose reference is a call: the share answered with a call, with the
right function, with arguments equal to the reference (as JSON values); over the turns whose reference
is text: the share answered without a call. Standard library only.

  baimo serve --model runs/tools/final --model-name m --port 8080 &
  python3 scripts/eval_tool_calls.py --base http://127.0.0.1:8080 --model m --data held_out.json
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def post(base, body, timeout):
    req = urllib.request.Request(base.rstrip("/") + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r), None
    except urllib.error.HTTPError as e:
        return None, f"{e.code}: {e.read().decode(errors='replace')[:200]}"


def tools_of(rec):
    tools = rec.get("tools") or []
    if isinstance(tools, str):
        tools = json.loads(tools) if tools.strip() else []
    return [t if t.get("type") == "function" and "function" in t else {"type": "function", "function": t} for t in tools]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="server address, e.g. http://127.0.0.1:8080")
    ap.add_argument("--model", required=True, help="model id the server serves")
    ap.add_argument("--data", required=True, help="ShareGPT tool-call JSON (a list of records)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--samples", help="write every request's answer and reference here (JSONL)")
    ap.add_argument("--required-on-calls", action="store_true",
                    help="send tool_choice required at the turns whose reference is a call (the server then "
                         "constrains the answer to a call of one of the tools with schema-valid arguments): "
                         "measures which call the model makes when one is due")
    a = ap.parse_args()

    records = json.load(open(a.data, encoding="utf-8"))
    n = {"call": 0, "called": 0, "name": 0, "args": 0, "text": 0, "no_call": 0, "errors": 0}
    samples = open(a.samples, "w", encoding="utf-8") if a.samples else None
    for ri, rec in enumerate(records):
        tools = tools_of(rec)
        messages = []
        if rec.get("system"):
            messages.append({"role": "system", "content": rec["system"]})
        last_ids = []
        for ti, turn in enumerate(rec["conversations"]):
            who, value = turn["from"], turn["value"]
            if who in ("human", "user"):
                messages.append({"role": "user", "content": value})
                continue
            if who in ("observation", "tool"):
                messages.append({"role": "tool", "tool_call_id": last_ids[0] if last_ids else "call_0", "content": value})
                continue
            ref_call = json.loads(value) if who == "function_call" else None
            body = {"model": a.model, "messages": messages, "temperature": 0, "max_tokens": a.max_tokens}
            if tools:
                body["tools"] = tools
                if a.required_on_calls and ref_call is not None:
                    body["tool_choice"] = "required"
            answer, err = post(a.base, body, a.timeout)
            if err and "context_length_exceeded" in err:  # near the end of the context: what room is left
                del body["max_tokens"]
                answer, err = post(a.base, body, a.timeout)
            if err:
                n["errors"] += 1
                print(f"record {ri + 1} turn {ti + 1}: {err}", file=sys.stderr)
            else:
                msg = answer["choices"][0]["message"]
                calls = msg.get("tool_calls") or []
                if ref_call is not None:
                    n["call"] += 1
                    if calls:
                        n["called"] += 1
                        fn = calls[0]["function"]
                        if fn["name"] == ref_call["name"]:
                            n["name"] += 1
                            ref_args = ref_call.get("arguments", {})
                            if isinstance(ref_args, str):
                                ref_args = json.loads(ref_args)
                            if json.loads(fn["arguments"]) == ref_args:
                                n["args"] += 1
                else:
                    n["text"] += 1
                    n["no_call"] += not calls
                if samples:
                    samples.write(json.dumps({"record": ri + 1, "turn": ti + 1, "reference": value, "answer": msg},
                                             ensure_ascii=False) + "\n")
            # The reference turn goes into the conversation, as the client would have sent it.
            if ref_call is not None:
                args = ref_call.get("arguments", {})
                last_ids = [f"call_{ri}_{ti}"]
                messages.append({"role": "assistant", "content": None, "tool_calls": [{
                    "id": last_ids[0], "type": "function", "function": {
                        "name": ref_call["name"], "arguments": args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)}}]})
            else:
                messages.append({"role": "assistant", "content": value})

    def share(k, of):
        return f"{n[k] / n[of]:.3f} ({n[k]}/{n[of]})" if n[of] else "n/a"
    print(json.dumps({k: v for k, v in n.items()}))
    print(f"call turns: {n['call']}  answered with a call: {share('called', 'call')}  right function: "
          f"{share('name', 'call')}  exact arguments: {share('args', 'call')}")
    print(f"text turns: {n['text']}  answered without a call: {share('no_call', 'text')}  request errors: {n['errors']}")


if __name__ == "__main__":
    main()
