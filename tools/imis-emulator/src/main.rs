//! `imis-emulator`: a native, fixture-driven emulator of the parts of iMIS that the edge
//! identity provider talks to — `POST /token`, the REST API (`/api/User`, `/api/Party`,
//! `/api/Person`, `/api/CsContact`, `/api/IQA`), the RiSE page with the Single Sign On
//! content item, and the forms-authentication logout page — for several sites at once.
//!
//! See `tools/imis-emulator/README.md` for the CLI, fixture format and control API.

mod api;
mod app;
mod control;
mod fixtures;
mod http;
mod json;
mod state;
mod token;
mod util;
mod web;
mod wire;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str =
    "usage: imis-emulator [--addr HOST:PORT] --fixtures FILE.json [--var NAME=VALUE ...]

  --addr      listen address (default 127.0.0.1:8790; port 0 picks a free port)
  --fixtures  fixture file (see tools/imis-emulator/README.md)
  --var       value for a ${NAME} placeholder in the fixtures (repeatable);
              placeholders not given here are taken from the environment";

struct Args {
    addr: String,
    fixtures: String,
    vars: HashMap<String, String>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut addr = "127.0.0.1:8790".to_string();
    let mut fixtures = None;
    let mut vars = HashMap::new();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => addr = value("--addr")?,
            "--fixtures" => fixtures = Some(value("--fixtures")?),
            "--var" => {
                let kv = value("--var")?;
                let Some((k, v)) = kv.split_once('=') else {
                    return Err(format!("--var expects NAME=VALUE, got {kv:?}"));
                };
                vars.insert(k.to_string(), v.to_string());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let fixtures = fixtures.ok_or("--fixtures is required")?;
    Ok(Some(Args {
        addr,
        fixtures,
        vars,
    }))
}

fn run() -> Result<(), String> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let text = std::fs::read_to_string(&args.fixtures)
        .map_err(|e| format!("cannot read {}: {e}", args.fixtures))?;
    let model = fixtures::load(&text, &args.vars).map_err(|e| format!("{}: {e}", args.fixtures))?;
    let listener = TcpListener::bind(&args.addr)
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    for s in &model.sites {
        eprintln!(
            "imis-emulator: site {} ({}): web {}/ api {}/ — {} users, {} client apps, {} queries",
            s.name,
            s.style,
            s.web_prefix,
            s.api_prefix,
            s.users.len(),
            s.client_apps.len(),
            s.queries.len()
        );
    }
    let app = Arc::new(app::App::new(model));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "imis-emulator listening on http://{local}");
    let _ = out.flush();
    http::serve(listener, app);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imis-emulator: {e}");
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
