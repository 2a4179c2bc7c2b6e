//! The words of the member-facing pages in English, French and Spanish. A request's language is
//! the member's first choice among these (`Accept-Language`, q-values honoured), else the
//! tenant's `pages.language`; a tenant may replace any text in any language (`pages.texts`,
//! keyed by [`Text::key`]).
//!
//! Covered: the page frame (account links, help), the sign-in form and its errors, sign-out,
//! signed-out, home, No Access, consent, auto-post, and error pages: their frame here, their
//! titles and explanations in [`errors`]. Only the protocol's reason quoted in some explanations
//! stays as the protocol wrote it.

use std::collections::BTreeMap;

use serde::Deserialize;

mod errors;

pub(crate) use errors::{ErrorMessage, ErrorTitle, Explanation};

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Lang {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the order of this file's columns.
    const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// The BCP 47 primary subtag (`<html lang>`, the keys of `pages.texts`).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::Es => "es",
        }
    }

    /// The language of a tag such as `fr-CA` (its primary subtag), if it is one of ours.
    fn of_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.code()))
    }

    /// The member's most preferred of ours in an `Accept-Language` value (the first listed wins
    /// a tie; `q=0` means "not this one"), else `default`.
    pub(crate) fn negotiate(accept_language: Option<&str>, default: Lang) -> Lang {
        let mut best: Option<(Lang, u16)> = None;
        for item in accept_language.unwrap_or_default().split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Self::of_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, quality);
            if q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map_or(default, |(lang, _)| lang)
    }
}

/// A `q` value in thousandths (`0.8` → 800): `0` to `0.999` or `1` to `1.000` (RFC 9110
/// §12.4.2); anything else counts as 0.
fn quality(text: &str) -> u16 {
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    match whole {
        "1" if frac.bytes().all(|b| b == b'0') => 1000,
        "0" => format!("{frac:0<3}").parse().unwrap_or(0),
        _ => 0,
    }
}

/// A tenant's replacements: language code → text key → text.
pub(crate) type Overrides = BTreeMap<String, BTreeMap<String, String>>;

/// One text of the pages.
// Variants name the texts of the pages (`SignedOutText` is the signed-out page's text), so some
// end in `Text`.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// The account navigation's label.
    AccountNav,
    /// Link to the tenant's create-account page.
    CreateAccount,
    /// Link to the tenant's forgot-password page.
    ForgotPassword,
    /// Link to the tenant's forgot-username page.
    ForgotUsername,
    /// The sign-out link and button.
    SignOut,
    /// Before the support e-mail address.
    NeedHelp,
    /// Sign-in form heading, without an app.
    SignInTitle,
    /// Sign-in form heading before the app's name.
    SignInToContinue,
    /// Label of the username field.
    Username,
    /// Label of the password field.
    Password,
    /// The sign-in button.
    SignInButton,
    /// Under the form; `{org}` is the organisation.
    SignInHint,
    /// Form error: a field was empty.
    SignInMissing,
    /// Form error: wrong username or password.
    SignInWrong,
    /// Form error: throttled.
    SignInThrottled,
    /// Sign-out confirmation: `{app}` asked.
    SignOutAskedBy,
    /// Sign-out confirmation question; `{org}` is the organisation.
    SignOutQuestion,
    /// Signed-out page heading.
    SignedOutTitle,
    /// Signed-out page text.
    SignedOutText,
    /// Link back to sign-in.
    SignInAgain,
    /// Home page title.
    HomeTitle,
    /// Home page, signed in; `{name}` is the member.
    SignedInAs,
    /// Home page, signed out; `{org}` is the organisation.
    HomeIntro,
    /// The sign-in link of the home page.
    SignInLink,
    /// No Access heading.
    NoAccessTitle,
    /// No Access text.
    NoAccessText,
    /// No Access: the service asked for.
    Service,
    /// A link to the home page.
    Home,
    /// Consent heading; `{app}` is the client.
    ConsentTitle,
    /// Consent text; `{app}` is the client.
    ConsentText,
    /// Consent: the member's identifier.
    ConsentSub,
    /// Consent: name claims.
    ConsentName,
    /// Consent: username claim.
    ConsentUsername,
    /// Consent: e-mail claim.
    ConsentEmail,
    /// Consent: roles claim.
    ConsentRoles,
    /// Consent: any other claim; `{claim}` is its name.
    ConsentOther,
    /// Consent: a refresh token (`offline_access`), access that outlasts the sign-in.
    ConsentOffline,
    /// Consent: allow.
    Allow,
    /// Consent: deny.
    Deny,
    /// Auto-post page heading.
    SigningIn,
    /// Auto-post page without JavaScript.
    PressContinue,
    /// Auto-post button.
    Continue,
    /// Error page retry link.
    TryAgain,
    /// Error page, before the request id.
    Reference,
    /// An error page's heading.
    ErrorTitle(ErrorTitle),
    /// An error page's explanation.
    ErrorMessage(ErrorMessage),
}

impl From<ErrorTitle> for Text {
    fn from(title: ErrorTitle) -> Self {
        Text::ErrorTitle(title)
    }
}

impl From<ErrorMessage> for Text {
    fn from(message: ErrorMessage) -> Self {
        Text::ErrorMessage(message)
    }
}

impl Text {
    /// Every text but those of error pages.
    #[cfg(test)]
    const PAGE: [Text; 44] = [
        Text::AccountNav,
        Text::CreateAccount,
        Text::ForgotPassword,
        Text::ForgotUsername,
        Text::SignOut,
        Text::NeedHelp,
        Text::SignInTitle,
        Text::SignInToContinue,
        Text::Username,
        Text::Password,
        Text::SignInButton,
        Text::SignInHint,
        Text::SignInMissing,
        Text::SignInWrong,
        Text::SignInThrottled,
        Text::SignOutAskedBy,
        Text::SignOutQuestion,
        Text::SignedOutTitle,
        Text::SignedOutText,
        Text::SignInAgain,
        Text::HomeTitle,
        Text::SignedInAs,
        Text::HomeIntro,
        Text::SignInLink,
        Text::NoAccessTitle,
        Text::NoAccessText,
        Text::Service,
        Text::Home,
        Text::ConsentTitle,
        Text::ConsentText,
        Text::ConsentSub,
        Text::ConsentName,
        Text::ConsentUsername,
        Text::ConsentEmail,
        Text::ConsentRoles,
        Text::ConsentOther,
        Text::ConsentOffline,
        Text::Allow,
        Text::Deny,
        Text::SigningIn,
        Text::PressContinue,
        Text::Continue,
        Text::TryAgain,
        Text::Reference,
    ];

    /// Every text, in the order the kv-schema lists their keys.
    #[cfg(test)]
    fn all() -> impl Iterator<Item = Text> {
        Self::PAGE
            .into_iter()
            .chain(ErrorTitle::ALL.into_iter().map(Text::from))
            .chain(ErrorMessage::ALL.into_iter().map(Text::from))
    }

    /// Its key in a tenant's `pages.texts`, and its English, French and Spanish wording.
    fn entry(self) -> (&'static str, [&'static str; 3]) {
        match self {
            Text::AccountNav => ("account.nav", ["Your account", "Votre compte", "Su cuenta"]),
            Text::CreateAccount => ("account.create", ["Create an account", "Créer un compte", "Crear una cuenta"]),
            Text::ForgotPassword => ("account.forgot_password", ["Forgot your password?", "Mot de passe oublié ?", "¿Olvidó su contraseña?"]),
            Text::ForgotUsername => ("account.forgot_username", ["Forgot your username?", "Nom d’utilisateur oublié ?", "¿Olvidó su nombre de usuario?"]),
            Text::SignOut => ("account.sign_out", ["Sign out", "Se déconnecter", "Cerrar sesión"]),
            Text::NeedHelp => ("help", ["Need help?", "Besoin d’aide ?", "¿Necesita ayuda?"]),
            Text::SignInTitle => ("signin.title", ["Sign in", "Connexion", "Iniciar sesión"]),
            Text::SignInToContinue => ("signin.continue_to", ["Sign in to continue to:", "Connectez-vous pour continuer vers :", "Inicie sesión para continuar a:"]),
            Text::Username => ("signin.username", ["Username", "Nom d’utilisateur", "Nombre de usuario"]),
            Text::Password => ("signin.password", ["Password", "Mot de passe", "Contraseña"]),
            Text::SignInButton => ("signin.button", ["Sign in", "Se connecter", "Iniciar sesión"]),
            Text::SignInHint => ("signin.hint", ["Use your {org} member username and password.", "Utilisez votre nom d’utilisateur et votre mot de passe de membre de {org}.", "Use su nombre de usuario y su contraseña de miembro de {org}."]),
            Text::SignInMissing => ("signin.error.missing", ["Enter your username and password.", "Saisissez votre nom d’utilisateur et votre mot de passe.", "Escriba su nombre de usuario y su contraseña."]),
            Text::SignInWrong => ("signin.error.wrong", ["The username or password is not correct.", "Le nom d’utilisateur ou le mot de passe est incorrect.", "El nombre de usuario o la contraseña no son correctos."]),
            Text::SignInThrottled => ("signin.error.throttled", ["Too many unsuccessful attempts. Please wait 15 minutes, or reset your password.", "Trop de tentatives infructueuses. Attendez 15 minutes ou réinitialisez votre mot de passe.", "Demasiados intentos fallidos. Espere 15 minutos o restablezca su contraseña."]),
            Text::SignOutAskedBy => ("signout.asked_by", ["{app} asked to sign you out.", "{app} demande à vous déconnecter.", "{app} solicita cerrar su sesión."]),
            Text::SignOutQuestion => ("signout.question", ["Sign out of {org}?", "Vous déconnecter de {org} ?", "¿Cerrar sesión en {org}?"]),
            Text::SignedOutTitle => ("signed_out.title", ["You are signed out", "Vous êtes déconnecté", "Ha cerrado sesión"]),
            Text::SignedOutText => ("signed_out.text", ["You have been signed out. You can close this window.", "Vous avez été déconnecté. Vous pouvez fermer cette fenêtre.", "Se ha cerrado su sesión. Puede cerrar esta ventana."]),
            Text::SignInAgain => ("signed_out.sign_in_again", ["Sign in again", "Se reconnecter", "Volver a iniciar sesión"]),
            Text::HomeTitle => ("home.title", ["Single sign-on", "Authentification unique", "Inicio de sesión único"]),
            Text::SignedInAs => ("home.signed_in_as", ["Signed in as {name}", "Connecté en tant que {name}", "Sesión iniciada como {name}"]),
            Text::HomeIntro => ("home.intro", ["This is the single sign-on service of {org}. Members sign in to connected sites here.", "Ceci est le service d’authentification unique de {org}. Les membres s’y connectent aux sites associés.", "Este es el servicio de inicio de sesión único de {org}. Los miembros inician sesión aquí en los sitios conectados."]),
            Text::SignInLink => ("home.sign_in", ["Sign in", "Se connecter", "Iniciar sesión"]),
            Text::NoAccessTitle => ("no_access.title", ["No access", "Accès refusé", "Sin acceso"]),
            Text::NoAccessText => ("no_access.text", ["Your membership does not include access to this service. Please contact the association.", "Votre adhésion ne donne pas accès à ce service. Veuillez contacter l’association.", "Su membresía no incluye acceso a este servicio. Póngase en contacto con la asociación."]),
            Text::Service => ("no_access.service", ["Service:", "Service :", "Servicio:"]),
            Text::Home => ("home", ["Home", "Accueil", "Inicio"]),
            Text::ConsentTitle => ("consent.title", ["Allow {app}?", "Autoriser {app} ?", "¿Permitir a {app}?"]),
            Text::ConsentText => ("consent.text", ["{app} asks to sign you in and to receive:", "{app} demande à vous connecter et à recevoir :", "{app} solicita iniciar su sesión y recibir:"]),
            Text::ConsentSub => ("consent.sub", ["Your member identifier", "Votre identifiant de membre", "Su identificador de miembro"]),
            Text::ConsentName => ("consent.name", ["Your name", "Votre nom", "Su nombre"]),
            Text::ConsentUsername => ("consent.username", ["Your username", "Votre nom d’utilisateur", "Su nombre de usuario"]),
            Text::ConsentEmail => ("consent.email", ["Your email address", "Votre adresse e-mail", "Su dirección de correo electrónico"]),
            Text::ConsentRoles => ("consent.roles", ["Your roles", "Vos rôles", "Sus roles"]),
            Text::ConsentOther => ("consent.other", ["Your {claim}", "Votre {claim}", "Su {claim}"]),
            Text::ConsentOffline => ("consent.offline_access", ["Access to these while you are not signed in", "L’accès à ces données quand vous n’êtes pas connecté", "Acceso a estos datos cuando no haya iniciado sesión"]),
            Text::Allow => ("consent.allow", ["Allow", "Autoriser", "Permitir"]),
            Text::Deny => ("consent.deny", ["Deny", "Refuser", "Denegar"]),
            Text::SigningIn => ("auto_post.title", ["Signing you in…", "Connexion en cours…", "Iniciando sesión…"]),
            Text::PressContinue => ("auto_post.no_script", ["Press Continue to go on.", "Appuyez sur Continuer pour poursuivre.", "Pulse Continuar para seguir."]),
            Text::Continue => ("auto_post.continue", ["Continue", "Continuer", "Continuar"]),
            Text::TryAgain => ("error.try_again", ["Try again", "Réessayer", "Intentar de nuevo"]),
            Text::Reference => ("error.reference", ["Reference:", "Référence :", "Referencia:"]),
            Text::ErrorTitle(title) => title.entry(),
            Text::ErrorMessage(message) => message.entry(),
        }
    }

    /// Its key in a tenant's `pages.texts`.
    #[cfg(test)]
    fn key(self) -> &'static str {
        self.entry().0
    }

    /// Its wording in `lang`, or the tenant's replacement of it.
    pub(crate) fn in_lang(self, lang: Lang, overrides: Option<&Overrides>) -> &str {
        let (key, words) = self.entry();
        let replaced = overrides
            .and_then(|o| o.get(lang.code()))
            .and_then(|texts| texts.get(key));
        match replaced {
            Some(text) => text,
            None => match lang {
                Lang::En => words[0],
                Lang::Fr => words[1],
                Lang::Es => words[2],
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_member_s_first_choice_among_ours_wins() {
        let pick = |h| Lang::negotiate(Some(h), Lang::En);
        assert_eq!(pick("fr-CA,fr;q=0.9,en;q=0.8"), Lang::Fr);
        assert_eq!(pick("de-DE,es;q=0.5,en;q=0.4"), Lang::Es);
        assert_eq!(pick("en;q=0.2, es;q=0.7"), Lang::Es);
        assert_eq!(pick("ES"), Lang::Es);
        assert_eq!(pick("fr;q=0, es;q=0.001"), Lang::Es, "q=0 refuses");
        assert_eq!(pick("de, it"), Lang::En, "none of ours: the default");
        assert_eq!(Lang::negotiate(Some("de"), Lang::Fr), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Lang::Es), Lang::Es);
        assert_eq!(
            pick("fr;q=abc, es;q=0.3"),
            Lang::Es,
            "a malformed q counts as 0"
        );
        assert_eq!(
            pick("fr;q=1.5, es;q=-1"),
            Lang::En,
            "out of range counts as 0"
        );
        assert_eq!(pick("fr;q=0.5, es;q=1.000"), Lang::Es);
        assert_eq!(
            pick("fr;q=0.0001, es;q=0.01"),
            Lang::Es,
            "at most three decimals"
        );
        assert_eq!(pick(";;;,, ,q=1"), Lang::En);
    }

    #[test]
    fn every_text_has_a_unique_key_and_three_wordings() {
        let mut keys: Vec<&str> = Text::all().map(|t| t.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Text::all().count());
        assert_eq!(
            Text::all().count(),
            Text::PAGE.len() + ErrorTitle::ALL.len() + ErrorMessage::ALL.len()
        );
        for t in Text::all() {
            for lang in Lang::ALL {
                assert!(!t.in_lang(lang, None).trim().is_empty(), "{t:?} {lang:?}");
            }
        }
    }

    #[test]
    fn error_keys_are_namespaced_and_explanations_keep_their_placeholder() {
        for title in ErrorTitle::ALL {
            assert!(title.entry().0.starts_with("error.title."), "{title:?}");
            let words = title.entry().1;
            assert!(words.iter().all(|w| !w.contains('{')), "{title:?}");
        }
        for message in ErrorMessage::ALL {
            assert!(message.entry().0.starts_with("error.text."), "{message:?}");
            for (lang, words) in Lang::ALL.into_iter().zip(message.entry().1) {
                let named: Vec<&str> = words
                    .split('{')
                    .skip(1)
                    .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                    .collect();
                let expected: Vec<&str> = message.placeholder().into_iter().collect();
                assert_eq!(named, expected, "{message:?} {lang:?}");
            }
        }
    }

    #[test]
    fn a_tenant_replaces_a_text_in_one_language_only() {
        let mut o = Overrides::new();
        o.entry("fr".into())
            .or_default()
            .insert("signin.title".into(), "Espace membres".into());
        assert_eq!(
            Text::SignInTitle.in_lang(Lang::Fr, Some(&o)),
            "Espace membres"
        );
        assert_eq!(
            Text::SignInTitle.in_lang(Lang::Es, Some(&o)),
            "Iniciar sesión"
        );
        assert_eq!(Text::SignInTitle.in_lang(Lang::En, Some(&o)), "Sign in");
    }

    #[test]
    fn a_tenant_replaces_an_error_text_like_any_other() {
        let mut o = Overrides::new();
        o.entry("es".into()).or_default().insert(
            "error.title.page_not_found".into(),
            "Esta página no existe".into(),
        );
        let title = Text::from(ErrorTitle::PageNotFound);
        assert_eq!(title.in_lang(Lang::Es, Some(&o)), "Esta página no existe");
        assert_eq!(title.in_lang(Lang::Fr, Some(&o)), "Page introuvable");
    }

    #[test]
    fn the_schema_lists_exactly_these_keys() {
        let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/kv-schema/tenant.schema.json"
        )))
        .unwrap();
        let listed: Vec<String> =
            serde_json::from_value(schema["$defs"]["page_text_keys"]["enum"].clone()).unwrap();
        let ours: Vec<&str> = Text::all().map(|t| t.key()).collect();
        assert_eq!(listed, ours);
        // serde_json's map sorts its keys.
        let mut sorted = ours.clone();
        sorted.sort_unstable();
        let replaceable: Vec<&String> = schema["$defs"]["page_texts"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(replaceable, sorted);
    }
}
