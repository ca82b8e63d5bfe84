//! The "create service account" form: a required name plus the scopes an API key has (checked by
//! the key form's `ScopeText`), and the `curl` that trades the credentials for a token.

use api_types::manage::CreateServiceAccountRequest;

use super::errors::FieldErrors;
use super::key_form::ScopeText;
use super::validate;

/// What the form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountForm {
    pub name: String,
    pub scopes: ScopeText,
}

impl ServiceAccountForm {
    /// The request to send.
    ///
    /// # Errors
    /// A message per field that breaks a rule.
    pub fn to_request(&self) -> Result<CreateServiceAccountRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = validate::name(&self.name, "name")
            .map_err(|e| errors.add("name", e))
            .unwrap_or_default();
        let scopes = self.scopes.check(&mut errors);
        errors.into_result(CreateServiceAccountRequest {
            name,
            models: scopes.models,
            endpoints: scopes.endpoints,
            ip_allowlist: scopes.ip_allowlist,
            limits: scopes.limits,
            regions: scopes.regions,
        })
    }
}

/// A shell snippet that asks `token_url` for an access token with the client credentials
/// (`client_secret_basic`), ready to paste.
pub fn token_request_example(token_url: &str, client_id: &str, client_secret: &str) -> String {
    format!(
        "export CLIENT_ID='{client_id}'\nexport CLIENT_SECRET='{client_secret}'\ncurl -s {token_url} -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::manage::KeyLimitsView;

    #[test]
    fn a_name_alone_makes_an_unrestricted_account() {
        let form = ServiceAccountForm {
            name: " batch ".into(),
            ..ServiceAccountForm::default()
        };
        assert_eq!(
            form.to_request(),
            Ok(CreateServiceAccountRequest {
                name: "batch".into(),
                ..CreateServiceAccountRequest::default()
            })
        );
    }

    #[test]
    fn scopes_are_checked_like_a_keys() {
        let form = ServiceAccountForm {
            name: "batch".into(),
            scopes: ScopeText {
                models: "mock, mock gpt-4o".into(),
                endpoints: vec!["chat.completions".into()],
                ip_allowlist: "10.0.0.0/8".into(),
                requests_per_minute: "60".into(),
                monthly_budget: "5".into(),
                ..ScopeText::default()
            },
        };
        let request = form.to_request().unwrap();
        assert_eq!(request.models, ["mock", "gpt-4o"]);
        assert_eq!(request.endpoints, ["chat.completions"]);
        assert_eq!(
            request.limits,
            KeyLimitsView {
                requests_per_minute: Some(60),
                tokens_per_minute: None,
                monthly_budget_micros: Some(5_000_000),
                ..Default::default()
            }
        );

        let broken = ServiceAccountForm {
            scopes: ScopeText {
                ip_allowlist: "nowhere".into(),
                tokens_per_minute: "0".into(),
                ..ScopeText::default()
            },
            ..ServiceAccountForm::default()
        };
        let errors = broken.to_request().unwrap_err();
        assert_eq!(errors.get("name").as_deref(), Some("Enter a name."));
        assert!(errors.get("ip_allowlist").unwrap().contains("nowhere"));
        assert!(errors.get("limits.tokens_per_minute").is_some());
    }

    #[test]
    fn the_example_asks_for_a_token_with_basic_auth() {
        let example = token_request_example("https://gw.example/oauth/token", "id-1", "sec-2");
        assert_eq!(
            example,
            "export CLIENT_ID='id-1'\nexport CLIENT_SECRET='sec-2'\ncurl -s https://gw.example/oauth/token -u \"$CLIENT_ID:$CLIENT_SECRET\" -d grant_type=client_credentials"
        );
    }
}
