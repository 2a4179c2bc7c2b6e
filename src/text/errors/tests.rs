#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::http::Request;
use crate::platform::HttpMethod;
use crate::testing::*;
use crate::Idp;

const HOST: &str = "acme.localhost";

fn get(p: &FakePlatform, host: &str, path: &str, accept_language: Option<&str>) -> (u16, String) {
    let mut req = Request::new(HttpMethod::Get, host, path);
    if let Some(value) = accept_language {
        req.headers.push(("accept-language".into(), value.into()));
    }
    let resp = block_on(Idp::new().handle(req, p));
    (
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn acme() -> FakePlatform {
    let p = FakePlatform::default();
    add_tenant(&p, "acme", HOST, "http://127.0.0.1:1/acme");
    p
}

#[test]
fn an_error_page_is_in_the_member_s_language() {
    let p = acme();
    let (status, fr) = get(&p, HOST, "/nowhere", Some("fr-CA,fr;q=0.9,en;q=0.5"));
    assert_eq!(status, 404);
    assert!(fr.contains("<html lang=\"fr\">"), "{fr}");
    assert!(fr.contains("<h1>Page introuvable</h1>"), "{fr}");
    assert!(
        fr.contains("<p>Il n’y a aucune page à cette adresse.</p>"),
        "{fr}"
    );
    assert!(
        fr.contains(">Réessayer</a>") && fr.contains("Référence :"),
        "{fr}"
    );
    assert!(!fr.contains("Page not found"), "{fr}");

    let (status, es) = get(&p, HOST, "/nowhere", Some("es-MX"));
    assert_eq!(status, 404);
    assert!(es.contains("<h1>Página no encontrada</h1>"), "{es}");
    assert!(
        es.contains("<p>No hay ninguna página en esta dirección.</p>"),
        "{es}"
    );

    let (_, en) = get(&p, HOST, "/nowhere", None);
    assert!(en.contains("<h1>Page not found</h1>"), "{en}");
    assert!(
        en.contains("<p>There is no page at this address.</p>"),
        "{en}"
    );
}

#[test]
fn the_protocol_s_reason_is_quoted_as_it_is_in_a_translated_frame() {
    let p = acme();
    let path = "/oidc/authorize?response_type=code&scope=openid";
    let (status, es) = get(&p, HOST, path, Some("es"));
    assert_eq!(status, 400);
    assert!(
        es.contains("<h1>Este enlace de inicio de sesión no es válido</h1>"),
        "{es}"
    );
    assert!(
        es.contains(
            "La aplicación que le envió aquí hizo una solicitud no válida: client_id is missing."
        ),
        "{es}"
    );
    let (_, fr) = get(&p, HOST, path, Some("fr"));
    assert!(
        fr.contains("L’application qui vous a envoyé ici a fait une demande non valide : client_id is missing."),
        "{fr}"
    );
    let (_, en) = get(&p, HOST, path, None);
    assert!(
        en.contains(
            "The application that sent you here made an invalid request: client_id is missing."
        ),
        "{en}"
    );
}

#[test]
fn a_page_without_a_tenant_follows_the_member_s_language_else_english() {
    let p = FakePlatform::default();
    let (status, es) = get(&p, "nobody.localhost", "/", Some("es"));
    assert_eq!(status, 404);
    assert!(es.contains("<html lang=\"es\">") && es.contains("<h1>Sitio no encontrado</h1>"));
    assert!(es.contains("Esta dirección no está configurada para el inicio de sesión único."));
    let (_, en) = get(&p, "nobody.localhost", "/", Some("de"));
    assert!(en.contains("<html lang=\"en\">") && en.contains("<h1>Site not found</h1>"));
}

#[test]
fn a_tenant_s_wording_of_an_error_text_is_used_and_escaped() {
    let p = FakePlatform::default();
    let mut tenant = tenant_json("acme", HOST, "http://127.0.0.1:1/acme");
    tenant["pages"] = serde_json::json!({"texts": {"fr": {
        "error.title.page_not_found": "Rien ici",
        "error.text.no_page": "Revenez à <l’accueil>."
    }}});
    p.put_kv(
        &format!("host:{HOST}"),
        &serde_json::json!({"schema_version": 1, "tenant": "acme"}).to_string(),
    );
    p.put_kv("tenant:acme", &tenant.to_string());
    let (status, fr) = get(&p, HOST, "/nowhere", Some("fr"));
    assert_eq!(status, 404);
    assert!(fr.contains("<h1>Rien ici</h1>"), "{fr}");
    assert!(fr.contains("<p>Revenez à &lt;l’accueil&gt;.</p>"), "{fr}");
    let (_, es) = get(&p, HOST, "/nowhere", Some("es"));
    assert!(
        es.contains("<h1>Página no encontrada</h1>"),
        "other languages keep theirs"
    );
}
