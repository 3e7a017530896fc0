//! The strict-mode check of a structured-output schema. Codex sends every `outputSchema`
//! upstream as `strict: true`, where a schema outside OpenAI's strict subset fails the turn
//! after it started; so codexd checks it up front and names the first offending location as a
//! JSON pointer (`#/properties/x`). The rules are OpenAI's "Supported schemas": the root is an
//! object; every object lists all its properties in `required` and sets
//! `additionalProperties: false`; only the supported keywords; `$ref` to `#`, `#/$defs/..`
//! or `#/definitions/..`; at most 10 levels of nesting, 5,000 properties, 1,000 enum values
//! and 120,000 characters of names and enum values. The schema never reaches a log.

use serde_json::{Map, Value};

/// Nesting levels of objects and arrays OpenAI accepts.
pub const MAX_DEPTH: usize = 10;
/// Object properties in all.
pub const MAX_PROPERTIES: usize = 5_000;
/// Enum values in all.
pub const MAX_ENUM_VALUES: usize = 1_000;
/// Characters of property names, definition names and enum/const string values in all.
pub const MAX_TOTAL_CHARS: usize = 120_000;

/// Keywords allowed on any schema node.
const COMMON: &[&str] = &[
    "type",
    "description",
    "title",
    "default",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "$schema",
    "$id",
];
const OBJECT: &[&str] = &["properties", "required", "additionalProperties"];
const ARRAY: &[&str] = &["items", "minItems", "maxItems"];
const STRING: &[&str] = &["pattern", "format"];
const NUMBER: &[&str] = &[
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
];
const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];
const FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Why a schema is not strict-compatible: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "In context={}, {}", self.pointer, self.reason)
    }
}

struct Walk<'a> {
    root: &'a Value,
    properties: usize,
    enums: usize,
    chars: usize,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn violation(pointer: &str, reason: impl Into<String>) -> Violation {
    Violation {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    }
}

/// Checks `schema` against the strict subset; the first violation found, depth first.
pub fn check(schema: &Value) -> Result<(), Violation> {
    let Some(o) = schema.as_object() else {
        return Err(violation("#", "the schema must be a JSON object."));
    };
    if o.contains_key("anyOf") || o.get("type").and_then(Value::as_str) != Some("object") {
        return Err(violation(
            "#",
            "the root schema must have 'type': 'object' and must not be 'anyOf'.",
        ));
    }
    let mut w = Walk {
        root: schema,
        properties: 0,
        enums: 0,
        chars: 0,
    };
    w.node(schema, "#", 0)
}

impl Walk<'_> {
    fn node(&mut self, v: &Value, at: &str, depth: usize) -> Result<(), Violation> {
        let Some(o) = v.as_object() else {
            return Err(violation(at, "a schema must be a JSON object."));
        };
        if depth > MAX_DEPTH {
            return Err(violation(
                at,
                format!("the schema nests deeper than {MAX_DEPTH} levels."),
            ));
        }
        let types = types_of(o, at)?;
        for key in o.keys() {
            let allowed = COMMON.contains(&key.as_str())
                || (OBJECT.contains(&key.as_str())
                    && (types.is_empty() || types.contains(&"object")))
                || (ARRAY.contains(&key.as_str())
                    && (types.is_empty() || types.contains(&"array")))
                || (STRING.contains(&key.as_str())
                    && (types.is_empty() || types.contains(&"string")))
                || (NUMBER.contains(&key.as_str())
                    && (types.is_empty()
                        || types.contains(&"number")
                        || types.contains(&"integer")));
            if !allowed {
                return Err(violation(at, format!("'{key}' is not permitted.")));
            }
        }
        if let Some(f) = o.get("format") {
            if !f.as_str().is_some_and(|f| FORMATS.contains(&f)) {
                return Err(violation(
                    at,
                    "'format' must be one of the supported formats.",
                ));
            }
        }
        if types.contains(&"object") || o.contains_key("properties") {
            self.object(o, at, depth)?;
        }
        if let Some(items) = o.get("items") {
            self.node(items, &format!("{at}/items"), depth + 1)?;
        } else if types.contains(&"array") {
            return Err(violation(at, "an array schema must define 'items'."));
        }
        if let Some(any) = o.get("anyOf") {
            let Some(list) = any.as_array().filter(|l| !l.is_empty()) else {
                return Err(violation(at, "'anyOf' must be a non-empty array."));
            };
            for (i, s) in list.iter().enumerate() {
                self.node(s, &format!("{at}/anyOf/{i}"), depth)?;
            }
        }
        for defs in ["$defs", "definitions"] {
            if let Some(d) = o.get(defs) {
                let Some(d) = d.as_object() else {
                    return Err(violation(at, format!("'{defs}' must be an object.")));
                };
                for (name, s) in d {
                    self.chars += name.chars().count();
                    self.node(s, &format!("{at}/{defs}/{}", escape(name)), 0)?;
                }
            }
        }
        if let Some(r) = o.get("$ref") {
            self.reference(r, at)?;
        }
        self.values(o, at)
    }

    fn object(&mut self, o: &Map<String, Value>, at: &str, depth: usize) -> Result<(), Violation> {
        if o.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(violation(
                at,
                "'additionalProperties' is required to be supplied and to be false.",
            ));
        }
        let empty = Map::new();
        let props = match o.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(violation(at, "'properties' must be an object.")),
        };
        let required: Vec<&str> = match o.get("required") {
            None => Vec::new(),
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            Some(_) => return Err(violation(at, "'required' must be an array of names.")),
        };
        if let Some(missing) = props.keys().find(|k| !required.contains(&k.as_str())) {
            return Err(violation(
                at,
                format!("'required' is required to be supplied and to be an array including every key in properties. Missing '{missing}'."),
            ));
        }
        if let Some(extra) = required.iter().find(|r| !props.contains_key(**r)) {
            return Err(violation(
                at,
                format!("'required' names '{extra}', which is not in properties."),
            ));
        }
        self.properties += props.len();
        if self.properties > MAX_PROPERTIES {
            return Err(violation(
                at,
                format!("the schema has more than {MAX_PROPERTIES} properties."),
            ));
        }
        for (name, s) in props {
            self.chars += name.chars().count();
            self.node(s, &format!("{at}/properties/{}", escape(name)), depth + 1)?;
        }
        Ok(())
    }

    fn reference(&self, r: &Value, at: &str) -> Result<(), Violation> {
        let target = r.as_str().and_then(|r| {
            if r == "#" {
                return Some(self.root);
            }
            let path = r.strip_prefix("#/")?;
            if !(path.starts_with("$defs/") || path.starts_with("definitions/")) {
                return None;
            }
            self.root.pointer(&format!("/{path}"))
        });
        match target {
            Some(_) => Ok(()),
            None => Err(violation(
                at,
                "'$ref' must point into this schema's '$defs' or 'definitions', or be '#'.",
            )),
        }
    }

    fn values(&mut self, o: &Map<String, Value>, at: &str) -> Result<(), Violation> {
        if let Some(e) = o.get("enum") {
            let Some(list) = e.as_array().filter(|l| !l.is_empty()) else {
                return Err(violation(at, "'enum' must be a non-empty array."));
            };
            self.enums += list.len();
            self.chars += list
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.chars().count())
                .sum::<usize>();
            if self.enums > MAX_ENUM_VALUES {
                return Err(violation(
                    at,
                    format!("the schema has more than {MAX_ENUM_VALUES} enum values."),
                ));
            }
        }
        if let Some(Value::String(c)) = o.get("const") {
            self.chars += c.chars().count();
        }
        if self.chars > MAX_TOTAL_CHARS {
            return Err(violation(
                at,
                format!("names and enum values exceed {MAX_TOTAL_CHARS} characters."),
            ));
        }
        Ok(())
    }
}

fn types_of<'a>(o: &'a Map<String, Value>, at: &str) -> Result<Vec<&'a str>, Violation> {
    let types: Vec<&str> = match o.get("type") {
        None => Vec::new(),
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        Some(_) => {
            return Err(violation(
                at,
                "'type' must be a string or an array of strings.",
            ))
        }
    };
    match types.iter().find(|t| !TYPES.contains(t)) {
        Some(t) => Err(violation(at, format!("type '{t}' is not supported."))),
        None => Ok(types),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(schema: Value) -> String {
        check(&schema).unwrap_err().pointer
    }

    #[test]
    fn a_strict_schema_with_defs_refs_anyof_and_nullable_passes() {
        let s = json!({"type": "object", "title": "Event", "additionalProperties": false,
            "required": ["name", "when", "tags", "owner", "size"],
            "properties": {
                "name": {"type": "string", "title": "Name", "description": "d"},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "maxItems": 3},
                "owner": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}], "default": null},
                "size": {"type": ["integer", "null"], "minimum": 0}},
            "$defs": {"Person": {"type": "object", "additionalProperties": false,
                "required": ["n", "boss"], "properties": {"n": {"type": "string"},
                "boss": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}]}}}}});
        assert_eq!(check(&s), Ok(()));
    }

    #[test]
    fn the_first_offending_location_is_named() {
        assert_eq!(at(json!({"type": "object", "properties": {}})), "#");
        assert_eq!(
            at(json!({"type": "array", "items": {"type": "string"}})),
            "#"
        );
        let missing = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "object", "properties": {"x/y": {"type": "string"}},
                "required": [], "additionalProperties": false}}});
        assert_eq!(at(missing), "#/properties/a");
        let open = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "object", "properties": {}, "required": []}}});
        assert_eq!(at(open), "#/properties/a");
        let keyword = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "string", "minLength": 2}}});
        let v = check(&keyword).unwrap_err();
        assert_eq!(v.pointer, "#/properties/a");
        assert!(
            v.to_string().contains("'minLength' is not permitted"),
            "{v}"
        );
        let reference = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"$ref": "https://example.com/s.json"}}});
        assert_eq!(at(reference), "#/properties/a");
        let escaped = json!({"type": "object", "additionalProperties": false, "required": ["a/b"],
            "properties": {"a/b": {"type": "string", "format": "color"}}});
        assert_eq!(at(escaped), "#/properties/a~1b");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut s = json!({"type": "string"});
        for _ in 0..12 {
            s = json!({"type": "object", "additionalProperties": false, "required": ["x"],
                "properties": {"x": s}});
        }
        assert!(check(&s).unwrap_err().reason.contains("deeper"));
    }
}
