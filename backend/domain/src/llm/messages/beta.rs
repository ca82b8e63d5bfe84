//! Anthropic's `anthropic-beta` header: the beta features a client turns on per request.
//!
//! A client of `/v1/messages` names them as Anthropic's SDKs do (comma-separated names, in
//! one header or several); an Anthropic upstream then gets them together with the provider's
//! configured ones. Only plain feature names pass: the gateway sends the value upstream under
//! its own credentials, so nothing else may ride along.

/// The longest value accepted, over all headers: a few dozen feature names.
const MAX_LEN: usize = 1024;

/// A checked, de-duplicated list of beta feature names, joined with commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Betas(String);

impl Betas {
    /// Reads the values of every `anthropic-beta` header a client sent; `None` when it sent
    /// none (or only empty ones).
    ///
    /// # Errors
    /// A name with characters other than ASCII letters, digits, `-`, `_` and `.`, or a value
    /// over 1 KiB; the message says which.
    pub fn from_headers<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Self>, String> {
        let mut res = Betas(String::new());
        let mut total = 0;
        for value in values {
            total += value.len();
            if total > MAX_LEN {
                return Err(format!("`anthropic-beta` is longer than {MAX_LEN} bytes"));
            }
            for name in value.split(',').map(str::trim).filter(|it| !it.is_empty()) {
                if !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                {
                    return Err(format!(
                        "`anthropic-beta` names beta features separated by commas; `{}` is not one",
                        name.chars().take(64).collect::<String>()
                    ));
                }
                res.add(name);
            }
        }
        Ok((!res.0.is_empty()).then_some(res))
    }

    /// `configured` (entries may hold several comma-separated names) followed by what the
    /// client asked for, each name once.
    pub fn merged_after(&self, configured: &[String]) -> String {
        let mut res = Betas(String::new());
        let configured = configured
            .iter()
            .flat_map(|it| it.split(','))
            .map(str::trim);
        for name in configured.chain(self.names()) {
            res.add(name);
        }
        res.0
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.0.split(',')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn add(&mut self, name: &str) {
        if name.is_empty() || self.names().any(|it| it == name) {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(',');
        }
        self.0.push_str(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_one_or_several_headers_are_kept_once_in_order() {
        let betas = Betas::from_headers([
            "prompt-caching-2024-07-31, token-efficient-tools-2025-02-19",
            "context-1m-2025-08-07,prompt-caching-2024-07-31",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            betas.as_str(),
            "prompt-caching-2024-07-31,token-efficient-tools-2025-02-19,context-1m-2025-08-07"
        );
    }

    #[test]
    fn no_header_or_empty_ones_mean_no_betas() {
        assert_eq!(Betas::from_headers([]).unwrap(), None);
        assert_eq!(Betas::from_headers(["", " , "]).unwrap(), None);
    }

    #[test]
    fn anything_but_feature_names_is_refused() {
        for bad in ["a b", "x;y", "beta=1", "ünïcödé", "a\u{7f}"] {
            let err = Betas::from_headers([bad]).unwrap_err();
            assert!(err.contains("is not one"), "{bad}: {err}");
        }
        let long = "a,".repeat(600);
        assert!(
            Betas::from_headers([long.as_str()])
                .unwrap_err()
                .contains("longer")
        );
    }

    #[test]
    fn configured_names_come_first_and_are_not_repeated() {
        let client = Betas::from_headers(["context-1m-2025-08-07,prompt-caching-2024-07-31"])
            .unwrap()
            .unwrap();
        assert_eq!(
            client.merged_after(&["prompt-caching-2024-07-31".to_owned()]),
            "prompt-caching-2024-07-31,context-1m-2025-08-07"
        );
        assert_eq!(client.merged_after(&[]), client.as_str());
        assert_eq!(
            client.merged_after(&["context-1m-2025-08-07, files-api-2025-04-14".to_owned()]),
            "context-1m-2025-08-07,files-api-2025-04-14,prompt-caching-2024-07-31"
        );
    }
}
