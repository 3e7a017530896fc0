//! Structured outputs in the demo: a turn with an `outputSchema` answers the smallest JSON
//! instance of the schema, deterministically: an object with every property (each at its own
//! minimal value), `enum` and `const` their first value, strings `"demo"` (or a fixed value for
//! a known `format`), numbers their `minimum` or 0, booleans `false`, arrays `minItems` copies
//! of their item, `anyOf` its first branch (the first non-null one below 8 levels of `$ref`),
//! `$ref` into `$defs`/`definitions` followed.

use serde_json::{json, Map, Value};

/// Levels after which `$ref` recursion takes a `null` branch where there is one.
const DEEP: usize = 8;

/// The JSON text of the minimal instance of `schema`.
pub fn instance_text(schema: &Value) -> String {
    instance(schema, schema, 0).to_string()
}

fn instance(root: &Value, s: &Value, depth: usize) -> Value {
    let Some(o) = s.as_object() else {
        return Value::Null;
    };
    if depth > 32 {
        return Value::Null;
    }
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let target = if r == "#" {
            Some(root)
        } else {
            r.strip_prefix('#').and_then(|p| root.pointer(p))
        };
        return target.map_or(Value::Null, |t| instance(root, t, depth + 1));
    }
    if let Some(c) = o.get("const") {
        return c.clone();
    }
    if let Some(first) = o
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(any) = o.get("anyOf").and_then(Value::as_array) {
        let is_null = |b: &&Value| b.get("type").and_then(Value::as_str) == Some("null");
        let pick = if depth >= DEEP {
            any.iter().find(is_null).or(any.first())
        } else {
            any.iter().find(|b| !is_null(b)).or(any.first())
        };
        return pick.map_or(Value::Null, |b| instance(root, b, depth + 1));
    }
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null" || depth >= DEEP)
            .unwrap_or("null"),
        _ if o.contains_key("properties") => "object",
        _ => "null",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = o.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), instance(root, v, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = o.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let item = o
                .get("items")
                .map_or(Value::Null, |i| instance(root, i, depth + 1));
            Value::Array(vec![item; n])
        }
        "string" => Value::String(
            match o.get("format").and_then(Value::as_str) {
                Some("date-time") => "1970-01-01T00:00:00Z",
                Some("date") => "1970-01-01",
                Some("time") => "00:00:00",
                Some("duration") => "P0D",
                Some("email") => "demo@example.com",
                Some("hostname") => "example.com",
                Some("ipv4") => "127.0.0.1",
                Some("ipv6") => "::1",
                Some("uuid") => "00000000-0000-0000-0000-000000000000",
                _ => "demo",
            }
            .to_owned(),
        ),
        "integer" => json!(o.get("minimum").and_then(Value::as_i64).unwrap_or(0).max(0)),
        "number" => json!(o
            .get("minimum")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .max(0.0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_instance_fills_every_property() {
        let s = json!({"type": "object", "properties": {
            "name": {"type": "string"}, "age": {"type": "integer", "minimum": 3},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["b", "a"]}, "when": {"type": "string", "format": "date"},
            "boss": {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]},
            "ok": {"type": ["boolean", "null"]}},
            "$defs": {"P": {"type": "object", "properties": {"n": {"type": "number"}}}}});
        assert_eq!(
            serde_json::from_str::<Value>(&instance_text(&s)).unwrap(),
            json!({"name": "demo", "age": 3, "tags": [], "kind": "b", "when": "1970-01-01",
                   "boss": {"n": 0.0}, "ok": false})
        );
    }

    #[test]
    fn recursion_ends_on_a_null_branch() {
        let s = json!({"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}});
        let v: Value = serde_json::from_str(&instance_text(&s)).unwrap();
        assert!(v.pointer("/next/next/next").is_some());
    }
}
