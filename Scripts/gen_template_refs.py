#!/usr/bin/env python3
"""Reference renderings for hasskit's Jinja interpreter, from transformers' own environment
(pip install transformers tokenizers sentencepiece; jinja2 comes with it).

1. Tests/Fixtures/refs/jinja_features.json: small templates, one Jinja feature each, rendered by
   the environment `apply_chat_template` compiles templates in (trim_blocks, lstrip_blocks,
   raise_exception, namespace, tojson), or the error they raise.
2. Tests/Fixtures/refs/chat_templates.json: the real chat templates of the published bases'
   families (../shared/fixtures/real-templates) on conversations (system, multi-turn, empty system,
   assistant last, <think> in history, unicode, whitespace to trim, roles out of order), with and
   without the generation prompt; the text transformers renders and, where the family's real
   tokenizer is in ../shared/fixtures/real-tokenizers, its ids (add_special_tokens=False, as
   apply_chat_template(tokenize=True) encodes).

Run from the package root: python3 Scripts/gen_template_refs.py
"""
import json
import os
import re

from transformers.utils.chat_template_utils import _compile_jinja_template, render_jinja_template

SHARED = os.environ.get("HASSKIT_SHARED", "../shared/fixtures")
OUT = "Tests/Fixtures/refs"


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


FEATURES = [
    ("text_only", "Hello, world!\n", {}),
    ("trailing_newline_dropped", "a\n\n", {}),
    ("variable", "{{ name }}!", {"name": "Ada"}),
    ("undefined_prints_nothing", "[{{ missing }}]", {}),
    ("none_true_false", "{{ none }} {{ true }} {{ False }} {{ x }}", {"x": None}),
    ("numbers", "{{ 1 + 2 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 3.0 }}", {}),
    ("string_concat", "{{ 'a' + 'b' ~ 1 ~ none }}", {}),
    ("string_escapes", "{{ 'tab\\there\\nnew \"q\" \\'s\\' \\u00e9' }}", {}),
    ("list_and_dict_repr", "{{ [1, 'two', none, true, 2.5] }} {{ {'a': 1, 'b': [2]} }} {{ ('x', 'y') }}", {}),
    ("repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'a\\nb'] }}", {}),
    ("if_elif_else", "{% for n in [1, 2, 3, 4] %}{% if n == 1 %}one{% elif n is even %}even{% else %}odd{% endif %} {% endfor %}", {}),
    ("for_loop_vars", "{% for x in items %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {"items": ["a", "b", "c"]}),
    ("for_prev_next", "{% for x in items %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}|{% endfor %}", {"items": ["a", "b", "c"]}),
    ("for_else_empty", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is odd %}{{ x }}{% endfor %}", {}),
    ("for_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_dict_keys", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "y": 2}}),
    ("loop_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("set_scoping", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set x = 3 %}{% endif %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(count=0, names='') %}{% for m in ['a', 'b'] %}{% set ns.count = ns.count + 1 %}{% set ns.names = ns.names + m %}{% endfor %}{{ ns.count }} {{ ns.names }}", {}),
    ("set_block", "{% set greeting %}Hi {{ name }}{% endset %}[{{ greeting }}]", {"name": "Bo"}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("slicing", "{{ s[1:] }} {{ s[:-1] }} {{ s[::-1] }} {{ s[1:4:2] }} {{ l[1:] }} {{ l[-2:] }} {{ l[5:] }}", {"s": "héllo", "l": [1, 2, 3, 4]}),
    ("subscript_and_attribute", "{{ m['role'] }} {{ m.role }} {{ l[0] }} {{ l[-1] }} {{ l.0 }} [{{ m['nope'] }}] [{{ l[9] }}]", {"m": {"role": "user"}, "l": [1, 2]}),
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is not none }} {{ x is string }} {{ 3 is number }} {{ d is mapping }} {{ l is iterable }} {{ 4 is divisibleby 2 }} {{ 3 is odd }} {{ x is sameas none }}", {"x": "s", "n": None, "d": {}, "l": []}),
    ("in_and_not_in", "{{ 'a' in 'cat' }} {{ 'z' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'q' in d }}", {"d": {"k": 1}}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 'a' == 'a' }} {{ x == false }} {{ [1] == [1] }} {{ 1 != 2 }}", {"x": False}),
    ("and_or_not", "{{ 0 or 'fallback' }} {{ 1 and 'second' }} {{ not none }} {{ not 'x' and true }} {{ none or none }}", {}),
    ("ternary", "{{ 'yes' if x else 'no' }} {{ 'a' if false }}|", {"x": 1}),
    ("precedence", "{{ 'x' ~ (1 + 2) }} {{ -2 ** 2 }} {{ 2 * 3 ** 2 }} {{ not 1 == 2 }} {{ 'ab' | upper + 'c' }} {{ 1 + 2 * 3 }}", {}),
    ("filters_strings", "{{ '  hi  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Hello' | upper }}|{{ 'Hello' | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'abc' | length }}|{{ 'one two  three' | wordcount }}", {}),
    ("filters_lists", "{{ l | length }} {{ l | first }} {{ l | last }} {{ l | join(', ') }} {{ l | reverse | list }} {{ l | sort }} {{ [3, 1, 3] | unique | list }} {{ l | join }}", {"l": [3, 1, 2]}),
    ("filter_default", "{{ missing | default('d') }} {{ '' | default('e') }} {{ '' | default('f', true) }} {{ none | default('g') }}", {}),
    ("filter_tojson", "{{ d | tojson }} {{ d | tojson(indent=2) }} {{ 'é\"\\n' | tojson }} {{ [1.5, none, true] | tojson }}", {"d": {"b": [1, {"c": "ü"}], "a": None}}),
    ("filter_map_select", "{{ ms | map(attribute='role') | join(',') }} {{ ms | selectattr('role', 'equalto', 'user') | list | length }} {{ ms | rejectattr('role', 'equalto', 'user') | map(attribute='content') | first }} {{ [0, 1, 2] | select | list }}", {"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
    ("filter_items_dictsort", "{{ d | items | list }} {{ d | dictsort }}", {"d": {"b": 1, "A": 2}}),
    ("filter_int_float_string", "{{ '42' | int + 1 }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 5 | string + '!' }} {{ 'x' | int }}", {}),
    ("filter_indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", {}),
    ("string_methods", "{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a-b-c'.split('-', 1) }}|{{ 'a-b-c'.rsplit('-', 1) }}|{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'a.b'.replace('.', '/') }}|{{ 'abcabc'.find('c') }}|{{ 'abcabc'.count('b') }}|{{ '-'.join(['a', 'b']) }}", {}),
    ("split_last", "{{ 'reasoning</think>answer'.split('</think>')[-1] }}|{{ 'no tag'.split('</think>')[-1] }}|{{ 'a</think>b</think>c'.split('</think>')[0] }}", {}),
    ("dict_methods", "{{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }} {{ d.keys() | list }} {{ d.values() | list }}", {"d": {"a": 1, "b": 2}}),
    ("whitespace_minus", "a  {{- ' b ' -}}  c\n  {%- if true -%}\n  d  \n{%- endif -%}  e", {}),
    ("trim_blocks", "{% if true %}\nline\n{% endif %}\nafter", {}),
    ("lstrip_blocks", "start\n    {% if true %}\n    body\n    {% endif %}\nend", {}),
    ("lstrip_plus", "x\n    {%+ if true %}y{% endif %}", {}),
    ("lstrip_not_for_output", "a\n    {{ 'b' }}\n", {}),
    ("comments", "a{# comment #}b\n{# line #}\nc {#- trimmed -#} d", {}),
    ("comment_lstrip", "x\n  {# c #}\ny", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C') }}", {}),
    ("raise_exception", "{% if x %}{{ raise_exception('x must be false, got ' ~ x) }}{% endif %}", {"x": 1}),
    ("unicode_strings", "{{ s | length }} {{ s[0] }} {{ s | upper }} {{ s[1:3] }}", {"s": "ünï👋日本"}),
    ("crlf_in_template", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    ("adjacent_string_literals", "{{ 'a' 'b' }}", {}),
    ("nested_loops_scopes", "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ a }}{{ b }}{{ loop.index }}.{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("is_defined_precedence", "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ add_generation_prompt }}", {}),
    ("string_multiplication", "{{ '-' * 3 }}{{ [0] * 2 }}", {}),
    ("error_undefined_attribute", "{{ missing.attr }}", {}),
    ("error_type", "{{ 'a' + 1 }}", {}),
    ("error_concat_binds_looser_than_plus", "{{ 'x' ~ 1 + 2 }}", {}),
    ("error_syntax", "{% if %}", {}),
    ("error_unclosed", "{% for x in y %}no end", {}),
]


def features():
    cases = []
    for name, template, context in FEATURES:
        case = {"name": name, "template": template, "context": context}
        try:
            case["text"] = _compile_jinja_template(template).render(**context)
        except Exception as e:  # noqa: BLE001 - the error class and message are the reference
            case["error"] = type(e).__name__
            case["message"] = str(e)
        cases.append(case)
    dump(f"{OUT}/jinja_features.json", {"environment": "transformers _compile_jinja_template", "cases": cases})


CONVERSATIONS = [
    ("user_only", [{"role": "user", "content": "Hello!"}]),
    ("system_user", [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Greet me."}]),
    ("multi_turn", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
                    {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}]),
    ("empty_system", [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]),
    ("assistant_last", [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]),
    ("think_in_history", [{"role": "user", "content": "Why is the sky blue?"},
                          {"role": "assistant", "content": "<think>\nRayleigh scattering...\n</think>\n\nBecause of scattering."},
                          {"role": "user", "content": "Shorter?"}]),
    ("unicode", [{"role": "user", "content": "Grüße 👋 日本語 مرحبا — “quotes” ½"}]),
    ("whitespace_to_trim", [{"role": "system", "content": "  sys with spaces \n"}, {"role": "user", "content": "\n  padded question  \n"}]),
    ("two_systems", [{"role": "system", "content": "First."}, {"role": "system", "content": "Second."}, {"role": "user", "content": "Go"}]),
    ("users_in_a_row", [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]),
]

TOKENIZERS = {
    "deepseek-r1": ("json", "deepseek_v3"),
    "meta-llama-3-8b-instruct": ("json", "llama3"),
    "qwen2-7b-instruct": ("json", "qwen2"),
    "smollm2-135m-instruct": ("json", "smollm2"),
    "llama-2-7b-chat-hf": ("spm", "llama2"),
}


def special(config, key):
    v = config.get(key)
    return v["content"] if isinstance(v, dict) else v


def chat_templates():
    from tokenizers import Tokenizer
    import sentencepiece as spm

    out = {}
    for folder in sorted(os.listdir(f"{SHARED}/real-templates")):
        path = f"{SHARED}/real-templates/{folder}"
        if not os.path.isdir(path):
            continue
        config = json.load(open(f"{path}/tokenizer_config.json"))
        template = open(f"{path}/chat_template.jinja").read()
        assert template == config["chat_template"], folder
        kwargs = {k: special(config, k) for k in ("bos_token", "eos_token", "unk_token", "pad_token") if special(config, k) is not None}
        encode = None
        if folder in TOKENIZERS:
            kind, name = TOKENIZERS[folder]
            if kind == "json":
                tok = Tokenizer.from_file(f"{SHARED}/real-tokenizers/{name}/tokenizer.json")
                encode = lambda text, tok=tok: tok.encode(text, add_special_tokens=False).ids
            else:
                sp = spm.SentencePieceProcessor(model_file=f"{SHARED}/real-tokenizers/{name}/tokenizer.model")
                controls = {sp.id_to_piece(i): i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}
                pattern = "(" + "|".join(re.escape(c) for c in sorted(controls, key=len, reverse=True)) + ")"

                def encode(text, sp=sp, controls=controls, pattern=pattern):
                    # transformers matches the special tokens' spellings first; SentencePiece encodes
                    # the text between them, each part with its own dummy prefix (legacy behaviour).
                    ids = []
                    for part in re.split(pattern, text):
                        if part in controls:
                            ids.append(controls[part])
                        elif part:
                            ids += sp.encode(part)
                    return ids
        cases = []
        for name, messages in CONVERSATIONS:
            for add in (True, False):
                case = {"name": name, "add_generation_prompt": add, "messages": messages}
                try:
                    text = render_jinja_template(conversations=[messages], chat_template=template,
                                                 add_generation_prompt=add, **kwargs)[0][0]
                    case["text"] = text
                    if encode:
                        case["ids"] = encode(text)
                except Exception as e:  # noqa: BLE001
                    case["error"] = type(e).__name__
                    case["message"] = str(e)
                cases.append(case)
        out[folder] = {"template": template, "special_tokens": kwargs, "tokenizer": TOKENIZERS.get(folder, (None, None))[1], "cases": cases}
    dump(f"{OUT}/chat_templates.json", {"renderer": "transformers render_jinja_template", "templates": out})


if __name__ == "__main__":
    features()
    chat_templates()
