#!/usr/bin/env python3
"""Renders the demo pair's chat_template the way transformers' apply_chat_template does
(jinja2 sandbox, trim_blocks, lstrip_blocks) for a few conversations, including contents with
surrounding whitespace that the template trims. Output: Tests/Fixtures/refs/chat_demo.json."""
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment

root = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/demo-pair/base"
cfg = json.load(open(f"{root}/tokenizer_config.json"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
template = env.from_string(cfg["chat_template"])
conversations = [
    [{"role": "user", "content": "x = 1"}],
    [{"role": "user", "content": "  padded question \n\n"}],
    [{"role": "system", "content": "\tBe brief.\n"}, {"role": "user", "content": "def f():"},
     {"role": "assistant", "content": " return 1 "}, {"role": "user", "content": "again\u3000"}],
]
cases = []
for messages in conversations:
    for add in (True, False):
        text = template.render(messages=messages, add_generation_prompt=add, bos_token=cfg.get("bos_token", ""))
        cases.append({"messages": messages, "add_generation_prompt": add, "text": text})
json.dump({"source": f"{root}/tokenizer_config.json", "cases": cases}, open("Tests/Fixtures/refs/chat_demo.json", "w"), indent=1, ensure_ascii=False)
