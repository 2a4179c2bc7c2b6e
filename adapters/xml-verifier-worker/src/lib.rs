//! The XML signature verifier as a Worker of its own. The IdP's Worker calls it through the
//! service binding `XML_VERIFIER` for signed POST-binding messages only, so the verifier's code
//! is not part of the bundle every request loads. It has no routes and no `workers.dev` address:
//! only a service binding reaches it. See `crates/xml-verify` for what it answers.

use worker::{console_log, event, Context, Env, Method, Request, Response};

#[event(start)]
fn start() {
    // A panic must never surface as a stack dump: it is logged as one line, as the IdP's Worker
    // does, and the IdP's call fails or times out, so the message is refused.
    std::panic::set_hook(Box::new(|info| {
        console_log!("{{\"kind\":\"panic\",\"message\":{:?}}}", info.to_string());
    }));
}

#[event(fetch)]
async fn fetch(mut req: Request, _env: Env, _ctx: Context) -> worker::Result<Response> {
    if req.method() != Method::Post || req.path() != edge_idp_xml_verify::PATH {
        return Response::error("not found", 404);
    }
    let body = req.bytes().await?;
    let (status, answer) = edge_idp_xml_verify::answer(&body);
    let resp = Response::ok(answer)?.with_status(status);
    resp.headers().set("content-type", "application/json")?;
    Ok(resp)
}
