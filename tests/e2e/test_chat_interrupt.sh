#!/usr/bin/env bash
# baimo chat in a real terminal (a pty driven by /usr/bin/python3): ask for a long answer, press
# Ctrl-C (the terminal turns it into SIGINT) while it streams; the answer must stop early
# ("[stopped]", far shorter than a full answer), the chat must go on and answer the next message
# in full, and /exit must end it with status 0. The model is random (any text will do) with a
# 4096-token context, so that a full answer takes long enough to be interrupted.
# Usage: bash test_chat_interrupt.sh path/to/baimo
set -euo pipefail
export LC_ALL=C
BAIMO=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BAIMO" demo --seconds 1 --input "$ROOT/docs/guide.md" --vocab-size 512 --sample-tokens 1 --out "$T/run" \
  >"$T/demo.txt" 2>&1 || { cat "$T/demo.txt"; fail "demo"; }
/usr/bin/python3 - "$ROOT/configs/tiny.json" "$T/long.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
          "num_key_value_heads": 1, "max_position_embeddings": 4096})
json.dump(c, open(sys.argv[2], "w"))
PY
"$BAIMO" init --config "$T/long.json" --tokenizer "$T/run/model/tokenizer.json" --out "$T/model" --seed 3 >/dev/null
# Banning the special tokens makes every answer run to --max-tokens.
no_specials=$(/usr/bin/python3 -c 'import json, sys
print(" ".join("%d=-100" % t["id"] for t in json.load(open(sys.argv[1]))["added_tokens"]))' "$T/model/tokenizer.json")

/usr/bin/python3 - "$BAIMO" "$T/model" "$no_specials" <<'PY'
import os, pty, re, select, sys, time

baimo, model, bias = sys.argv[1], sys.argv[2], sys.argv[3].split()
MAX_TOKENS = 3000
pid, fd = pty.fork()
if pid == 0:
    os.execv(baimo, [baimo, "chat", "--model", model, "--max-tokens", str(MAX_TOKENS), "--seed", "1",
                     "--logit-bias", *bias])

out = b""
def fail(msg):
    sys.stdout.write("FAIL: %s\n--- terminal (last 2000 bytes) ---\n%s\n" % (msg, out[-2000:].decode(errors="replace")))
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    sys.exit(1)

def read_until(pred, timeout, what):
    """Reads the terminal until pred(out) holds; fails after `timeout` seconds."""
    global out
    deadline = time.time() + timeout
    while not pred(out):
        left = deadline - time.time()
        if left <= 0:
            fail("timed out after %.0f s waiting for %s" % (timeout, what))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                fail("the chat ended while waiting for %s" % what)
            if not chunk:
                fail("end of terminal output while waiting for %s" % what)
            out += chunk

def answer_after(marker_at, end_marker):
    """The answer text between the echoed input line that starts at marker_at and end_marker."""
    start = out.index(b"\n", marker_at) + 1
    return out[start:out.index(end_marker, start)].replace(b"\r", b"")

read_until(lambda o: o.endswith(b"> "), 30, "the first prompt")
# 1. A long answer, interrupted once it streams.
asked = len(out)
os.write(fd, b"Tell me a very long story\r")
read_until(lambda o: len(o) > asked + len("Tell me a very long story\r\n") + 40, 30, "the answer to start")
t0 = time.time()
os.write(fd, b"\x03")  # Ctrl-C: SIGINT from the terminal
read_until(lambda o: b"[stopped]" in o[asked:], 5, "[stopped] after Ctrl-C")
stop_s = time.time() - t0
read_until(lambda o: o.endswith(b"> "), 5, "the prompt after the stopped answer")
first = answer_after(asked, b"[stopped]")
if b"answer cut" in out[asked:]:
    fail("the first answer ran to the token limit")

# 2. The chat goes on: the next message gets a whole answer (to the token limit).
asked2 = len(out)
os.write(fd, b"Go on\r")
read_until(lambda o: b"[answer cut at the token limit]" in o[asked2:], 120, "the whole second answer")
second = answer_after(asked2, b"[answer cut at the token limit]")
read_until(lambda o: o.endswith(b"> "), 5, "the prompt after the second answer")
if b"[stopped]" in out[asked2:]:
    fail("the second answer was stopped")
print("interrupted answer: %d bytes (stopped %.2f s after Ctrl-C); whole answer: %d bytes" %
      (len(first), stop_s, len(second)))
if not (0 < len(first) and 4 * len(first) < len(second)):
    fail("the interrupted answer (%d bytes) is not far shorter than a whole one (%d bytes)" % (len(first), len(second)))

# 3. /exit ends the chat with status 0.
os.write(fd, b"/exit\r")
deadline = time.time() + 10
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > deadline:
        fail("the chat did not exit after /exit")
    try:  # keep draining the terminal so the child never blocks on output
        if select.select([fd], [], [], 0.1)[0]:
            out += os.read(fd, 65536)
    except OSError:
        time.sleep(0.05)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    fail("chat exit status %r after /exit" % status)
PY
echo "chat interrupt e2e ok"
