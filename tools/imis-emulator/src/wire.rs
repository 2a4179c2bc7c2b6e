//! iMIS wire shapes (docs/imis-contract.md §4.2, §5.0, §5.3).

use serde_json::Value;

use crate::fixtures::User;
use crate::json::J;

/// `$type` of GenericEntityData.
pub const GENERIC_ENTITY: &str = "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts";
const GENERIC_PROPERTY: &str = "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts";
const GENERIC_PROPERTY_COLLECTION: &str =
    "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts";
/// `$type` of UserData.
pub const USER_DATA: &str = "Asi.Soa.Membership.DataContracts.UserData, Asi.Contracts";
/// `$type` of PartyData (list element type of /api/Party).
pub const PARTY_DATA: &str = "Asi.Soa.Membership.DataContracts.PartyData, Asi.Contracts";
/// `$type` of PersonData.
pub const PERSON_DATA: &str = "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts";

/// Strip the assembly part: `A.B.C, Asm` → `A.B.C`.
fn type_name(full: &str) -> &str {
    full.split(',').next().unwrap_or(full).trim()
}

/// `PagedResult<T>` envelope.
pub fn paged(item_type: &str, items: Vec<J>, offset: usize, limit: usize, total: usize) -> J {
    let count = items.len();
    let has_next = offset + count < total && count > 0;
    let next_offset = if has_next { offset + count } else { 0 };
    let t = type_name(item_type);
    J::obj(vec![
        (
            "$type",
            J::s(format!(
                "Asi.Soa.Core.DataContracts.PagedResult`1[[{t}, Asi.Contracts]], Asi.Contracts"
            )),
        ),
        (
            "Items",
            J::obj(vec![
                (
                    "$type",
                    J::s(format!(
                        "System.Collections.Generic.List`1[[{t}, Asi.Contracts]], mscorlib"
                    )),
                ),
                ("$values", J::Arr(items)),
            ]),
        ),
        ("Offset", J::Int(offset as i64)),
        ("Limit", J::Int(limit as i64)),
        ("Count", J::Int(count as i64)),
        ("TotalCount", J::Int(total as i64)),
        ("NextPageLink", J::Null),
        ("HasNext", J::Bool(has_next)),
        ("NextOffset", J::Int(next_offset as i64)),
    ])
}

/// A natural JSON value as a GenericPropertyData `Value` (None = omit `Value`).
pub fn typed_value(v: &Value) -> Option<J> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(J::s(s.clone())),
        Value::Bool(b) => Some(J::obj(vec![
            ("$type", J::s("System.Boolean")),
            ("$value", J::Bool(*b)),
        ])),
        Value::Number(n) => {
            let t = if let Some(i) = n.as_i64() {
                if i32::try_from(i).is_ok() {
                    "System.Int32"
                } else {
                    "System.Int64"
                }
            } else if n.is_u64() {
                "System.Int64"
            } else {
                "System.Decimal"
            };
            Some(J::obj(vec![
                ("$type", J::s(t)),
                ("$value", J::Val(v.clone())),
            ]))
        }
        // `{"$type": ..., "$value": ...}` written in a fixture passes through.
        other => Some(J::Val(other.clone())),
    }
}

/// One GenericPropertyData.
pub fn property(name: &str, v: &Value) -> J {
    let mut fields = vec![("$type", J::s(GENERIC_PROPERTY)), ("Name", J::s(name))];
    if let Some(val) = typed_value(v) {
        fields.push(("Value", val));
    }
    J::obj(fields)
}

/// GenericPropertyDataCollection.
pub fn properties(props: Vec<J>) -> J {
    J::obj(vec![
        ("$type", J::s(GENERIC_PROPERTY_COLLECTION)),
        ("$values", J::Arr(props)),
    ])
}

fn opt_value(s: &Option<String>) -> Value {
    match s {
        Some(v) => Value::String(v.clone()),
        None => Value::Null,
    }
}

/// An IQA result row.
pub fn iqa_row(
    entity_type: &str,
    result_row: usize,
    columns: &[String],
    row: &serde_json::Map<String, Value>,
) -> J {
    let mut props = vec![property(
        "ResultRow",
        &Value::String(result_row.to_string()),
    )];
    for c in columns {
        props.push(property(c, row.get(c).unwrap_or(&Value::Null)));
    }
    J::obj(vec![
        ("$type", J::s(GENERIC_ENTITY)),
        ("EntityTypeName", J::s(entity_type)),
        ("Properties", properties(props)),
    ])
}

fn identity(entity: &str, id: &str) -> J {
    J::obj(vec![
        ("$type", J::s("Asi.Soa.Core.DataContracts.IdentityData, Asi.Contracts")),
        ("EntityTypeName", J::s(entity)),
        (
            "IdentityElements",
            J::obj(vec![
                (
                    "$type",
                    J::s("System.Collections.ObjectModel.Collection`1[[System.String, mscorlib]], mscorlib"),
                ),
                ("$values", J::Arr(vec![J::s(id)])),
            ]),
        ),
    ])
}

/// Status code → (name, description).
fn status_name(code: &str) -> &'static str {
    match code.to_ascii_uppercase().as_str() {
        "A" => "Active",
        "I" => "Inactive",
        "S" => "Suspended",
        "D" => "Deceased",
        "P" => "Provisional",
        "X" => "Marked for purge",
        _ => "Other",
    }
}

fn party_status(code: &str) -> J {
    let name = status_name(code);
    J::obj(vec![
        (
            "$type",
            J::s("Asi.Soa.Membership.DataContracts.PartyStatusData, Asi.Contracts"),
        ),
        ("PartyStatusId", J::s(code)),
        ("Name", J::s(name)),
        ("Description", J::s(name)),
    ])
}

/// UserData.Party: a PartyReferenceData.
fn party_reference(u: &User) -> J {
    J::obj(vec![
        (
            "$type",
            J::s("Asi.Soa.Membership.DataContracts.PartyReferenceData, Asi.Contracts"),
        ),
        ("PartyId", J::s(&u.imis_id)),
        ("Id", J::s(&u.imis_id)),
        ("UniformId", J::s(&u.contact_key)),
        ("Status", party_status(&u.status)),
        ("Name", J::s(u.full_name())),
    ])
}

/// UserData.
pub fn user_data(u: &User) -> J {
    let roles: Vec<J> = u
        .roles
        .iter()
        .map(|r| {
            J::obj(vec![
                (
                    "$type",
                    J::s("Asi.Soa.Membership.DataContracts.RoleData, Asi.Contracts"),
                ),
                ("RoleId", J::s(r)),
                ("Description", J::s(r)),
            ])
        })
        .collect();
    let mut fields = vec![("$type", J::s(USER_DATA))];
    if let Some(d) = &u.effective_date {
        fields.push(("EffectiveDate", J::s(d)));
    }
    if let Some(d) = &u.expiration_date {
        fields.push(("ExpirationDate", J::s(d)));
    }
    fields.push(("IsAnonymous", J::Bool(false)));
    fields.push(("IsDisable", J::Bool(u.is_disabled)));
    fields.push((
        "Roles",
        J::obj(vec![
            (
                "$type",
                J::s("Asi.Soa.Membership.DataContracts.RoleDataCollection, Asi.Contracts"),
            ),
            ("$values", J::Arr(roles)),
        ]),
    ));
    fields.push(("UserId", J::s(&u.imis_id)));
    fields.push(("UserName", J::s(&u.username)));
    fields.push(("Party", party_reference(u)));
    J::obj(fields)
}

fn empty_collection(t: &str) -> J {
    J::obj(vec![("$type", J::s(t)), ("$values", J::Arr(vec![]))])
}

/// PersonData (docs/imis-contract.md §5.3).
pub fn person_data(u: &User) -> J {
    let mut person_name = vec![
        (
            "$type",
            J::s("Asi.Soa.Membership.DataContracts.PersonNameData, Asi.Contracts"),
        ),
        ("FirstName", J::s(&u.first_name)),
        ("LastName", J::s(&u.last_name)),
    ];
    person_name.push(("InformalName", J::s(&u.first_name)));
    person_name.push(("FullName", J::s(u.full_name())));

    let emails: Vec<J> = u
        .email
        .iter()
        .map(|e| {
            J::obj(vec![
                (
                    "$type",
                    J::s("Asi.Soa.Membership.DataContracts.EmailData, Asi.Contracts"),
                ),
                ("Address", J::s(e)),
                ("EmailType", J::s("_Primary")),
                ("IsPrimary", J::Bool(true)),
            ])
        })
        .collect();

    let attrs = vec![
        property("CustomerTypeCode", &Value::String(u.member_type.clone())),
        property("JoinDate", &opt_value(&u.join_date)),
        property("PaidThruDate", &opt_value(&u.paid_through)),
        property("Chapter", &opt_value(&u.chapter)),
    ];

    let mut fields = vec![
        ("$type", J::s(PERSON_DATA)),
        ("PersonName", J::obj(person_name)),
        ("AdditionalAttributes", properties(attrs)),
        (
            "Addresses",
            empty_collection(
                "Asi.Soa.Membership.DataContracts.FullAddressDataCollection, Asi.Contracts",
            ),
        ),
        (
            "AlternateIds",
            empty_collection(
                "Asi.Soa.Membership.DataContracts.AlternateIdDataCollection, Asi.Contracts",
            ),
        ),
        (
            "Emails",
            J::obj(vec![
                (
                    "$type",
                    J::s("Asi.Soa.Membership.DataContracts.EmailDataCollection, Asi.Contracts"),
                ),
                ("$values", J::Arr(emails)),
            ]),
        ),
        (
            "Phones",
            empty_collection("Asi.Soa.Membership.DataContracts.PhoneDataCollection, Asi.Contracts"),
        ),
        ("SortIsOverridden", J::Bool(false)),
        ("PartyId", J::s(&u.imis_id)),
        ("Id", J::s(&u.imis_id)),
        ("UniformId", J::s(&u.contact_key)),
        ("Status", party_status(&u.status)),
        ("Name", J::s(u.full_name())),
        ("Sort", J::s(format!("{}, {}", u.last_name, u.first_name))),
    ];
    if let Some(e) = &u.email {
        fields.push(("Email", J::s(e)));
    }
    J::obj(fields)
}

/// CsContact as GenericEntityData.
pub fn cs_contact(u: &User) -> J {
    let mut props = vec![
        property("ID", &Value::String(u.imis_id.clone())),
        property("ContactKey", &Value::String(u.contact_key.clone())),
        property("FirstName", &Value::String(u.first_name.clone())),
        property("LastName", &Value::String(u.last_name.clone())),
        property("FullName", &Value::String(u.full_name())),
        property("Email", &opt_value(&u.email)),
        property("Company", &opt_value(&u.company)),
        property("MemberType", &Value::String(u.member_type.clone())),
        property("Status", &Value::String(u.status.clone())),
        property("JoinDate", &opt_value(&u.join_date)),
        property("PaidThrough", &opt_value(&u.paid_through)),
        property("Chapter", &opt_value(&u.chapter)),
    ];
    for (k, v) in &u.cs_contact {
        props.push(property(k, v));
    }
    J::obj(vec![
        ("$type", J::s(GENERIC_ENTITY)),
        ("EntityTypeName", J::s("CsContact")),
        ("PrimaryParentEntityTypeName", J::s("Party")),
        ("Identity", identity("CsContact", &u.imis_id)),
        ("PrimaryParentIdentity", identity("Party", &u.imis_id)),
        ("Properties", properties(props)),
    ])
}

/// ValidationResultsData for 400 answers (docs/imis-contract.md §4.4, §5.0).
pub fn validation_error(summary: &str, field: Option<(&str, &str)>) -> J {
    let mut err = vec![(
        "$type",
        J::s("Asi.Soa.Core.DataContracts.ValidationResultData, Asi.Contracts"),
    )];
    if let Some((name, value)) = field {
        err.push(("FieldName", J::s(name)));
        err.push(("FieldValue", J::s(value)));
    }
    err.push(("FormattedMessage", J::s(summary)));
    err.push(("Message", J::s(summary)));
    J::obj(vec![
        (
            "$type",
            J::s("Asi.Soa.Core.DataContracts.ValidationResultsData, Asi.Contracts"),
        ),
        (
            "Errors",
            J::obj(vec![
                (
                    "$type",
                    J::s(
                        "Asi.Soa.Core.DataContracts.ValidationResultDataCollection, Asi.Contracts",
                    ),
                ),
                ("$values", J::Arr(vec![J::obj(err)])),
            ]),
        ),
        ("HasErrors", J::Bool(true)),
        ("HasWarnings", J::Bool(false)),
        ("IsValid", J::Bool(false)),
        (
            "Warnings",
            empty_collection(
                "Asi.Soa.Core.DataContracts.ValidationResultDataCollection, Asi.Contracts",
            ),
        ),
        ("Summary", J::s(summary)),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn render(j: Option<J>) -> Option<Value> {
        j.map(|j| serde_json::from_str(&j.render()).unwrap())
    }

    #[test]
    fn typed_wrappers() {
        assert_eq!(render(typed_value(&json!("x"))), Some(json!("x")));
        assert_eq!(render(typed_value(&json!(""))), Some(json!("")));
        assert_eq!(
            render(typed_value(&json!(true))),
            Some(json!({"$type":"System.Boolean","$value":true}))
        );
        assert_eq!(
            render(typed_value(&json!(42))),
            Some(json!({"$type":"System.Int32","$value":42}))
        );
        assert_eq!(
            render(typed_value(&json!(5_000_000_000i64))),
            Some(json!({"$type":"System.Int64","$value":5_000_000_000i64}))
        );
        assert_eq!(
            render(typed_value(&json!(120.5))),
            Some(json!({"$type":"System.Decimal","$value":120.5}))
        );
        assert!(typed_value(&Value::Null).is_none());
        let p: Value = serde_json::from_str(&property("Chapter", &Value::Null).render()).unwrap();
        assert!(p.get("Value").is_none());
        assert_eq!(p["Name"], "Chapter");
    }

    #[test]
    fn paging_fields() {
        let p: Value =
            serde_json::from_str(&paged(GENERIC_ENTITY, vec![J::Null; 3], 0, 3, 5).render())
                .unwrap();
        assert_eq!(p["HasNext"], true);
        assert_eq!(p["NextOffset"], 3);
        let p: Value =
            serde_json::from_str(&paged(GENERIC_ENTITY, vec![J::Null; 2], 3, 3, 5).render())
                .unwrap();
        assert_eq!(p["HasNext"], false);
        assert_eq!(p["NextOffset"], 0);
        assert!(p["NextPageLink"].is_null());
        assert_eq!(
            p["$type"],
            "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts]], Asi.Contracts"
        );
    }
}
