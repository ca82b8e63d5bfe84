//! The portal's own paths, in one place. The three email-link targets (`/verify-email`,
//! `/reset-password`, `/accept-invitation`) are fixed by the links the backend mails.

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const SIGNUP: &str = "/signup";
pub const VERIFY_EMAIL: &str = "/verify-email";
pub const FORGOT_PASSWORD: &str = "/forgot-password";
pub const RESET_PASSWORD: &str = "/reset-password";
pub const ACCEPT_INVITATION: &str = "/accept-invitation";
pub const TENANTS: &str = "/tenants";
pub const KEYS: &str = "/keys";
pub const MEMBERS: &str = "/members";
pub const CREDENTIALS: &str = "/provider-credentials";
pub const AUDIT: &str = "/audit";
pub const TOKENS: &str = "/tokens";
pub const SERVICE_ACCOUNTS: &str = "/service-accounts";
/// The partner console: the partners one administers (and, for operators, creating one).
pub const PARTNERS: &str = "/partners";
/// Every tenant and partner of the platform, for its operators.
pub const OPERATOR: &str = "/operator";
/// The interactive API reference, served by the backend (not a portal route).
pub const API_REFERENCE: &str = "/api/docs/";

/// The models the tenant can call, their deployments and their health.
pub const MODELS: &str = "/models";
/// What each model costs the tenant, per million tokens.
pub const PRICES: &str = "/prices";
/// The tenant's bills by month, and their exports.
pub const BILLING: &str = "/billing";
/// The tenant's limits, what they hold now, and its budget alerts.
pub const LIMITS: &str = "/limits";
/// Calling the tenant's models from the browser.
pub const EXPLORER: &str = "/explorer";
/// How to make a first call: a key, the base URLs, code to copy.
pub const GET_STARTED: &str = "/get-started";
/// The tenant's usage over time.
pub const DASHBOARD: &str = "/dashboard";

/// One partner's console.
pub fn partner(id: uuid::Uuid) -> String {
    format!("{PARTNERS}/{id}")
}

/// Where to go after signing in: only a path of this site, never another origin (an open
/// redirect would let a phishing link bounce users through our login).
pub fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control)
                && !path.starts_with(LOGIN) =>
        {
            path.to_owned()
        }
        _ => HOME.to_owned(),
    }
}

/// The login page, coming back to `next` afterwards.
pub fn login_then(next: &str) -> String {
    if next == HOME || next.is_empty() {
        return LOGIN.to_owned();
    }
    format!("{LOGIN}?next={}", crate::api::paths::encode(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_local_path() {
        assert_eq!(safe_next(Some("/keys")), "/keys");
        assert_eq!(safe_next(Some("/audit?action=key.")), "/audit?action=key.");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/login?next=/x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn login_links_carry_the_page_to_return_to() {
        assert_eq!(login_then("/"), "/login");
        assert_eq!(login_then("/audit?x=1"), "/login?next=%2Faudit%3Fx%3D1");
    }
}
