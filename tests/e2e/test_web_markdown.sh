#!/usr/bin/env bash
# The chat page's Markdown renderer under node (serve_js/markdown_test.mjs): no markup inside link
# hrefs, emphasis around links, HTML escaped. Needs node only. Usage: bash test_web_markdown.sh [baimo]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
node "$ROOT/tests/e2e/serve_js/markdown_test.mjs" "$ROOT/web/markdown.js"
echo "web markdown ok"
