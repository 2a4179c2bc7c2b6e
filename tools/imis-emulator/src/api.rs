//! `{api}/api/*`: User, Party, Person, CsContact, IQA (docs/imis-contract.md §4, §5).

use std::time::SystemTime;

use crate::app::{message, App};
use crate::fixtures::{value_to_text, Prompt, Query, Row, Site, User};
use crate::http::{Request, Response};
use crate::json::J;
use crate::wire;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 500;

/// Who is calling.
struct Caller {
    user: usize,
    staff: bool,
}

impl Caller {
    fn can_see(&self, user_idx: usize) -> bool {
        self.staff || self.user == user_idx
    }
}

fn unauthorized() -> Response {
    message(401, "Authorization has been denied for this request.")
        .with_header("WWW-Authenticate", "Bearer")
}

fn forbidden() -> Response {
    message(403, "Authorization has been denied for this request.")
}

fn authenticate(app: &App, site_idx: usize, req: &Request) -> Result<Caller, Response> {
    let header = req.header("authorization").ok_or_else(unauthorized)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized());
    }
    let token = token.trim();
    let state = app.state();
    let grant = state.access.get(token).ok_or_else(unauthorized)?;
    if grant.site != site_idx || SystemTime::now() > grant.expires {
        return Err(unauthorized());
    }
    let staff = app.model.sites[site_idx].users[grant.user].staff;
    Ok(Caller {
        user: grant.user,
        staff,
    })
}

fn bad_request(summary: &str, field: Option<(&str, &str)>) -> Response {
    Response::json(400, &wire::validation_error(summary, field))
}

/// Handle `/api/{rest}`.
pub fn handle(app: &App, site_idx: usize, req: &Request, rest: &str) -> Response {
    let caller = match authenticate(app, site_idx, req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let rest = rest.trim_end_matches('/');
    let (entity, id) = match rest.split_once('/') {
        Some((e, i)) => (e, Some(i)),
        None => (rest, None),
    };
    if id.is_some_and(|i| i.is_empty() || i.contains('/')) {
        return no_resource(req);
    }
    let site = &app.model.sites[site_idx];
    let lower = entity.to_ascii_lowercase();
    let known = matches!(
        lower.as_str(),
        "user" | "party" | "person" | "cscontact" | "iqa"
    );
    if !known {
        return no_resource(req);
    }
    if !req.method.eq_ignore_ascii_case("GET") {
        return message(
            405,
            &format!(
                "The requested resource does not support http method '{}'.",
                req.method
            ),
        );
    }
    match (lower.as_str(), id) {
        ("user", None) => user_list(site, &caller, req),
        ("user", Some(id)) => single(site, &caller, id, wire::user_data),
        ("party", None) | ("person", None) => party_list(site, &caller, req),
        ("party", Some(id)) | ("person", Some(id)) => single(site, &caller, id, wire::person_data),
        ("cscontact", None) => cs_contact_list(site, &caller, req),
        ("cscontact", Some(id)) => single(site, &caller, id, wire::cs_contact),
        ("iqa", None) => iqa(site, &caller, req),
        _ => no_resource(req),
    }
}

fn no_resource(req: &Request) -> Response {
    message(
        404,
        &format!(
            "No HTTP resource was found that matches the request URI '{}'.",
            req.path
        ),
    )
}

fn single(site: &Site, caller: &Caller, id: &str, render: fn(&User) -> J) -> Response {
    let Some(u) = site.user_by_id(id) else {
        return message(
            404,
            &format!("No record was found for the identifier '{id}'."),
        );
    };
    if !caller.can_see(u) {
        return forbidden();
    }
    Response::json(200, &render(&site.users[u]))
}

/// Parse `Limit` / `Offset` (query keys case-insensitive).
fn paging(req: &Request) -> Result<(usize, usize), Response> {
    let limit = match req.query_first("limit").map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n <= 0 => DEFAULT_LIMIT,
            Ok(n) => (n as u64).min(MAX_LIMIT as u64) as usize,
            Err(_) => {
                return Err(bad_request(
                    &format!("BadRequest: ValidationError: Limit '{v}' is not a number."),
                    Some(("Limit", v)),
                ))
            }
        },
    };
    let offset = match req.query_first("offset").map(str::trim) {
        None | Some("") => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return Err(bad_request(
                    &format!("BadRequest: ValidationError: Offset '{v}' is not a valid offset."),
                    Some(("Offset", v)),
                ))
            }
        },
    };
    Ok((offset, limit))
}

/// Filter operators (docs/imis-contract.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    StartsWith,
    EndsWith,
    Contains,
}

/// `op:value` → (op, value); values without a known operator are `eq`.
fn parse_op(v: &str) -> (Op, &str) {
    if let Some((op, rest)) = v.split_once(':') {
        let op = match op.trim().to_ascii_lowercase().as_str() {
            "eq" | "equal" | "==" => Some(Op::Eq),
            "ne" | "notequal" | "!=" => Some(Op::Ne),
            "startswith" => Some(Op::StartsWith),
            "endswith" => Some(Op::EndsWith),
            "contains" => Some(Op::Contains),
            _ => None,
        };
        if let Some(op) = op {
            return (op, rest);
        }
    }
    (Op::Eq, v)
}

fn op_matches(op: Op, candidate: &str, wanted: &str) -> bool {
    let c = candidate.to_lowercase();
    let w = wanted.to_lowercase();
    match op {
        Op::Eq => c == w,
        Op::Ne => c != w,
        Op::StartsWith => c.starts_with(&w),
        Op::EndsWith => c.ends_with(&w),
        Op::Contains => c.contains(&w),
    }
}

type Field = fn(&User) -> Option<String>;

/// Generic entity list: check filter keys, filter visible users, page.
fn entity_list(
    site: &Site,
    caller: &Caller,
    req: &Request,
    entity: &str,
    fields: &[(&str, Field)],
    item_type: &str,
    render: fn(&User) -> J,
) -> Response {
    let (offset, limit) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut filters: Vec<(Field, Op, &str)> = Vec::new();
    for (k, v) in &req.query {
        if k.eq_ignore_ascii_case("limit")
            || k.eq_ignore_ascii_case("offset")
            || k.eq_ignore_ascii_case("orderby")
        {
            continue;
        }
        let Some((_, f)) = fields.iter().find(|(name, _)| name.eq_ignore_ascii_case(k)) else {
            return bad_request(
                &format!(
                    "BadRequest: ValidationError: '{k}' is not a filterable property of {entity}."
                ),
                Some((k, v)),
            );
        };
        let (op, value) = parse_op(v);
        filters.push((*f, op, value));
    }
    let matched: Vec<&User> = site
        .users
        .iter()
        .enumerate()
        .filter(|(i, _)| caller.can_see(*i))
        .map(|(_, u)| u)
        .filter(|u| {
            filters
                .iter()
                .all(|(f, op, value)| op_matches(*op, &f(u).unwrap_or_default(), value))
        })
        .collect();
    let total = matched.len();
    let items: Vec<J> = matched
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(render)
        .collect();
    Response::json(200, &wire::paged(item_type, items, offset, limit, total))
}

fn user_list(site: &Site, caller: &Caller, req: &Request) -> Response {
    let fields: [(&str, Field); 2] = [
        ("UserName", |u| Some(u.username.clone())),
        ("UserId", |u| Some(u.imis_id.clone())),
    ];
    entity_list(
        site,
        caller,
        req,
        "User",
        &fields,
        wire::USER_DATA,
        wire::user_data,
    )
}

fn party_list(site: &Site, caller: &Caller, req: &Request) -> Response {
    let fields: [(&str, Field); 7] = [
        ("Id", |u| Some(u.imis_id.clone())),
        ("PartyId", |u| Some(u.imis_id.clone())),
        ("UniformId", |u| Some(u.contact_key.clone())),
        ("Email", |u| u.email.clone()),
        ("FirstName", |u| Some(u.first_name.clone())),
        ("LastName", |u| Some(u.last_name.clone())),
        ("CustomerTypeCode", |u| Some(u.member_type.clone())),
    ];
    entity_list(
        site,
        caller,
        req,
        "Party",
        &fields,
        wire::PARTY_DATA,
        wire::person_data,
    )
}

fn cs_contact_list(site: &Site, caller: &Caller, req: &Request) -> Response {
    let fields: [(&str, Field); 4] = [
        ("ID", |u| Some(u.imis_id.clone())),
        ("Email", |u| u.email.clone()),
        ("MemberType", |u| Some(u.member_type.clone())),
        ("Status", |u| Some(u.status.clone())),
    ];
    entity_list(
        site,
        caller,
        req,
        "CsContact",
        &fields,
        wire::GENERIC_ENTITY,
        wire::cs_contact,
    )
}

/// The query the request names, once it exists, is open to REST and the caller may run it.
fn iqa_query<'s>(site: &'s Site, caller: &Caller, req: &Request) -> Result<&'s Query, Response> {
    let name = req
        .query_first("QueryName")
        .or_else(|| req.query_first("QueryPath"))
        .unwrap_or("")
        .trim();
    if name.is_empty() {
        return Err(bad_request(
            "BadRequest: ValidationError: QueryName is required.",
            Some(("QueryName", "")),
        ));
    }
    let Some(query) = site.query(name) else {
        return Err(bad_request(
            &format!("BadRequest: ValidationError: The query '{name}' was not found."),
            Some(("QueryName", name)),
        ));
    };
    if !query.rest_enabled {
        return Err(bad_request(
            &format!(
                "BadRequest: ValidationError: The query '{name}' is not available via the REST API."
            ),
            Some(("QueryName", name)),
        ));
    }
    if query.staff_only && !caller.staff {
        return Err(forbidden());
    }
    Ok(query)
}

/// One filter per prompt given a value; iMIS wants exactly one `Parameter` per prompt, an empty
/// one skipping an optional prompt and faulting on a required one.
fn iqa_filters<'q, 'r>(
    query: &'q Query,
    req: &'r Request,
) -> Result<Vec<(&'q Prompt, Op, &'r str)>, Response> {
    let params = req.query_all("Parameter");
    if params.len() != query.prompts.len() {
        return Err(bad_request(
            &format!(
                "ArgumentFault: Incorrect number of parameters: the query '{}' has {} prompt(s) but {} Parameter value(s) were supplied.",
                query.path,
                query.prompts.len(),
                params.len()
            ),
            Some(("Parameter", &params.join(","))),
        ));
    }
    let mut filters = Vec::new();
    for (prompt, raw) in query.prompts.iter().zip(params) {
        let (op, value) = parse_op(raw);
        if value.is_empty() {
            if prompt.required {
                return Err(bad_request(
                    &format!(
                        "ArgumentFault: A value is required for the prompt '{}' of the query '{}'.",
                        prompt.name, query.path
                    ),
                    Some(("Parameter", raw)),
                ));
            }
            continue;
        }
        filters.push((prompt, op, value));
    }
    Ok(filters)
}

/// Whether a row passes every filter: a prompt bound to a column compares that column's value,
/// one without compares the row's precomputed match text for the prompt.
fn iqa_row_matches(row: &Row, filters: &[(&Prompt, Op, &str)]) -> bool {
    filters.iter().all(|(prompt, op, value)| {
        let candidate = match &prompt.column {
            Some(col) => row.values.get(col).map(value_to_text),
            None => row.matches.get(&prompt.name.to_ascii_lowercase()).cloned(),
        };
        candidate.is_some_and(|c| op_matches(*op, &c, value))
    })
}

fn iqa(site: &Site, caller: &Caller, req: &Request) -> Response {
    let query = match iqa_query(site, caller, req) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (offset, limit) = match paging(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filters = match iqa_filters(query, req) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let matched: Vec<_> = query
        .rows
        .iter()
        .filter(|row| iqa_row_matches(row, &filters))
        .collect();
    let total = matched.len();
    let items: Vec<J> = matched
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, row)| wire::iqa_row(&query.entity_type_name, i + 1, &query.columns, &row.values))
        .collect();
    Response::json(
        200,
        &wire::paged(wire::GENERIC_ENTITY, items, offset, limit, total),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators() {
        assert_eq!(parse_op("eq:smith"), (Op::Eq, "smith"));
        assert_eq!(parse_op("EQ:smith"), (Op::Eq, "smith"));
        assert_eq!(parse_op("startsWith:sm"), (Op::StartsWith, "sm"));
        assert_eq!(parse_op("smith"), (Op::Eq, "smith"));
        assert_eq!(
            parse_op("2020-01-01T10:00:00"),
            (Op::Eq, "2020-01-01T10:00:00")
        );
        assert!(op_matches(Op::Eq, "JSmith", "jsmith"));
        assert!(!op_matches(Op::Ne, "JSmith", "jsmith"));
        assert!(op_matches(Op::Contains, "jane@example.org", "@EXAMPLE"));
    }
}
