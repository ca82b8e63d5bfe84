//! One module per page. Pages compose `components`, call `api::endpoints`, and keep their
//! logic in `model`/`state` where it can be tested without a browser.

pub mod accept_invitation;
pub mod audit;
pub mod billing;
pub mod credentials;
pub mod dashboard;
pub mod explorer;
pub mod forgot_password;
pub mod get_started;
pub mod home;
pub mod keys;
pub mod limits;
pub mod login;
pub mod members;
pub mod models;
pub mod not_found;
pub mod operator;
pub mod partners;
pub mod prices;
pub mod reset_password;
pub mod service_accounts;
pub mod signup;
pub mod tenants;
pub mod tokens;
pub mod verify_email;

use leptos_router::hooks::use_query_map;

/// A query parameter of the current URL (email links carry `?token=`).
fn query_param(name: &'static str) -> Option<String> {
    use leptos::prelude::*;
    use_query_map().with_untracked(|it| it.get(name))
}
