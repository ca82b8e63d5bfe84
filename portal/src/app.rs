//! The router: which page answers which path, inside which frame.
//!
//! Public pages (sign-in family and email-link targets) sit at the top level with their own
//! `AuthLayout`; everything else is nested in `AppShell`, which requires a session.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::components::layout::AppShell;
use crate::pages::accept_invitation::AcceptInvitationPage;
use crate::pages::audit::AuditPage;
use crate::pages::billing::BillingPage;
use crate::pages::credentials::CredentialsPage;
use crate::pages::dashboard::DashboardPage;
use crate::pages::explorer::ExplorerPage;
use crate::pages::forgot_password::ForgotPasswordPage;
use crate::pages::get_started::GetStartedPage;
use crate::pages::home::HomePage;
use crate::pages::keys::KeysPage;
use crate::pages::limits::LimitsPage;
use crate::pages::login::LoginPage;
use crate::pages::members::MembersPage;
use crate::pages::models::ModelsPage;
use crate::pages::not_found::NotFoundPage;
use crate::pages::operator::OperatorPage;
use crate::pages::partners::PartnersPage;
use crate::pages::partners::console::PartnerPage;
use crate::pages::prices::PricesPage;
use crate::pages::reset_password::ResetPasswordPage;
use crate::pages::service_accounts::ServiceAccountsPage;
use crate::pages::signup::SignupPage;
use crate::pages::tenants::TenantsPage;
use crate::pages::tokens::TokensPage;
use crate::pages::verify_email::VerifyEmailPage;
use crate::state::session::Session;
use crate::state::ui::Ui;

/// The portal.
#[component]
pub fn App() -> impl IntoView {
    Ui::provide();
    Session::provide();
    view! {
        <Router>
            <Routes fallback=NotFoundPage>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/signup") view=SignupPage />
                <Route path=path!("/verify-email") view=VerifyEmailPage />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage />
                <Route path=path!("/reset-password") view=ResetPasswordPage />
                <Route path=path!("/accept-invitation") view=AcceptInvitationPage />
                <ParentRoute path=path!("") view=AppShell>
                    <Route path=path!("") view=HomePage />
                    <Route path=path!("/get-started") view=GetStartedPage />
                    <Route path=path!("/keys") view=KeysPage />
                    <Route path=path!("/members") view=MembersPage />
                    <Route path=path!("/provider-credentials") view=CredentialsPage />
                    <Route path=path!("/models") view=ModelsPage />
                    <Route path=path!("/prices") view=PricesPage />
                    <Route path=path!("/billing") view=BillingPage />
                    <Route path=path!("/limits") view=LimitsPage />
                    <Route path=path!("/audit") view=AuditPage />
                    <Route path=path!("/tenants") view=TenantsPage />
                    <Route path=path!("/tokens") view=TokensPage />
                    <Route path=path!("/explorer") view=ExplorerPage />
                    <Route path=path!("/dashboard") view=DashboardPage />
                    <Route path=path!("/service-accounts") view=ServiceAccountsPage />
                    <Route path=path!("/partners") view=PartnersPage />
                    <Route path=path!("/partners/:id") view=PartnerPage />
                    <Route path=path!("/operator") view=OperatorPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
