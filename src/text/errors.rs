//! The words of error pages: a title and an explanation, each a page text like any other (same
//! languages, same tenant overrides, keys under `error.title.` and `error.text.`). Titles and
//! explanations are separate types so that a page cannot show one where the other belongs.

/// The heading of an error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorTitle {
    /// The request body was over the limit.
    RequestTooLarge,
    /// No route for the path.
    PageNotFound,
    /// No tenant for the host.
    SiteNotFound,
    /// Sign-in cannot be used (configuration, keys).
    SignInUnavailable,
    /// Sign-in failed for a moment (stores, settings, signing).
    SignInTemporarilyUnavailable,
    /// Sign-out cannot be used (keys).
    SignOutUnavailable,
    /// Sign-out failed for a moment (stores).
    SignOutTemporarilyUnavailable,
    /// An OIDC authorization request was refused before its client could be answered.
    InvalidSignInLink,
    /// An OIDC logout request was refused.
    InvalidSignOutLink,
    /// A form of ours came back too late or without its session.
    PageExpired,
    /// The sign-in form came back too late.
    SignInExpired,
    /// A SAML AuthnRequest was refused.
    SignInRequestRefused,
    /// A SAML LogoutRequest was refused.
    SignOutRequestRefused,
    /// An app's settings or keys cannot be used.
    AppUnavailable,
    /// No app under the id in the path.
    UnknownApp,
    /// iMIS failed.
    ImisUnavailable,
    /// iMIS timed out.
    ImisNotResponding,
    /// iMIS knows the user but not the member.
    MemberNotFound,
    /// The member's account is disabled.
    AccountDisabled,
    /// iMIS refused the hand-off token.
    SignInNotConfirmed,
    /// The hand-off from iMIS was refused.
    SignInNotCompleted,
    /// The hand-off from iMIS has no pending sign-in in this browser.
    SignInNotStartedHere,
    /// A bridge ReturnURL was refused.
    ReturnNotAllowed,
    /// A bridge sign-in has nowhere to land.
    ReturnMissing,
}

impl ErrorTitle {
    /// Every title (the kv-schema lists their keys).
    #[cfg(test)]
    pub(crate) const ALL: [ErrorTitle; 24] = [
        Self::RequestTooLarge,
        Self::PageNotFound,
        Self::SiteNotFound,
        Self::SignInUnavailable,
        Self::SignInTemporarilyUnavailable,
        Self::SignOutUnavailable,
        Self::SignOutTemporarilyUnavailable,
        Self::InvalidSignInLink,
        Self::InvalidSignOutLink,
        Self::PageExpired,
        Self::SignInExpired,
        Self::SignInRequestRefused,
        Self::SignOutRequestRefused,
        Self::AppUnavailable,
        Self::UnknownApp,
        Self::ImisUnavailable,
        Self::ImisNotResponding,
        Self::MemberNotFound,
        Self::AccountDisabled,
        Self::SignInNotConfirmed,
        Self::SignInNotCompleted,
        Self::SignInNotStartedHere,
        Self::ReturnNotAllowed,
        Self::ReturnMissing,
    ];

    /// Its key in a tenant's `pages.texts`, and its English, French and Spanish wording.
    // One line per title, as in `ErrorMessage::entry` and `Text::entry`: laid out by rustfmt the
    // table would run to up to eight lines a title and stop reading as a table.
    #[rustfmt::skip]
    pub(crate) fn entry(self) -> (&'static str, [&'static str; 3]) {
        match self {
            Self::RequestTooLarge => ("error.title.too_large", ["Request too large", "Requête trop volumineuse", "Solicitud demasiado grande"]),
            Self::PageNotFound => ("error.title.page_not_found", ["Page not found", "Page introuvable", "Página no encontrada"]),
            Self::SiteNotFound => ("error.title.site_not_found", ["Site not found", "Site introuvable", "Sitio no encontrado"]),
            Self::SignInUnavailable => ("error.title.signin_unavailable", ["Sign-in unavailable", "Connexion indisponible", "Inicio de sesión no disponible"]),
            Self::SignInTemporarilyUnavailable => ("error.title.signin_temporarily_unavailable", ["Sign-in temporarily unavailable", "Connexion temporairement indisponible", "Inicio de sesión no disponible temporalmente"]),
            Self::SignOutUnavailable => ("error.title.signout_unavailable", ["Sign-out unavailable", "Déconnexion indisponible", "Cierre de sesión no disponible"]),
            Self::SignOutTemporarilyUnavailable => ("error.title.signout_temporarily_unavailable", ["Sign-out temporarily unavailable", "Déconnexion temporairement indisponible", "Cierre de sesión no disponible temporalmente"]),
            Self::InvalidSignInLink => ("error.title.signin_link_invalid", ["This sign-in link is not valid", "Ce lien de connexion n’est pas valide", "Este enlace de inicio de sesión no es válido"]),
            Self::InvalidSignOutLink => ("error.title.signout_link_invalid", ["This sign-out link is not valid", "Ce lien de déconnexion n’est pas valide", "Este enlace de cierre de sesión no es válido"]),
            Self::PageExpired => ("error.title.page_expired", ["This page has expired", "Cette page a expiré", "Esta página ha caducado"]),
            Self::SignInExpired => ("error.title.signin_expired", ["Sign-in expired", "Connexion expirée", "Inicio de sesión caducado"]),
            Self::SignInRequestRefused => ("error.title.signin_request_refused", ["Sign-in request not accepted", "Demande de connexion refusée", "Solicitud de inicio de sesión no aceptada"]),
            Self::SignOutRequestRefused => ("error.title.signout_request_refused", ["Sign-out request not accepted", "Demande de déconnexion refusée", "Solicitud de cierre de sesión no aceptada"]),
            Self::AppUnavailable => ("error.title.app_unavailable", ["Application unavailable", "Application indisponible", "Aplicación no disponible"]),
            Self::UnknownApp => ("error.title.unknown_app", ["Unknown application", "Application inconnue", "Aplicación desconocida"]),
            Self::ImisUnavailable => ("error.title.imis_unavailable", ["The membership system is unavailable", "Le système de gestion des membres est indisponible", "El sistema de gestión de miembros no está disponible"]),
            Self::ImisNotResponding => ("error.title.imis_not_responding", ["The membership system is not responding", "Le système de gestion des membres ne répond pas", "El sistema de gestión de miembros no responde"]),
            Self::MemberNotFound => ("error.title.member_not_found", ["Member record not found", "Fiche de membre introuvable", "Registro de miembro no encontrado"]),
            Self::AccountDisabled => ("error.title.account_disabled", ["Account disabled", "Compte désactivé", "Cuenta desactivada"]),
            Self::SignInNotConfirmed => ("error.title.signin_not_confirmed", ["Sign-in could not be confirmed", "La connexion n’a pas pu être confirmée", "No se pudo confirmar el inicio de sesión"]),
            Self::SignInNotCompleted => ("error.title.signin_not_completed", ["Sign-in could not be completed", "La connexion n’a pas pu aboutir", "No se pudo completar el inicio de sesión"]),
            Self::SignInNotStartedHere => ("error.title.signin_not_started_here", ["Sign-in was not started here", "La connexion n’a pas commencé ici", "El inicio de sesión no comenzó aquí"]),
            Self::ReturnNotAllowed => ("error.title.return_not_allowed", ["Return address not allowed", "Adresse de retour non autorisée", "Dirección de retorno no permitida"]),
            Self::ReturnMissing => ("error.title.return_missing", ["Return address missing", "Adresse de retour manquante", "Falta la dirección de retorno"]),
        }
    }
}

/// The explanation on an error page: why the request failed and what the member can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorMessage {
    /// The request body was over the limit.
    TooLarge,
    /// No route for the path.
    NoPageHere,
    /// The tenant is disabled.
    TenantDisabled,
    /// No tenant for the host.
    UnknownSite,
    /// The tenant's configuration is invalid.
    BeingConfigured,
    /// Settings could not be read from the store.
    SettingsNotLoaded,
    /// An OIDC logout request was refused; `{reason}` is the protocol's reason.
    InvalidSignOutRequest,
    /// An OIDC authorization request was refused; `{reason}` is the protocol's reason.
    InvalidRequest,
    /// An app's settings, keys or store failed for now.
    AppUnavailable,
    /// Sign-in failed for now (keys, cookies, stores).
    SignInUnavailable,
    /// A form of ours came back too late or without its session.
    PageExpired,
    /// A SAML LogoutRequest was refused.
    SignOutRequestRefused,
    /// Sign-out cannot be used (keys).
    SignOutUnavailable,
    /// A store failed for a moment.
    TryAgainSoon,
    /// An app's settings are invalid.
    AppMisconfigured,
    /// No app under the id in the path.
    NoAppHere,
    /// Signing failed at the platform.
    SignFailed,
    /// A SAML AuthnRequest was refused.
    SignInRequestRefused,
    /// iMIS knows the user but not the member.
    MemberNotFound,
    /// The member's account is disabled.
    AccountDisabled,
    /// iMIS timed out.
    ImisTimeout,
    /// iMIS refused the hand-off token.
    ImisRefused,
    /// iMIS answered with an error or nonsense.
    ImisUnexpected,
    /// The hand-off from iMIS had no token.
    NoSignInToken,
    /// The hand-off was not posted from the iMIS site.
    NotFromImis,
    /// The hand-off from iMIS has no pending sign-in in this browser.
    NotStartedHere,
    /// The tenant has no iMIS sign-in page for this family.
    SignInNotConfigured,
    /// The sign-in form came back too late.
    SignInFormExpired,
    /// A bridge ReturnURL was refused; `{app}` is the app's name.
    ReturnNotRegistered,
    /// A bridge sign-in asked for a delivery the app does not use.
    UnsupportedDelivery,
    /// A bridge app's delivery settings do not work.
    SiteNotSetUp,
    /// A bridge sign-in has nowhere to land.
    NoReturnAddress,
}

impl ErrorMessage {
    /// Every explanation (the kv-schema lists their keys).
    #[cfg(test)]
    pub(crate) const ALL: [ErrorMessage; 32] = [
        Self::TooLarge,
        Self::NoPageHere,
        Self::TenantDisabled,
        Self::UnknownSite,
        Self::BeingConfigured,
        Self::SettingsNotLoaded,
        Self::InvalidSignOutRequest,
        Self::InvalidRequest,
        Self::AppUnavailable,
        Self::SignInUnavailable,
        Self::PageExpired,
        Self::SignOutRequestRefused,
        Self::SignOutUnavailable,
        Self::TryAgainSoon,
        Self::AppMisconfigured,
        Self::NoAppHere,
        Self::SignFailed,
        Self::SignInRequestRefused,
        Self::MemberNotFound,
        Self::AccountDisabled,
        Self::ImisTimeout,
        Self::ImisRefused,
        Self::ImisUnexpected,
        Self::NoSignInToken,
        Self::NotFromImis,
        Self::NotStartedHere,
        Self::SignInNotConfigured,
        Self::SignInFormExpired,
        Self::ReturnNotRegistered,
        Self::UnsupportedDelivery,
        Self::SiteNotSetUp,
        Self::NoReturnAddress,
    ];

    /// Its key in a tenant's `pages.texts`, and its English, French and Spanish wording.
    pub(crate) fn entry(self) -> (&'static str, [&'static str; 3]) {
        match self {
            Self::TooLarge => ("error.text.too_large", ["The page sent more data than a sign-in needs. Go back and try again.", "La page a envoyé plus de données qu’une connexion n’en demande. Revenez en arrière et réessayez.", "La página envió más datos de los que necesita un inicio de sesión. Vuelva atrás e inténtelo de nuevo."]),
            Self::NoPageHere => ("error.text.no_page", ["There is no page at this address.", "Il n’y a aucune page à cette adresse.", "No hay ninguna página en esta dirección."]),
            Self::TenantDisabled => ("error.text.organisation_disabled", ["Single sign-on is not available for this organisation at the moment. Please contact the organisation.", "L’authentification unique n’est pas disponible pour cette organisation pour le moment. Veuillez contacter l’organisation.", "El inicio de sesión único no está disponible para esta organización en este momento. Póngase en contacto con la organización."]),
            Self::UnknownSite => ("error.text.unknown_site", ["This address is not configured for single sign-on. Check the link you followed.", "Cette adresse n’est pas configurée pour l’authentification unique. Vérifiez le lien que vous avez suivi.", "Esta dirección no está configurada para el inicio de sesión único. Compruebe el enlace que ha seguido."]),
            Self::BeingConfigured => ("error.text.being_configured", ["This sign-in service is being configured and cannot be used right now. Please try again later.", "Ce service de connexion est en cours de configuration et ne peut pas être utilisé pour le moment. Veuillez réessayer plus tard.", "Este servicio de inicio de sesión se está configurando y no se puede usar en este momento. Vuelva a intentarlo más tarde."]),
            Self::SettingsNotLoaded => ("error.text.settings_not_loaded", ["The sign-in service could not load its settings. Please try again in a moment.", "Le service de connexion n’a pas pu charger ses paramètres. Veuillez réessayer dans un instant.", "El servicio de inicio de sesión no pudo cargar su configuración. Vuelva a intentarlo en un momento."]),
            Self::InvalidSignOutRequest => ("error.text.invalid_signout_request", ["The application that sent you here made an invalid sign-out request: {reason}.", "L’application qui vous a envoyé ici a fait une demande de déconnexion non valide : {reason}.", "La aplicación que le envió aquí hizo una solicitud de cierre de sesión no válida: {reason}."]),
            Self::InvalidRequest => ("error.text.invalid_request", ["The application that sent you here made an invalid request: {reason}.", "L’application qui vous a envoyé ici a fait une demande non valide : {reason}.", "La aplicación que le envió aquí hizo una solicitud no válida: {reason}."]),
            Self::AppUnavailable => ("error.text.app_unavailable", ["This application's sign-in is not available right now. Please try again later.", "La connexion à cette application n’est pas disponible pour le moment. Veuillez réessayer plus tard.", "El inicio de sesión en esta aplicación no está disponible en este momento. Vuelva a intentarlo más tarde."]),
            Self::SignInUnavailable => ("error.text.signin_unavailable", ["Sign-in is not available right now. Please try again later.", "La connexion n’est pas disponible pour le moment. Veuillez réessayer plus tard.", "El inicio de sesión no está disponible en este momento. Vuelva a intentarlo más tarde."]),
            Self::PageExpired => ("error.text.page_expired", ["Please go back to the application and sign in again.", "Veuillez revenir à l’application et vous reconnecter.", "Vuelva a la aplicación e inicie sesión de nuevo."]),
            Self::SignOutRequestRefused => ("error.text.signout_request_refused", ["The sign-out request from this application could not be accepted.", "La demande de déconnexion de cette application n’a pas pu être acceptée.", "No se pudo aceptar la solicitud de cierre de sesión de esta aplicación."]),
            Self::SignOutUnavailable => ("error.text.signout_unavailable", ["Sign-out is not available right now.", "La déconnexion n’est pas disponible pour le moment.", "El cierre de sesión no está disponible en este momento."]),
            Self::TryAgainSoon => ("error.text.try_again_soon", ["Please try again in a moment.", "Veuillez réessayer dans un instant.", "Vuelva a intentarlo en un momento."]),
            Self::AppMisconfigured => ("error.text.app_misconfigured", ["This application's sign-in settings cannot be used right now. Please contact the association.", "Les paramètres de connexion de cette application ne peuvent pas être utilisés pour le moment. Veuillez contacter l’association.", "La configuración de inicio de sesión de esta aplicación no se puede usar en este momento. Póngase en contacto con la asociación."]),
            Self::NoAppHere => ("error.text.unknown_app", ["No application is registered at this address. Check the link you followed.", "Aucune application n’est enregistrée à cette adresse. Vérifiez le lien que vous avez suivi.", "No hay ninguna aplicación registrada en esta dirección. Compruebe el enlace que ha seguido."]),
            Self::SignFailed => ("error.text.sign_failed", ["The sign-in answer could not be signed. Please try again in a moment.", "La réponse de connexion n’a pas pu être signée. Veuillez réessayer dans un instant.", "No se pudo firmar la respuesta de inicio de sesión. Vuelva a intentarlo en un momento."]),
            Self::SignInRequestRefused => ("error.text.signin_request_refused", ["The sign-in request from this application could not be accepted. Please go back to the application and try again.", "La demande de connexion de cette application n’a pas pu être acceptée. Veuillez revenir à l’application et réessayer.", "No se pudo aceptar la solicitud de inicio de sesión de esta aplicación. Vuelva a la aplicación e inténtelo de nuevo."]),
            Self::MemberNotFound => ("error.text.member_not_found", ["You signed in to iMIS, but we could not find your member record. Please contact the association.", "Vous vous êtes connecté à iMIS, mais nous n’avons pas trouvé votre fiche de membre. Veuillez contacter l’association.", "Inició sesión en iMIS, pero no encontramos su registro de miembro. Póngase en contacto con la asociación."]),
            Self::AccountDisabled => ("error.text.account_disabled", ["Your account is disabled. Please contact the association.", "Votre compte est désactivé. Veuillez contacter l’association.", "Su cuenta está desactivada. Póngase en contacto con la asociación."]),
            Self::ImisTimeout => ("error.text.imis_timeout", ["We could not reach the membership system in time. Please try again in a moment.", "Nous n’avons pas pu joindre le système de gestion des membres à temps. Veuillez réessayer dans un instant.", "No pudimos comunicarnos a tiempo con el sistema de gestión de miembros. Vuelva a intentarlo en un momento."]),
            Self::ImisRefused => ("error.text.imis_refused", ["The membership system did not confirm your sign-in (it may have expired). Please sign in again.", "Le système de gestion des membres n’a pas confirmé votre connexion (elle a peut-être expiré). Veuillez vous reconnecter.", "El sistema de gestión de miembros no confirmó su inicio de sesión (puede haber caducado). Vuelva a iniciar sesión."]),
            Self::ImisUnexpected => ("error.text.imis_unexpected", ["The membership system did not answer as expected. Please try again in a moment.", "Le système de gestion des membres n’a pas répondu comme prévu. Veuillez réessayer dans un instant.", "El sistema de gestión de miembros no respondió como se esperaba. Vuelva a intentarlo en un momento."]),
            Self::NoSignInToken => ("error.text.no_signin_token", ["The membership system sent no sign-in token.", "Le système de gestion des membres n’a envoyé aucun jeton de connexion.", "El sistema de gestión de miembros no envió ningún token de inicio de sesión."]),
            Self::NotFromImis => ("error.text.not_from_imis", ["The sign-in did not come from the membership site. Please start again.", "La connexion ne provient pas du site des membres. Veuillez recommencer.", "El inicio de sesión no provino del sitio de miembros. Vuelva a empezar."]),
            Self::NotStartedHere => ("error.text.not_started_here", ["This sign-in did not start on this site, or it took too long. Please start again.", "Cette connexion n’a pas commencé sur ce site, ou elle a pris trop de temps. Veuillez recommencer.", "Este inicio de sesión no comenzó en este sitio o tardó demasiado. Vuelva a empezar."]),
            Self::SignInNotConfigured => ("error.text.signin_not_configured", ["Sign-in is not configured.", "La connexion n’est pas configurée.", "El inicio de sesión no está configurado."]),
            Self::SignInFormExpired => ("error.text.signin_expired", ["This sign-in page has expired. Please start again.", "Cette page de connexion a expiré. Veuillez recommencer.", "Esta página de inicio de sesión ha caducado. Vuelva a empezar."]),
            Self::ReturnNotRegistered => ("error.text.return_not_registered", ["The link you followed asks to return to an address that is not registered for {app}. For your safety the sign-in was stopped. Please go back to the site and try again.", "Le lien que vous avez suivi demande un retour vers une adresse qui n’est pas enregistrée pour {app}. Pour votre sécurité, la connexion a été interrompue. Veuillez revenir sur le site et réessayer.", "El enlace que ha seguido pide volver a una dirección que no está registrada para {app}. Por su seguridad, se detuvo el inicio de sesión. Vuelva al sitio e inténtelo de nuevo."]),
            Self::UnsupportedDelivery => ("error.text.unsupported_delivery", ["This sign-in link asks for a way of signing in that the site does not use.", "Ce lien de connexion demande un mode de connexion que le site n’utilise pas.", "Este enlace de inicio de sesión solicita una forma de iniciar sesión que el sitio no usa."]),
            Self::SiteNotSetUp => ("error.text.site_not_set_up", ["This site's sign-in is not set up correctly.", "La connexion à ce site n’est pas configurée correctement.", "El inicio de sesión de este sitio no está configurado correctamente."]),
            Self::NoReturnAddress => ("error.text.no_return_address", ["The site did not say where to return after sign-in.", "Le site n’a pas indiqué où revenir après la connexion.", "El sitio no indicó adónde volver después de iniciar sesión."]),
        }
    }

    /// The name of the value filled into this explanation, if it takes one.
    pub(crate) fn placeholder(self) -> Option<&'static str> {
        match self {
            Self::InvalidSignOutRequest | Self::InvalidRequest => Some("reason"),
            Self::ReturnNotRegistered => Some("app"),
            _ => None,
        }
    }

    /// This explanation with `value` (plain text) for its placeholder.
    pub(crate) fn with(self, value: &str) -> Explanation<'_> {
        Explanation {
            message: self,
            value: Some(value),
        }
    }
}

/// An explanation as shown: the message and the value of its placeholder, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Explanation<'a> {
    pub(crate) message: ErrorMessage,
    /// Plain text for the message's placeholder.
    pub(crate) value: Option<&'a str>,
}

impl From<ErrorMessage> for Explanation<'_> {
    fn from(message: ErrorMessage) -> Self {
        Explanation {
            message,
            value: None,
        }
    }
}

#[cfg(test)]
mod tests;
