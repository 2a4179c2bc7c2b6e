//! The XML signature verifier as a Spin component of its own. The IdP's component calls it by
//! service chaining (`http://xml-verifier.spin.internal/verify`) for signed POST-binding messages
//! only, so the verifier's code is not loaded for every request. Its route is private: only
//! components of the same application reach it. See `crates/xml-verify` for what it answers.

/// The `http_component` macro exports the entry point through generated WASI bindings, which
/// need `unsafe`; nothing else here does.
#[allow(unsafe_code)]
mod entry {
    use spin_sdk::http::{Method, Request, Response};
    use spin_sdk::http_component;

    #[http_component]
    fn handle(req: Request) -> Response {
        if *req.method() != Method::Post || req.path() != edge_idp_xml_verify::PATH {
            return Response::new(404, "not found");
        }
        let (status, answer) = edge_idp_xml_verify::answer(req.body());
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(answer)
            .build()
    }
}
