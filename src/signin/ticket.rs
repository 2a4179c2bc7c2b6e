//! Legacy mode's silent sign-in: a member already signed in to iMIS 2017 carries its forms
//! cookie to us (when iMIS shares it with the IdP's parent domain), and with the machine key the
//! tenant gave us we read the username in it instead of asking for the password again
//! (docs/forms-ticket.md). Any doubt about the cookie means the form, as if there were none.

use crate::audit::Outcome;
use crate::imis::forms_ticket::{MachineKey, TicketError};
use crate::platform::Platform;
use crate::tenant::config::FormsTicketSettings;
use crate::Ctx;

/// Seconds a ticket may claim to be issued in the future (iMIS and edge clocks differ).
const CLOCK_SKEW_SECS: i64 = 300;

/// The username in the request's iMIS forms cookie, when the tenant reads it and the cookie holds
/// a current ticket under the tenant's machine key. Refused cookies are audited (never their
/// value); a request without the cookie is not.
pub(super) fn username<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    let settings = ctx.tenant.imis.forms_ticket.as_ref()?;
    let cookie = ctx.req.cookie(&settings.cookie_name)?;
    let refused = |reason: &str| {
        ctx.audit(
            "signin.forms_ticket",
            Outcome::Refused,
            None,
            Some(reason.to_owned()),
        );
        None
    };
    let key = match machine_key(ctx, settings) {
        Ok(key) => key,
        Err(reason) => return refused(&reason),
    };
    let ticket = match key.open(&cookie) {
        Ok(ticket) => ticket,
        Err(e) => return refused(&e.to_string()),
    };
    let now = i64::try_from(ctx.platform.now().secs()).unwrap_or(i64::MAX);
    let max_age = settings.max_age_minutes.map(|m| i64::from(m) * 60);
    if !ticket.is_current(now, CLOCK_SKEW_SECS, max_age) {
        return refused("the ticket expired or is too old");
    }
    if ticket.name.chars().count() > 256 {
        return refused("the ticket's username is too long");
    }
    ctx.audit(
        "signin.forms_ticket",
        Outcome::Success,
        None,
        Some(format!("user {}", ticket.name)),
    );
    Some(ticket.name)
}

/// The tenant's machine key, opened; the reason (never a key) when it cannot be.
fn machine_key<P: Platform>(
    ctx: &Ctx<'_, P>,
    settings: &FormsTicketSettings,
) -> Result<MachineKey, String> {
    let imis = ctx.imis();
    let open = |sealed: &str| {
        imis.open_secret(sealed)
            .map_err(|_| "the machine key does not open".to_owned())
    };
    MachineKey::from_hex(
        settings.compatibility_mode,
        settings.validation,
        &open(&settings.validation_key)?,
        &open(&settings.decryption_key)?,
    )
    .map_err(|e: TicketError| e.to_string())
}
