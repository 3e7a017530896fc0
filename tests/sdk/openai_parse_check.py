"""Structured outputs through the official OpenAI Python SDK: `client.chat.completions.parse`
and `client.responses.parse` with a Pydantic model (whose schema the SDK makes strict with
`to_strict_json_schema`) must return the parsed object; a non-strict raw schema must be a
400 naming `response_format.json_schema.schema`. Exits non-zero on the first mismatch.

Usage: openai_parse_check.py BASE_URL API_KEY MODEL EXPECTED_JSON
EXPECTED_JSON is the object the model is expected to answer (the demo worker answers the
schema's minimal instance; against real Codex the mock provider answers it).
"""

import json
import sys
from typing import List, Optional

import openai
from openai import OpenAI
from pydantic import BaseModel

failures = []


class Address(BaseModel):
    city: str
    zip: Optional[str]


class Person(BaseModel):
    name: str
    age: int
    tags: List[str]
    address: Address


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def chat_parse(client, model, want):
    r = client.chat.completions.parse(
        model=model,
        messages=[{"role": "user", "content": "Describe a person."}],
        response_format=Person,
    )
    check("chat parse finish_reason", r.choices[0].finish_reason, "stop")
    check("chat parse parsed", r.choices[0].message.parsed, want)


def responses_parse(client, model, want):
    r = client.responses.parse(
        model=model, input="Describe a person.", text_format=Person
    )
    check("responses parse parsed", r.output_parsed, want)


def non_strict_is_named(client, model, want):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    try:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "x"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": schema, "strict": True},
            },
        )
        failures.append("non-strict schema: no error")
    except openai.BadRequestError as e:
        check("non-strict status", e.status_code, 400)
        check("non-strict param", e.param, "response_format.json_schema.schema")


def main():
    base_url, api_key, model, expected = sys.argv[1:5]
    want = Person.model_validate(json.loads(expected))
    client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    for run in (chat_parse, responses_parse, non_strict_is_named):
        try:
            run(client, model, want)
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
