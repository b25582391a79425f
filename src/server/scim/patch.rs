//! PATCH (RFC 7644 section 3.5.2) applied to a resource's JSON: the resource is read, the
//! operations change its document, and the document is then saved as a replacement would be, so
//! a PATCH obeys every rule a PUT does. What identity providers send besides the letter of the
//! RFC is taken too: operation names in any case, attribute names in any case, a `replace`
//! without a path whose value is an object (of attributes, or of attribute paths), and a value
//! filter that matches nothing in a `replace` of a sub-attribute (`emails[type eq "work"].value`),
//! which adds the value.

use serde_json::{Map, Value};

use super::{filter, ScimError, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Add,
    Replace,
    Remove,
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub kind: Kind,
    pub path: Option<Path>,
    pub value: Option<Value>,
}

/// `[urn:]attribute[[filter]][.sub]`
#[derive(Clone, Debug)]
pub struct Path {
    /// The extension the attribute belongs to (`None`: the core schema).
    pub extension: Option<&'static str>,
    pub attribute: String,
    pub filter: Option<filter::Expr>,
    pub sub: Option<String>,
}

const MAX_OPERATIONS: usize = 1000;

fn invalid_path(path: &str, why: &str) -> ScimError {
    ScimError::new(
        400,
        Some("invalidPath"),
        format!("The path {path:?} {why}."),
    )
}

/// Parses a path, with its schema's URN or without.
pub fn parse_path(text: &str) -> Result<Path, ScimError> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        // The extension as a whole: an object of its attributes.
        return Ok(Path {
            extension: None,
            attribute: ENTERPRISE_SCHEMA.to_owned(),
            filter: None,
            sub: None,
        });
    }
    let (extension, rest) = split_urn(trimmed)?;
    let (head, filter, sub) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|&c| c > open)
                .ok_or_else(|| invalid_path(text, "has a [ without its ]"))?;
            let expr = filter::parse(&rest[open + 1..close])?;
            let after = &rest[close + 1..];
            let sub = match after.strip_prefix('.') {
                Some(sub) if !sub.is_empty() => Some(sub.to_owned()),
                None if after.is_empty() => None,
                _ => {
                    return Err(invalid_path(
                        text,
                        "has something after its ] that is not .attribute",
                    ))
                }
            };
            (&rest[..open], Some(expr), sub)
        }
        None => match rest.split_once('.') {
            Some((head, sub)) => (head, None, Some(sub.to_owned())),
            None => (rest, None, None),
        },
    };
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if !valid_name(head) || sub.as_deref().is_some_and(|s| !valid_name(s)) {
        return Err(invalid_path(text, "is not an attribute path"));
    }
    Ok(Path {
        extension,
        attribute: head.to_owned(),
        filter,
        sub,
    })
}

/// Splits the schema URN from an attribute path (`urn:…:User:department`).
fn split_urn(text: &str) -> Result<(Option<&'static str>, &str), ScimError> {
    if !text.to_ascii_lowercase().starts_with("urn:") {
        return Ok((None, text));
    }
    for (urn, extension) in [
        (ENTERPRISE_SCHEMA, Some(ENTERPRISE_SCHEMA)),
        (USER_SCHEMA, None),
        (GROUP_SCHEMA, None),
    ] {
        if text.len() > urn.len()
            && text[..urn.len()].eq_ignore_ascii_case(urn)
            && text.as_bytes()[urn.len()] == b':'
        {
            return Ok((extension, &text[urn.len() + 1..]));
        }
    }
    Err(invalid_path(
        text,
        "names a schema this server does not have (it has the core User and Group schemas and the Enterprise User extension)",
    ))
}

/// Reads a PatchOp message.
pub fn parse(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let syntax = |m: &str| ScimError::new(400, Some("invalidSyntax"), m.to_owned());
    let object = body
        .as_object()
        .ok_or_else(|| syntax("A PATCH body must be a PatchOp object with \"Operations\"."))?;
    let operations = get_ci(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("A PATCH body must have \"Operations\", a list of operations."))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(syntax("A PATCH may have at most 1,000 operations."));
    }
    operations
        .iter()
        .map(|operation| {
            let operation = operation
                .as_object()
                .ok_or_else(|| syntax("Each operation must be an object with \"op\"."))?;
            let kind = match get_ci(operation, "op").and_then(Value::as_str) {
                Some(op) if op.eq_ignore_ascii_case("add") => Kind::Add,
                Some(op) if op.eq_ignore_ascii_case("replace") => Kind::Replace,
                Some(op) if op.eq_ignore_ascii_case("remove") => Kind::Remove,
                Some(op) => {
                    return Err(syntax(&format!(
                        "The operation {op:?} is not add, replace or remove."
                    )))
                }
                None => {
                    return Err(syntax(
                        "Each operation must have \"op\": add, replace or remove.",
                    ))
                }
            };
            let path = match get_ci(operation, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(parse_path(p)?),
                Some(_) => return Err(syntax("\"path\" must be a string.")),
            };
            let value = get_ci(operation, "value").cloned();
            if kind != Kind::Remove && value.is_none() {
                return Err(syntax("An add or replace operation must have a \"value\"."));
            }
            if kind == Kind::Remove && path.is_none() {
                return Err(ScimError::new(
                    400,
                    Some("noTarget"),
                    "A remove operation must have a \"path\".".into(),
                ));
            }
            Ok(Operation { kind, path, value })
        })
        .collect()
}

fn get_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn key_ci(map: &Map<String, Value>, key: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// What the resource's schema says of its attributes that PATCH needs to know.
pub trait Shape {
    fn multi_valued(&self, attribute: &str) -> bool;
    /// Attributes a PATCH may not change (`id`, `meta`, `groups`).
    fn read_only(&self, attribute: &str) -> bool;
}

/// Applies `operations` in order to `doc`.
pub fn apply(
    doc: &mut Map<String, Value>,
    operations: &[Operation],
    shape: &dyn Shape,
) -> Result<(), ScimError> {
    for operation in operations {
        match &operation.path {
            Some(path) => apply_at(doc, operation.kind, path, operation.value.clone(), shape)?,
            None => {
                // add or replace of an object of attributes (or of attribute paths).
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::new(
                        400,
                        Some("invalidValue"),
                        "An add or replace without a \"path\" must have an object as its \"value\".".into(),
                    ));
                };
                for (key, value) in values {
                    if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
                        continue;
                    }
                    if key.eq_ignore_ascii_case("id") {
                        // Okta sends the resource's own id along; it cannot change.
                        continue;
                    }
                    let (extension, _) = split_urn(key)?;
                    if extension.is_some() && key.len() == ENTERPRISE_SCHEMA.len() {
                        // The extension as an object of its attributes.
                        let Value::Object(inner) = value else {
                            return Err(ScimError::new(
                                400,
                                Some("invalidValue"),
                                format!("{key} must be an object of its attributes."),
                            ));
                        };
                        for (k, v) in inner {
                            let path = parse_path(&format!("{ENTERPRISE_SCHEMA}:{k}"))?;
                            apply_at(doc, operation.kind, &path, Some(v.clone()), shape)?;
                        }
                        continue;
                    }
                    let path = parse_path(key)?;
                    apply_at(doc, operation.kind, &path, Some(value.clone()), shape)?;
                }
            }
        }
    }
    Ok(())
}

fn container<'d>(
    doc: &'d mut Map<String, Value>,
    extension: Option<&'static str>,
    create: bool,
) -> Option<&'d mut Map<String, Value>> {
    match extension {
        None => Some(doc),
        Some(urn) => {
            let key = key_ci(doc, urn);
            if !doc.contains_key(&key) {
                if !create {
                    return None;
                }
                doc.insert(key.clone(), Value::Object(Map::new()));
            }
            doc.get_mut(&key)?.as_object_mut()
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(p), Some(q)) => p == q,
            _ => a == b,
        },
        _ => a == b,
    }
}

fn apply_at(
    doc: &mut Map<String, Value>,
    kind: Kind,
    path: &Path,
    value: Option<Value>,
    shape: &dyn Shape,
) -> Result<(), ScimError> {
    if path.extension.is_none() && shape.read_only(&path.attribute) {
        return Err(ScimError::new(
            400,
            Some("mutability"),
            format!("{} cannot be changed by a PATCH.", path.attribute),
        ));
    }
    let multi = path.extension.is_none() && shape.multi_valued(&path.attribute);
    let Some(target) = container(doc, path.extension, kind != Kind::Remove) else {
        return Ok(());
    };
    let key = key_ci(target, &path.attribute);
    match (&path.filter, &path.sub) {
        (None, None) => match kind {
            Kind::Remove => {
                if let (true, Some(value)) = (multi, value) {
                    // Remove these values (`"path": "members", "value": [{"value": "…"}]`).
                    let gone: Vec<Value> = match value {
                        Value::Array(items) => items,
                        one => vec![one],
                    };
                    if let Some(Value::Array(items)) = target.get_mut(&key) {
                        items.retain(|item| !gone.iter().any(|g| same(item, g)));
                    }
                } else {
                    target.remove(&key);
                }
            }
            Kind::Add if multi => {
                let items: Vec<Value> = match value.unwrap_or(Value::Null) {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    one => vec![one],
                };
                let entry = target
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !entry.is_array() {
                    *entry = Value::Array(Vec::new());
                }
                if let Value::Array(existing) = entry {
                    for item in items {
                        if !existing.iter().any(|e| same(e, &item)) {
                            existing.push(item);
                        }
                    }
                }
            }
            Kind::Replace if multi => {
                let items = match value.unwrap_or(Value::Null) {
                    Value::Array(items) => Value::Array(items),
                    Value::Null => Value::Array(Vec::new()),
                    one => Value::Array(vec![one]),
                };
                target.insert(key, items);
            }
            Kind::Add | Kind::Replace => {
                let value = value.unwrap_or(Value::Null);
                match (target.get_mut(&key), value) {
                    // A complex attribute: the sub-attributes given replace theirs, the others stay.
                    (Some(Value::Object(existing)), Value::Object(given)) => {
                        for (k, v) in given {
                            let k = key_ci(existing, &k);
                            existing.insert(k, v);
                        }
                    }
                    (_, value) => {
                        target.insert(key, value);
                    }
                }
            }
        },
        (None, Some(sub)) => {
            let entry = target.entry(key).or_insert(Value::Null);
            match entry {
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_sub(item, sub, kind, value.clone());
                    }
                }
                Value::Object(object) => set_sub(object, sub, kind, value),
                _ if kind == Kind::Remove => {}
                other => {
                    let mut object = Map::new();
                    set_sub(&mut object, sub, kind, value);
                    *other = Value::Object(object);
                }
            }
        }
        (Some(expr), sub) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let Value::Array(items) = entry else {
                unreachable!("made an array above")
            };
            let matched: Vec<usize> = (0..items.len())
                .filter(|&i| filter::matches(expr, &items[i]))
                .collect();
            match (kind, sub) {
                (Kind::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (_, Some(sub)) => {
                    if matched.is_empty() && kind != Kind::Remove {
                        // Entra's `emails[type eq "work"].value` on a user without one: add it.
                        let mut object = seed(expr);
                        set_sub(&mut object, sub, kind, value.clone());
                        items.push(Value::Object(object));
                    }
                    for i in matched {
                        if let Some(item) = items[i].as_object_mut() {
                            set_sub(item, sub, kind, value.clone());
                        }
                    }
                }
                (_, None) => {
                    let value = value.unwrap_or(Value::Null);
                    if matched.is_empty() {
                        if let Value::Object(mut object) = value {
                            for (k, v) in seed(expr) {
                                object.entry(k).or_insert(v);
                            }
                            items.push(Value::Object(object));
                        }
                    } else {
                        for i in matched {
                            match (&mut items[i], &value) {
                                (Value::Object(existing), Value::Object(given)) => {
                                    for (k, v) in given {
                                        let k = key_ci(existing, k);
                                        existing.insert(k, v.clone());
                                    }
                                }
                                (item, value) => *item = value.clone(),
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The attributes an `eq` filter names, for a value it adds (`type eq "work"` → `{"type": "work"}`).
fn seed(expr: &filter::Expr) -> Map<String, Value> {
    filter::equalities(expr)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
}

fn set_sub(object: &mut Map<String, Value>, sub: &str, kind: Kind, value: Option<Value>) {
    let key = key_ci(object, sub);
    match (kind, value) {
        (Kind::Remove, _) | (_, None) => {
            object.remove(&key);
        }
        (_, Some(value)) => {
            object.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Users;
    impl Shape for Users {
        fn multi_valued(&self, attribute: &str) -> bool {
            ["emails", "members", "phoneNumbers"]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(attribute))
        }
        fn read_only(&self, attribute: &str) -> bool {
            ["id", "meta", "groups"]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(attribute))
        }
    }

    fn patched(doc: Value, body: Value) -> Result<Value, ScimError> {
        let mut doc = doc.as_object().unwrap().clone();
        apply(&mut doc, &parse(&body)?, &Users)?;
        Ok(Value::Object(doc))
    }

    #[test]
    fn entra_replace_in_capitals_with_string_booleans_and_extension_paths() {
        let doc = patched(
            json!({"userName": "a@b.c", "active": true}),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Research"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@b.c"},
                {"op": "Replace", "path": "name.givenName", "value": "Ann"},
            ]}),
        )
        .unwrap();
        assert_eq!(doc["active"], json!("False"));
        assert_eq!(doc[ENTERPRISE_SCHEMA]["department"], json!("Research"));
        assert_eq!(doc["emails"], json!([{"type": "work", "value": "new@b.c"}]));
        assert_eq!(doc["name"]["givenName"], json!("Ann"));
    }

    #[test]
    fn okta_replace_without_path_takes_an_object_and_ignores_the_id() {
        let doc = patched(
            json!({"id": "7", "displayName": "old", "name": {"givenName": "A", "familyName": "B"}}),
            json!({"Operations": [{"op": "replace", "value": {"id": "7", "displayName": "new", "name.familyName": "C"}}]}),
        )
        .unwrap();
        assert_eq!(doc["displayName"], json!("new"));
        assert_eq!(doc["name"], json!({"givenName": "A", "familyName": "C"}));
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_by_value() {
        let doc = json!({"members": [{"value": "1"}]});
        let doc = patched(
            doc,
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "1"}, {"value": "2"}, {"value": "3"}]}]}),
        )
        .unwrap();
        assert_eq!(doc["members"].as_array().unwrap().len(), 3);
        let doc = patched(
            doc,
            json!({"Operations": [
                {"op": "remove", "path": "members[value eq \"2\"]"},
                {"op": "Remove", "path": "members", "value": [{"value": "3"}]},
            ]}),
        )
        .unwrap();
        assert_eq!(doc["members"], json!([{"value": "1"}]));
    }

    #[test]
    fn read_only_attributes_and_unknown_schemas_are_refused() {
        let e = patched(
            json!({}),
            json!({"Operations": [{"op": "replace", "path": "groups", "value": []}]}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("mutability"));
        let e = patched(
            json!({}),
            json!({"Operations": [{"op": "add", "path": "urn:example:custom:x", "value": 1}]}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidPath"));
        let e = patched(json!({}), json!({"Operations": [{"op": "remove"}]})).unwrap_err();
        assert_eq!(e.scim_type, Some("noTarget"));
        let e = patched(
            json!({}),
            json!({"Operations": [{"op": "move", "path": "a"}]}),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
    }
}
