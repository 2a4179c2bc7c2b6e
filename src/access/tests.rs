//! Unit tests of the access rules: the IQAs' shapes, the No Access Mapping, the decisions.

#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::json;

fn row(columns: &[(&str, Value)]) -> Row {
    columns
        .iter()
        .map(|(n, v)| ((*n).to_string(), v.clone()))
        .collect()
}

#[test]
fn a_profile_iqa_returns_one_row_of_at_least_one_column() {
    let one = row(&[("FirstName", json!("Jane"))]);
    assert_eq!(profile_row(vec![one.clone()]).unwrap(), one);
    for (rows, says) in [
        (vec![], "returned 0 rows"),
        (vec![one.clone(), one.clone()], "returned 2 rows"),
        (vec![Row::new()], "at least one"),
    ] {
        let err = profile_row(rows).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(err.audit_event(), "imis.query_invalid");
    }
}

#[test]
fn a_role_iqa_returns_exactly_one_column() {
    let roles = roles_of(vec![
        row(&[("Role", json!("Member"))]),
        row(&[("Anything", json!("SysAdmin"))]),
        row(&[("Role", json!(""))]),
        row(&[("Role", Value::Null)]),
    ])
    .unwrap();
    assert_eq!(roles, vec!["Member", "SysAdmin"]);
    assert_eq!(roles_of(vec![]).unwrap(), Vec::<String>::new());
    let err = roles_of(vec![row(&[
        ("Role", json!("Member")),
        ("MemberType", json!("M")),
    ])])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Role IQA returned 2 columns (Role, MemberType); it must return exactly one, the role"
    );
    assert!(roles_of(vec![Row::new()]).is_err(), "no column is not one");
}

#[test]
fn no_access_codes_match_exactly() {
    let profile = |code: &str| Profile {
        columns: vec![(ACCESS_COLUMN.into(), json!(code))],
        roles: vec![],
    };
    let rules = || parse_mapping("S\n  X|https://example.org/x  ");
    assert_eq!(decide(rules(), profile("S")), Access::NoAccessPage);
    assert_eq!(
        decide(rules(), profile("X")),
        Access::Redirect("https://example.org/x".into()),
        "the mapping's lines are trimmed"
    );
    for other in ["s", "S ", " S", "SS", "x"] {
        assert!(
            matches!(decide(rules(), profile(other)), Access::Granted(_)),
            "{other:?} is not S or X"
        );
    }
}

#[test]
fn mappings_parse_and_refuse_bad_lines() {
    let rules =
        parse_mapping("S\n\nX|https://example.org/\nI|https://example.org/reactivate").unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[2].redirect.as_deref(),
        Some("https://example.org/reactivate")
    );
    assert_eq!(
        parse_mapping("A|https://x.org/a|b"),
        Err(MappingError::TooManyPipes(1))
    );
    assert_eq!(
        parse_mapping("ok\nA|http://x.org/"),
        Err(MappingError::NotHttps(2))
    );
    assert_eq!(
        parse_mapping("A|javascript:alert(1)"),
        Err(MappingError::NotHttps(1))
    );
    assert_eq!(
        parse_mapping("|https://x.org/"),
        Err(MappingError::EmptyCode(1))
    );
}

#[test]
fn decisions_follow_the_access_column() {
    let profile = |code: Value| Profile {
        columns: vec![(ACCESS_COLUMN.into(), code)],
        roles: vec![],
    };
    let rules = || parse_mapping("S\nI|https://example.org/reactivate");
    assert_eq!(decide(rules(), profile(json!("S"))), Access::NoAccessPage);
    assert_eq!(
        decide(rules(), profile(json!("I"))),
        Access::Redirect("https://example.org/reactivate".into())
    );
    assert!(matches!(
        decide(rules(), profile(json!("A"))),
        Access::Granted(_)
    ));
    assert!(matches!(
        decide(rules(), profile(Value::Null)),
        Access::Granted(_)
    ));
    assert_eq!(
        decide(Err(MappingError::TooManyPipes(1)), profile(json!("A"))),
        Access::NoAccessPage
    );
    // A profile without the column cannot be checked: nobody passes.
    let without_column = Profile {
        columns: vec![("FirstName".into(), json!("Jane"))],
        roles: vec![],
    };
    assert_eq!(
        decide(rules(), without_column.clone()),
        Access::NoAccessPage
    );
    assert!(matches!(
        decide(Ok(vec![]), without_column),
        Access::Granted(_)
    ));
}

#[test]
fn a_mapping_needs_a_profile_iqa() {
    let settings = |profile_iqa, mapping| AccessSettings {
        profile_iqa,
        role_iqa: None,
        no_access_mapping: mapping,
    };
    assert_eq!(
        settings(None, Some("S")).check(),
        Err(MappingError::NoProfileIqa)
    );
    assert_eq!(
        settings(Some(""), Some("S")).check(),
        Err(MappingError::NoProfileIqa)
    );
    assert_eq!(settings(Some("$/P"), Some("S")).check(), Ok(()));
    assert_eq!(settings(None, Some("\n")).check(), Ok(()));
    assert_eq!(settings(None, None).check(), Ok(()));
    assert_eq!(
        settings(Some("$/P"), Some("A|http://x")).check(),
        Err(MappingError::NotHttps(1))
    );
}
