//! Runs the whole-request templates as browser flows and prints each answer (a check that the
//! templates of `src/request.rs` reach the deep paths): `cargo run --no-default-features --example flows`.
use edge_idp_fuzz::request::*;

fn step(template: u8, valid_session: bool) -> Step {
    Step {
        template: Some(template),
        method: Method::Get,
        host: Host::Acme,
        path: Path::Raw(String::new()),
        query: Vec::new(),
        raw_query: None,
        body: Body::Empty,
        headers: Vec::new(),
        session: if valid_session {
            SessionCookie::Valid {
                user: 0,
                participants: vec![
                    ParticipantChoice::Oidc(Text::Raw("demo-rp".into())),
                    ParticipantChoice::Saml(
                        Text::Raw("demo-sp".into()),
                        Text::Raw("jsmith".into()),
                    ),
                ],
                age: 5,
            }
        } else {
            SessionCookie::Jar
        },
        raw_cookie: None,
        auth: None,
        wait: 1,
    }
}

fn main() {
    let world = edge_idp_fuzz::targets::world();
    let flows: &[&[(u8, bool)]] = &[
        &[(0, true), (1, false), (3, false), (2, false), (4, true)],
        &[(0, false), (25, false), (1, false)],
        &[(5, true), (6, false)],
        &[(7, true), (8, true)],
        &[(9, true), (10, false)],
        &[(12, true), (13, true), (14, true), (15, true)],
        &[(12, false), (26, false)],
        &[(19, true), (22, false), (23, true), (24, true)],
        &[(20, true), (21, false)],
        &[(27, false), (28, true), (29, true), (30, false)],
        &[(32, false), (33, false), (34, false)],
        &[(11, true), (16, true), (17, true), (18, true), (35, false)],
    ];
    for flow in flows {
        let scenario = Scenario {
            imis: ImisChoice::Canned,
            spin: false,
            no_master_key: 0,
            steps: flow.iter().map(|(t, s)| step(*t, *s)).collect(),
        };
        let responses = run_scenario(world, &scenario, Focus::All);
        for ((t, _), r) in flow.iter().zip(&responses) {
            let body = String::from_utf8_lossy(&r.body);
            let title = body
                .split("<title>")
                .nth(1)
                .and_then(|b| b.split('<').next())
                .unwrap_or(&body[..body.len().min(90)]);
            println!(
                "{:>3} {} {} {:?} {}",
                t,
                TEMPLATES[*t as usize].2,
                r.status,
                r.header("location").map(|l| &l[..l.len().min(90)]),
                title
            );
        }
        println!();
    }
}
