"""The official OpenAI Python SDK running a two-step weather-tool loop through codexd: Chat
non-stream, Chat stream (tool-call deltas accumulated by index), Responses non-stream and
Responses stream. Request 1 must end with the model's tool calls; request 2 brings the tool
outputs and must get the model's answer. Exits non-zero on the first mismatch, naming it.

Usage: openai_tools_check.py BASE_URL API_KEY MODEL PROMPT EXPECT [PARTS]

PROMPT is the user message; EXPECT a text the final answer must contain (the tool output
the script sends is "sunny, 21 C in <city>" where <city> is the call's `city` argument, or
"sunny" when it has none); PARTS (default all) is a comma list of chat,chat_stream,
responses,responses_stream.
"""

import json
import sys

from openai import OpenAI

failures = []

CHAT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
RESPONSES_TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


def check(what, ok, detail=""):
    if not ok:
        failures.append(f"{what} {detail}")
    return ok


def output_for(arguments):
    args = json.loads(arguments or "{}")
    city = args.get("city")
    return f"sunny, 21 C in {city}" if city else "sunny"


def chat(client, model, prompt, expect):
    messages = [{"role": "user", "content": prompt}]
    r = client.chat.completions.create(model=model, messages=messages, tools=CHAT_TOOLS)
    choice = r.choices[0]
    if not check("chat finish_reason", choice.finish_reason == "tool_calls", repr(choice)):
        return
    calls = choice.message.tool_calls or []
    check("chat tool_calls", len(calls) >= 1, repr(calls))
    messages.append(choice.message.model_dump(exclude_none=True))
    for c in calls:
        check("chat call type", c.type == "function")
        messages.append(
            {"role": "tool", "tool_call_id": c.id, "content": output_for(c.function.arguments)}
        )
    r2 = client.chat.completions.create(model=model, messages=messages, tools=CHAT_TOOLS)
    text = r2.choices[0].message.content or ""
    check("chat answer", expect in text, repr(text))
    check("chat answer finish", r2.choices[0].finish_reason == "stop", r2.choices[0].finish_reason)


def chat_stream(client, model, prompt, expect):
    messages = [{"role": "user", "content": prompt}]
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=CHAT_TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    calls = {}
    content = ""
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        d = chunk.choices[0].delta
        content += d.content or ""
        for tc in d.tool_calls or []:
            check("stream tool_call index", tc.index is not None, repr(tc))
            slot = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            if tc.id:
                slot["id"] = tc.id
            if tc.function and tc.function.name:
                slot["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
        if chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    if not check("chat stream finish_reason", finish == "tool_calls", repr(finish)):
        return
    check("chat stream calls", len(calls) >= 1 and all(c["id"] for c in calls.values()), repr(calls))
    ordered = [calls[i] for i in sorted(calls)]
    messages.append(
        {
            "role": "assistant",
            "content": content or None,
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in ordered
            ],
        }
    )
    for c in ordered:
        messages.append(
            {"role": "tool", "tool_call_id": c["id"], "content": output_for(c["arguments"])}
        )
    text = ""
    finish = None
    for chunk in client.chat.completions.create(
        model=model, messages=messages, tools=CHAT_TOOLS, stream=True
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    check("chat stream answer", expect in text, repr(text))
    check("chat stream answer finish", finish == "stop", repr(finish))


def function_calls(output):
    return [o for o in output if o.type == "function_call"]


def responses(client, model, prompt, expect):
    r = client.responses.create(model=model, input=prompt, tools=RESPONSES_TOOLS)
    calls = function_calls(r.output)
    if not check("responses function_call items", len(calls) >= 1, repr(r.output)):
        return
    for c in calls:
        check("responses call status", c.status == "completed", repr(c))
    # Step 2 via previous_response_id, with only the outputs as input.
    outputs = [
        {"type": "function_call_output", "call_id": c.call_id, "output": output_for(c.arguments)}
        for c in calls
    ]
    r2 = client.responses.create(
        model=model, previous_response_id=r.id, input=outputs, tools=RESPONSES_TOOLS
    )
    check("responses answer", expect in r2.output_text, repr(r2.output_text))


def responses_stream(client, model, prompt, expect):
    events = list(
        client.responses.create(model=model, input=prompt, tools=RESPONSES_TOOLS, stream=True)
    )
    kinds = [e.type for e in events]
    for k in (
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ):
        check("responses stream event", k in kinds, f"{k} missing from {kinds}")
    final = events[-1].response
    calls = function_calls(final.output)
    if not check("responses stream calls", len(calls) >= 1, repr(final.output)):
        return
    # Step 2 with the full input (no previous_response_id).
    items = [{"role": "user", "content": prompt}]
    for c in calls:
        items.append(
            {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
        )
    for c in calls:
        items.append(
            {"type": "function_call_output", "call_id": c.call_id, "output": output_for(c.arguments)}
        )
    text = ""
    for e in client.responses.create(model=model, input=items, tools=RESPONSES_TOOLS, stream=True):
        if e.type == "response.output_text.delta":
            text += e.delta
    check("responses stream answer", expect in text, repr(text))


def main():
    base, key, model, prompt, expect = sys.argv[1:6]
    parts = (sys.argv[6] if len(sys.argv) > 6 else "chat,chat_stream,responses,responses_stream").split(",")
    client = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=30)
    for part in parts:
        {
            "chat": chat,
            "chat_stream": chat_stream,
            "responses": responses,
            "responses_stream": responses_stream,
        }[part](client, model, prompt, expect)
        if failures:
            break
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        sys.exit(1)
    print("all checks passed")


main()
