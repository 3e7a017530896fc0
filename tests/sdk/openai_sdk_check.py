"""The official OpenAI Python SDK against codexd (with the demo worker): chat non-stream,
chat stream with include_usage, responses non-stream and responses stream. Exits non-zero on
the first mismatch, naming it.

Usage: openai_sdk_check.py BASE_URL API_KEY MODEL
"""

import sys

import openai
from openai import OpenAI

PROMPT = "Say hello."
# The demo worker echoes the prompt; usage is ceil(chars / 4) each way.
REPLY = "You said: Say hello."
USAGE = {"input": 3, "output": 5, "total": 8}

failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def chat_non_stream(client, model):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}]
    )
    check("chat object", r.object, "chat.completion")
    check("chat model", r.model, model)
    check("chat choices", len(r.choices), 1)
    check("chat content", r.choices[0].message.content, REPLY)
    check("chat role", r.choices[0].message.role, "assistant")
    check("chat finish_reason", r.choices[0].finish_reason, "stop")
    check(
        "chat usage",
        (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens),
        (USAGE["input"], USAGE["output"], USAGE["total"]),
    )


def chat_stream(client, model):
    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    check("chat stream first role", chunks[0].choices[0].delta.role, "assistant")
    check("chat stream one id", len({c.id for c in chunks}), 1)
    text = "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    )
    check("chat stream content", text, REPLY)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    check("chat stream finish_reason", finishes, ["stop"])
    last = chunks[-1]
    check("chat stream usage chunk choices", last.choices, [])
    usage = last.usage
    check(
        "chat stream usage",
        usage and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (USAGE["input"], USAGE["output"], USAGE["total"]),
    )


def responses_non_stream(client, model):
    r = client.responses.create(model=model, input=PROMPT)
    check("responses status", r.status, "completed")
    check("responses model", r.model, model)
    check("responses output_text", r.output_text, REPLY)
    check(
        "responses usage",
        (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens),
        (USAGE["input"], USAGE["output"], USAGE["total"]),
    )


def responses_stream(client, model):
    events = list(client.responses.create(model=model, input=PROMPT, stream=True))
    types = [e.type for e in events]
    check("responses stream first event", types[0], "response.created")
    check("responses stream last event", types[-1], "response.completed")
    check(
        "responses stream sequence numbers",
        [e.sequence_number for e in events],
        list(range(len(events))),
    )
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    check("responses stream deltas", text, REPLY)
    done = events[-1].response
    check("responses stream final text", done.output_text, REPLY)
    check(
        "responses stream usage",
        (done.usage.input_tokens, done.usage.output_tokens, done.usage.total_tokens),
        (USAGE["input"], USAGE["output"], USAGE["total"]),
    )


def main():
    base_url, api_key, model = sys.argv[1:4]
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    for run in (chat_non_stream, chat_stream, responses_non_stream, responses_stream):
        try:
            run(client, model)
        except Exception as e:  # an SDK parse error is a failure too, not a crash
            failures.append(f"{run.__name__}: {type(e).__name__}: {e}")
        print(f"{run.__name__}: {'ok' if not failures else 'FAILED'}", flush=True)
        if failures:
            break
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"openai {openai.__version__}: all checks passed")


if __name__ == "__main__":
    main()
