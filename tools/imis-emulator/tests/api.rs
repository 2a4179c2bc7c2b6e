//! `{api}/api/*`: bearer auth, User, Party/Person, CsContact, IQA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{items, prop, props, Emu};
use serde_json::{json, Value};

const PAGED_GENERIC: &str = "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts]], Asi.Contracts";
const LIST_GENERIC: &str = "System.Collections.Generic.List`1[[Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts]], mscorlib";

fn iqa(emu: &Emu, token: &str, query: &str) -> common::Resp {
    emu.get_auth(&format!("/acme/api/IQA?{query}"), token)
}

fn assert_validation_400(r: &common::Resp, needle: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(v["IsValid"], false);
    assert_eq!(v["HasErrors"], true);
    assert!(
        v["Summary"].as_str().unwrap().contains(needle),
        "{}",
        r.body
    );
    assert!(v["Errors"]["$values"][0]["Message"].is_string());
}

#[test]
fn bearer_token_required() {
    let emu = Emu::start();
    let path = "/acme/api/User?UserName=jsmith";
    let r = emu.get(path);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(emu.get_auth(path, "not-a-token").status, 401);
    let token = emu.acme_service_token();
    let basic = format!("Basic {token}");
    assert_eq!(
        emu.req("GET", path, &[("Authorization", &basic)], None)
            .status,
        401
    );
    // Scheme is case-insensitive.
    let lower = format!("bearer {token}");
    assert_eq!(
        emu.req("GET", path, &[("Authorization", &lower)], None)
            .status,
        200
    );
    assert_eq!(emu.get_auth(path, &token).status, 200);
    // Tokens are per site.
    assert_eq!(
        emu.get_auth(
            "/globex/Asi.Scheduler_iMIS/api/User?UserName=jsmith",
            &token
        )
        .status,
        401
    );
    // Expired tokens are refused.
    emu.post_json("/__emulator/expire-tokens", &json!({}));
    assert_eq!(emu.get_auth(path, &token).status, 401);
    // Unknown entity, with a valid token.
    let token = emu.acme_service_token();
    assert_eq!(emu.get_auth("/acme/api/NoSuchEntity", &token).status, 404);
}

#[test]
fn user_lookup_found_and_not_found() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let r = emu.get_auth("/acme/API/user?username=JSMITH", &token);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v = r.json();
    assert_eq!(
        v["$type"],
        "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.UserData, Asi.Contracts]], Asi.Contracts"
    );
    assert_eq!(v["Count"], 1);
    assert_eq!(v["TotalCount"], 1);
    let u = &items(&v)[0];
    assert_eq!(
        u["$type"],
        "Asi.Soa.Membership.DataContracts.UserData, Asi.Contracts"
    );
    assert_eq!(u["UserId"], "101");
    assert_eq!(u["UserName"], "jsmith");
    assert_eq!(u["IsDisable"], false);
    assert_eq!(u["IsAnonymous"], false);
    assert_eq!(u["Party"]["Id"], "101");
    assert_eq!(u["Party"]["PartyId"], "101");
    assert_eq!(
        u["Party"]["UniformId"],
        "87EAD15E-B188-42E8-AE48-E9B8C2B24C94"
    );
    assert_eq!(u["Party"]["Name"], "Jane Smith");
    let roles: Vec<&str> = u["Roles"]["$values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["RoleId"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["Member", "RegisteredUser"]);
    assert!(u["EffectiveDate"].is_string());
    // eq: operator prefix.
    let v = emu
        .get_auth("/acme/api/User?UserName=eq:disabled", &token)
        .json();
    assert_eq!(items(&v)[0]["IsDisable"], true);
    // Email-style username.
    let v = emu
        .get_auth(
            "/acme/api/User?UserName=pparker%40acme-members.example",
            &token,
        )
        .json();
    assert_eq!(items(&v)[0]["UserId"], "104");

    let r = emu.get_auth("/acme/api/User?UserName=nobody", &token);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["Count"], 0);
    assert_eq!(v["TotalCount"], 0);
    assert_eq!(v["HasNext"], false);
    assert!(items(&v).is_empty());
    // Unsupported filter → 400.
    let r = emu.get_auth("/acme/api/User?MajorKey=1", &token);
    assert_validation_400(&r, "MajorKey");
}

#[test]
fn globex_api_under_scheduler_prefix() {
    let emu = Emu::start();
    let token = emu.globex_service_token();
    let v = emu
        .get_auth(
            "/globex/asi.scheduler_imis/api/user?UserName=hsimpson",
            &token,
        )
        .json();
    assert_eq!(items(&v)[0]["UserId"], "2004");
    // Same username, different person per site.
    let v = emu
        .get_auth(
            "/globex/Asi.Scheduler_iMIS/api/User?UserName=jsmith",
            &token,
        )
        .json();
    assert_eq!(items(&v)[0]["UserId"], "2001");
    assert_eq!(items(&v)[0]["Party"]["Name"], "John Smith");
    // The web root of a 2017 site has no API.
    assert_eq!(
        emu.get_auth("/globex/api/User?UserName=jsmith", &token)
            .status,
        404
    );
    let p = emu
        .get_auth("/globex/Asi.Scheduler_iMIS/api/Person/2004", &token)
        .json();
    assert_eq!(p["PersonName"]["FirstName"], "Homer");
}

#[test]
fn party_and_person() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    for entity in ["Party", "Person", "party"] {
        let r = emu.get_auth(&format!("/acme/api/{entity}/101"), &token);
        assert_eq!(r.status, 200, "{entity}");
        let p = r.json();
        assert_eq!(
            p["$type"],
            "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts"
        );
        assert!(p.get("Items").is_none(), "single object, no envelope");
        assert_eq!(p["Id"], "101");
        assert_eq!(p["PartyId"], "101");
        assert_eq!(p["UniformId"], "87EAD15E-B188-42E8-AE48-E9B8C2B24C94");
        assert_eq!(p["PersonName"]["FirstName"], "Jane");
        assert_eq!(p["PersonName"]["LastName"], "Smith");
        assert_eq!(p["Name"], "Jane Smith");
        assert_eq!(p["Email"], "jane.smith@acme-members.example");
        let e = &p["Emails"]["$values"][0];
        assert_eq!(e["Address"], "jane.smith@acme-members.example");
        assert_eq!(e["IsPrimary"], true);
        assert_eq!(p["Status"]["PartyStatusId"], "A");
        let attrs = json!({ "Properties": p["AdditionalAttributes"].clone() });
        assert_eq!(prop(&attrs, "CustomerTypeCode"), Some(json!("M")));
        assert_eq!(prop(&attrs, "JoinDate"), Some(json!("2015-03-01T00:00:00")));
    }
    assert_eq!(emu.get_auth("/acme/api/Party/999999", &token).status, 404);
    assert_eq!(
        emu.get_auth("/acme/api/Person/2004", &token).status,
        404,
        "globex id"
    );

    // Contact key lookup, case-insensitive GUID.
    let r = emu.get_auth(
        "/acme/api/Party?UniformId=87ead15e-b188-42e8-ae48-e9b8c2b24c94",
        &token,
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["$type"],
        "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.PartyData, Asi.Contracts]], Asi.Contracts"
    );
    assert_eq!(v["Count"], 1);
    assert_eq!(items(&v)[0]["Id"], "101");
    let v = emu
        .get_auth(
            "/acme/api/Party?UniformId=00000000-0000-0000-0000-000000000000",
            &token,
        )
        .json();
    assert_eq!(v["Count"], 0);
    // A user without an email has no Email and no Emails entries.
    let p = emu.get_auth("/acme/api/Person/105", &token).json();
    assert!(p.get("Email").is_none());
    assert!(p["Emails"]["$values"].as_array().unwrap().is_empty());
}

#[test]
fn cs_contact_is_generic_entity_with_typed_values() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let c = emu.get_auth("/acme/api/CsContact/101", &token).json();
    assert_eq!(
        c["$type"],
        "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
    );
    assert_eq!(c["EntityTypeName"], "CsContact");
    assert_eq!(c["Identity"]["IdentityElements"]["$values"][0], "101");
    assert_eq!(prop(&c, "MemberType"), Some(json!("M")));
    assert_eq!(prop(&c, "Status"), Some(json!("A")));
    assert_eq!(prop(&c, "PaidThrough"), Some(json!("2026-12-31T00:00:00")));
    assert_eq!(
        prop(&c, "RenewMonths"),
        Some(json!({"$type": "System.Int32", "$value": 12}))
    );
    assert_eq!(
        prop(&c, "IsCompany"),
        Some(json!({"$type": "System.Boolean", "$value": false}))
    );
    let b = emu.get_auth("/acme/api/CsContact/102", &token).json();
    assert_eq!(prop(&b, "MemberType"), Some(json!("NM")));
    assert_eq!(prop(&b, "Status"), Some(json!("S")));
    assert_eq!(prop(&b, "Chapter"), None, "null → no Value key");
    assert_eq!(emu.get_auth("/acme/api/CsContact/999", &token).status, 404);
}

#[test]
fn iqa_profile_row_shape() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let r = iqa(&emu, &token, "QueryName=$/EdgeIdP/Profile&Parameter=jsmith");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["$type"], PAGED_GENERIC);
    assert_eq!(v["Items"]["$type"], LIST_GENERIC);
    for (k, want) in [
        ("Offset", json!(0)),
        ("Limit", json!(100)),
        ("Count", json!(1)),
        ("TotalCount", json!(1)),
        ("NextPageLink", Value::Null),
        ("HasNext", json!(false)),
        ("NextOffset", json!(0)),
    ] {
        assert_eq!(v.get(k), Some(&want), "{k}");
    }
    let row = &items(&v)[0];
    assert_eq!(
        row["$type"],
        "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts"
    );
    assert_eq!(row["EntityTypeName"], "9");
    assert_eq!(
        row["Properties"]["$type"],
        "Asi.Soa.Core.DataContracts.GenericPropertyDataCollection, Asi.Contracts"
    );
    let names: Vec<String> = props(row).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec![
            "ResultRow",
            "FirstName",
            "LastName",
            "Email",
            "MemberType",
            "IsMember",
            "JoinDate",
            "Dues",
            "Chapter",
            "AccessRestrictionCode"
        ]
    );
    assert_eq!(
        row["Properties"]["$values"][0]["$type"],
        "Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts"
    );
    assert_eq!(prop(row, "ResultRow"), Some(json!("1")));
    assert_eq!(prop(row, "FirstName"), Some(json!("Jane")));
    assert_eq!(
        prop(row, "Email"),
        Some(json!("jane.smith@acme-members.example"))
    );
    assert_eq!(
        prop(row, "IsMember"),
        Some(json!({"$type": "System.Boolean", "$value": true}))
    );
    assert_eq!(prop(row, "JoinDate"), Some(json!("2015-03-01T00:00:00")));
    assert_eq!(
        prop(row, "Dues"),
        Some(json!({"$type": "System.Decimal", "$value": 120.5}))
    );
    assert_eq!(prop(row, "Chapter"), Some(json!("NORTH")));
    assert_eq!(prop(row, "AccessRestrictionCode"), Some(json!("A")));
    // ResultRow really is the first property on the wire.
    assert!(r.body.contains(r#""$values":[{"$type":"Asi.Soa.Core.DataContracts.GenericPropertyData, Asi.Contracts","Name":"ResultRow","Value":"1"}"#));

    // bwayne: null JoinDate and Chapter have no Value key; Dues 0.0 stays a decimal.
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/Profile&Parameter=bwayne").json();
    let row = &items(&v)[0];
    assert_eq!(prop(row, "Chapter"), None);
    assert_eq!(prop(row, "JoinDate"), None);
    assert_eq!(prop(row, "AccessRestrictionCode"), Some(json!("S")));
    assert_eq!(prop(row, "Dues").unwrap()["$type"], "System.Decimal");
    assert_eq!(
        prop(row, "IsMember"),
        Some(json!({"$type": "System.Boolean", "$value": false}))
    );
}

#[test]
fn iqa_keys_case_insensitive_query_path_alias_and_operator_prefix() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    for q in [
        "queryname=%24%2Fedgeidp%2Fprofile&parameter=eq%3AJSMITH",
        "QueryPath=$/EdgeIdP/Profile&PARAMETER=eq:jsmith",
        "QUERYNAME=$/EdgeIdP/Profile&Parameter=jsmith&LIMIT=5&offset=0",
    ] {
        let r = iqa(&emu, &token, q);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(r.json()["Count"], 1, "{q}");
    }
    let v = iqa(
        &emu,
        &token,
        "queryname=$/EdgeIdP/Profile&parameter=jsmith&limit=5",
    )
    .json();
    assert_eq!(v["Limit"], 5);
}

#[test]
fn iqa_roles_several_rows_and_empty_result() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/Roles&Parameter=tstark").json();
    assert_eq!(v["Count"], 3);
    let rows = items(&v);
    let got: Vec<(Value, Value)> = rows
        .iter()
        .map(|r| (prop(r, "ResultRow").unwrap(), prop(r, "Role").unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("1"), json!("Member")),
            (json!("2"), json!("RegisteredUser")),
            (json!("3"), json!("Board")),
        ]
    );
    let r = iqa(&emu, &token, "QueryName=$/EdgeIdP/Roles&Parameter=nobody");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["$type"], PAGED_GENERIC);
    assert!(items(&v).is_empty());
    assert_eq!(v["Count"], 0);
    assert_eq!(v["TotalCount"], 0);
    assert_eq!(v["HasNext"], false);
    assert_eq!(v["NextOffset"], 0);
}

#[test]
fn iqa_paging_over_two_pages() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let p1 = iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts&Limit=500").json();
    assert_eq!(p1["Offset"], 0);
    assert_eq!(p1["Limit"], 500);
    assert_eq!(p1["Count"], 500);
    assert_eq!(p1["TotalCount"], 620);
    assert_eq!(p1["HasNext"], true);
    assert_eq!(p1["NextOffset"], 500);
    let rows1 = items(&p1);
    assert_eq!(rows1.len(), 500);
    assert_eq!(prop(&rows1[0], "ResultRow"), Some(json!("1")));
    assert_eq!(prop(&rows1[499], "ResultRow"), Some(json!("500")));

    let p2 = iqa(
        &emu,
        &token,
        "QueryName=$/EdgeIdP/AllContacts&Limit=500&Offset=500",
    )
    .json();
    assert_eq!(p2["Offset"], 500);
    assert_eq!(p2["Count"], 120);
    assert_eq!(p2["TotalCount"], 620);
    assert_eq!(p2["HasNext"], false);
    assert_eq!(p2["NextOffset"], 0);
    let rows2 = items(&p2);
    assert_eq!(prop(&rows2[0], "ResultRow"), Some(json!("501")));
    assert_eq!(prop(&rows2[119], "ResultRow"), Some(json!("620")));
    // No overlap between pages.
    assert_ne!(prop(&rows1[499], "ID"), prop(&rows2[0], "ID"));
    assert_eq!(prop(&rows2[119], "ID"), Some(json!("30620")));

    // Limit > 500 is clamped; no Limit means 100; offset past the end is empty.
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts&Limit=1000").json();
    assert_eq!(v["Limit"], 500);
    assert_eq!(v["Count"], 500);
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts").json();
    assert_eq!(v["Limit"], 100);
    assert_eq!(v["Count"], 100);
    assert_eq!(v["NextOffset"], 100);
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts&Offset=700").json();
    assert_eq!(v["Count"], 0);
    assert_eq!(v["HasNext"], false);
    assert_eq!(v["NextOffset"], 0);
}

#[test]
fn iqa_errors_are_strict() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/NoSuchQuery"),
        "not found",
    );
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/Internal/StaffNotes"),
        "not available via the REST API",
    );
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/Profile"),
        "ArgumentFault",
    );
    assert_validation_400(
        &iqa(
            &emu,
            &token,
            "QueryName=$/EdgeIdP/Profile&Parameter=jsmith&Parameter=x",
        ),
        "ArgumentFault",
    );
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts&Parameter=x"),
        "ArgumentFault",
    );
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/Profile&Parameter="),
        "required",
    );
    assert_validation_400(&iqa(&emu, &token, "Parameter=jsmith"), "QueryName");
    assert_validation_400(
        &iqa(&emu, &token, "QueryName=$/EdgeIdP/AllContacts&Limit=abc"),
        "Limit",
    );
}

#[test]
fn iqa_two_prompts_in_order_with_optional_skip() {
    let emu = Emu::start();
    let token = emu.acme_service_token();
    let v = iqa(
        &emu,
        &token,
        "QueryName=$/EdgeIdP/RoleMembers&Parameter=Member&Parameter=",
    )
    .json();
    let users: Vec<Value> = items(&v)
        .iter()
        .map(|r| prop(r, "UserName").unwrap())
        .collect();
    assert_eq!(
        users,
        vec![
            json!("jsmith"),
            json!("disabled"),
            json!("pparker@acme-members.example"),
            json!("tstark")
        ]
    );
    let v = iqa(
        &emu,
        &token,
        "QueryName=$/EdgeIdP/RoleMembers&Parameter=Member&Parameter=STU",
    )
    .json();
    assert_eq!(v["Count"], 1);
    assert_eq!(
        prop(&items(&v)[0], "UserName"),
        Some(json!("pparker@acme-members.example"))
    );
    // Order matters: swapped parameters match nothing.
    let v = iqa(
        &emu,
        &token,
        "QueryName=$/EdgeIdP/RoleMembers&Parameter=STU&Parameter=Member",
    )
    .json();
    assert_eq!(v["Count"], 0);
}

#[test]
fn member_tokens_see_only_their_own_records() {
    let emu = Emu::start();
    let token = emu.password_token("/acme/token", "jsmith", "Member-Passw0rd");
    let v = emu
        .get_auth("/acme/api/User?UserName=jsmith", &token)
        .json();
    assert_eq!(v["Count"], 1);
    let v = emu
        .get_auth("/acme/api/User?UserName=bwayne", &token)
        .json();
    assert_eq!(v["Count"], 0);
    assert_eq!(emu.get_auth("/acme/api/Party/101", &token).status, 200);
    assert_eq!(emu.get_auth("/acme/api/Party/102", &token).status, 403);
    assert_eq!(emu.get_auth("/acme/api/CsContact/102", &token).status, 403);
    // IQA queries are not filtered by caller.
    let v = iqa(&emu, &token, "QueryName=$/EdgeIdP/Roles&Parameter=jsmith").json();
    assert_eq!(v["Count"], 2);
    // POST to an entity is refused.
    let h = format!("Bearer {token}");
    let r = emu.req(
        "POST",
        "/acme/api/User",
        &[("Authorization", &h), ("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 405);
}
