//! Tolerant readers for iMIS JSON: `$values` collections (or the plain arrays of builds before
//! 20.2.46), typed value wrappers (`{"$type":"System.Boolean","$value":true}`), value-less nulls,
//! and the paged envelope of `/api/IQA`, `/api/User` and friends (docs/imis-contract.md §4.2, §5).

use serde_json::Value;

/// The items of an iMIS collection: `{"$values": [...]}` or a plain array; anything else is empty.
pub fn values(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        Some(Value::Object(map)) => match map.get("$values") {
            Some(Value::Array(items)) => items,
            _ => &[],
        },
        _ => &[],
    }
}

/// A property value with typed wrappers removed: `{"$type":…,"$value":x}` becomes `x`.
pub fn unwrap_typed(v: &Value) -> Value {
    match v {
        Value::Object(map) if map.contains_key("$value") => {
            map.get("$value").cloned().unwrap_or(Value::Null)
        }
        other => other.clone(),
    }
}

/// A value as text, if it is a string, number or boolean.
pub fn as_text(v: &Value) -> Option<String> {
    match unwrap_typed(v) {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text of a field of an object, if present.
pub fn field_text(obj: &Value, name: &str) -> Option<String> {
    obj.get(name).and_then(as_text).filter(|s| !s.is_empty())
}

/// One row of a generic entity (an IQA result row, a CsContact record): the properties in order,
/// `ResultRow` left out, typed wrappers removed, value-less properties as `null`.
pub(crate) type Row = Vec<(String, Value)>;

/// The `Properties` of a `GenericEntityData`.
pub fn generic_entity_row(entity: &Value) -> Row {
    values(entity.get("Properties"))
        .iter()
        .filter_map(|p| {
            let name = p.get("Name")?.as_str()?;
            if name == "ResultRow" {
                return None;
            }
            Some((
                name.to_string(),
                p.get("Value").map(unwrap_typed).unwrap_or(Value::Null),
            ))
        })
        .collect()
}

/// The paging block of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Whether another page follows.
    pub(crate) has_next: bool,
    /// The offset of the next page (0 on the last page).
    pub(crate) next_offset: u64,
    /// Items on this page.
    count: u64,
}

/// Reads the paging block; missing fields mean "no further page".
pub fn paging(envelope: &Value) -> Paging {
    let num = |k: &str| {
        envelope
            .get(k)
            .and_then(|v| unwrap_typed(v).as_u64())
            .unwrap_or(0)
    };
    Paging {
        has_next: envelope
            .get("HasNext")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        next_offset: num("NextOffset"),
        count: num("Count"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_collection_shapes_and_typed_values() {
        let new = json!({"Items": {"$values": [1, 2]}});
        let old = json!({"Items": [1, 2, 3]});
        assert_eq!(values(new.get("Items")).len(), 2);
        assert_eq!(values(old.get("Items")).len(), 3);
        assert!(values(None).is_empty());
        let entity = json!({"Properties": {"$values": [
            {"Name": "ResultRow", "Value": "1"},
            {"Name": "IsMember", "Value": {"$type": "System.Boolean", "$value": true}},
            {"Name": "Chapter"},
            {"Name": "Empty", "Value": ""}
        ]}});
        let row = generic_entity_row(&entity);
        assert_eq!(
            row,
            vec![
                ("IsMember".into(), json!(true)),
                ("Chapter".into(), Value::Null),
                ("Empty".into(), json!(""))
            ]
        );
    }
}
